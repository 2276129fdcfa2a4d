// The one translation unit of the gtest programs that compiles CLI11 (support/flags.hpp).
#include "support/flags.hpp"

#include "support/cli.hpp"

namespace amx::test {

std::optional<int> parse_flags(int argc, const char* const* argv, const std::string& description,
                               const std::string& program, std::initializer_list<IntFlag> flags) {
    CLI::App app{description, program};
    for (const IntFlag& f : flags) {
        CLI::Option* opt = std::visit([&](auto* v) { return app.add_option(f.name(), *v, f.help()); }, f.target());
        // "Failed parsing 1.5 as a INT" before "not in range".
        opt->check(CLI::TypeValidator<std::int64_t>("INTEGER"))->check(CLI::Range(std::int64_t{1}, f.max()));
    }
    return parse_cli(app, argc, argv);
}

}  // namespace amx::test
