// Command-line options of the gtest programs: positive integers such as --seconds, --rounds and
// --workers. CLI11 parses them in flags.cpp (the amx_test_support library), so that no test
// translation unit compiles CLI11's headers (about 8 s each at -O2 -g, in every build). The rules
// are support/cli.hpp's: unknown flags, extra arguments and malformed or out-of-range values are
// refused (the error and a pointer to --help go to stderr, exit status USAGE_EXIT); --help exits 0.
//
//   ::testing::InitGoogleTest(&argc, argv);  // takes the --gtest_* flags out of argv first
//   if (const auto rc = amx::test::parse_flags(argc, argv, "what the program does", "stress_test",
//                                              {{"--seconds", g_seconds, "seconds of load"}}))
//       return *rc;
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace amx::test {

constexpr int USAGE_EXIT = 2;

// One integer option, given as --name=N or --name N, accepted in [1, max].
class IntFlag {
public:
    using Target = std::variant<int*, std::uint32_t*>;

    IntFlag(std::string name, int& value, std::string help, std::int64_t max = INT32_MAX)
        : name_(std::move(name)), help_(std::move(help)), target_(&value), max_(max) {}
    IntFlag(std::string name, std::uint32_t& value, std::string help, std::int64_t max = UINT32_MAX)
        : name_(std::move(name)), help_(std::move(help)), target_(&value), max_(max) {}

    const std::string& name() const { return name_; }
    const std::string& help() const { return help_; }
    const Target& target() const { return target_; }
    std::int64_t max() const { return max_; }

private:
    std::string name_, help_;
    Target target_;
    std::int64_t max_;
};

// Parses argv into the flags' variables: an exit status when the program must stop now (after
// --help, or on a usage error, both already reported), nullopt when it should run.
std::optional<int> parse_flags(int argc, const char* const* argv, const std::string& description,
                               const std::string& program, std::initializer_list<IntFlag> flags);

}  // namespace amx::test
