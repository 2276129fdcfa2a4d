// Command-line parsing for model_runner and the bench tools (CLI11; the gtest programs use
// support/flags.hpp, which keeps CLI11 out of their translation units). Unknown flags, extra
// arguments and malformed or out-of-range values are refused: the error and a pointer to --help go
// to stderr and the program exits 2 (these tools' usage status); --help exits 0.
//
//   CLI::App app{"what the program does"};
//   app.add_option("--seconds", g_seconds, "run time")->check(CLI::PositiveNumber);
//   if (const auto rc = amx::test::parse_cli(app, argc, argv)) return *rc;
#pragma once

#include <CLI/CLI.hpp>

#include <optional>

#include "support/flags.hpp"  // USAGE_EXIT

namespace amx::test {

// Parses argv into `app`: an exit status when the program must stop now (after --help, or on a
// usage error, both already reported), nullopt when it should run.
inline std::optional<int> parse_cli(CLI::App& app, int argc, const char* const* argv) {
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : USAGE_EXIT;
    }
    return std::nullopt;
}

}  // namespace amx::test
