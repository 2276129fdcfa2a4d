// support/flags.hpp: the test programs' integer flags. Accepted as --name=N and --name N within
// [1, max]; refused with USAGE_EXIT, the variables unchanged (each case given alone): zero, out of
// range, not an integer, a missing value, an unknown flag, an extra argument, a flag given twice.
// --help: 0.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "support/flags.hpp"

namespace {

using amx::test::parse_flags;
using amx::test::USAGE_EXIT;

struct Parsed {
    std::optional<int> rc;
    int seconds = 7;
    std::uint32_t workers = 3;
};

Parsed parse(std::vector<const char*> args) {
    Parsed p;
    args.insert(args.begin(), "flags_test");
    p.rc = parse_flags(static_cast<int>(args.size()), args.data(), "flags under test", "flags_test",
                       {{"--seconds", p.seconds, "seconds"}, {"--workers", p.workers, "workers", 8}});
    return p;
}

TEST(Flags, AcceptsBothSpellingsWithinTheRange) {
    const Parsed a = parse({"--seconds=1", "--workers", "8"});
    EXPECT_EQ(a.rc, std::nullopt);
    EXPECT_EQ(a.seconds, 1);
    EXPECT_EQ(a.workers, 8u);
    const Parsed b = parse({"--seconds", "2147483647"});
    EXPECT_EQ(b.rc, std::nullopt);
    EXPECT_EQ(b.seconds, 2147483647);
    EXPECT_EQ(b.workers, 3u) << "a flag not given keeps its default";
}

TEST(Flags, RefusesEveryMalformedValueWithTheUsageStatus) {
    const std::vector<std::vector<const char*>> bad = {
        {"--seconds=0"},   {"--seconds=-1"},        {"--seconds=2147483648"}, {"--seconds=x"},
        {"--seconds=1.5"}, {"--seconds="},          {"--seconds"},            {"--workers=9"},
        {"--workers=0"},   {"--bogus=1"},           {"extra"},                {"--seconds=2", "--seconds=3"},
    };
    for (const auto& args : bad) {
        const Parsed p = parse(args);
        EXPECT_EQ(p.rc, USAGE_EXIT) << args.front();
        EXPECT_EQ(p.seconds, 7) << args.front() << ": a refused value is not stored";
        EXPECT_EQ(p.workers, 3u) << args.front();
    }
}

TEST(Flags, HelpStopsTheProgramWithStatusZero) {
    EXPECT_EQ(parse({"--help"}).rc, 0);
}

}  // namespace
