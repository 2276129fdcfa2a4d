// Figures for the gate (ci/gate.py): how much a check did (cases, executions, inputs, operations,
// messages, crash points), written as data instead of scraped from logs. Each call appends one JSON
// line {"test": ..., "figure": ..., "value": N} (nlohmann-json, in figures.cpp of the library
// amx_test_support) to the file named by the environment variable AMX_FIGURES_FILE; with the
// variable unset it does nothing. One write(2) per line on an O_APPEND descriptor, so lines of
// concurrent processes (forked tests, parallel ctest) do not interleave.
//
//   amx::test::figure("ops", n);                 // test = the program's name
//   amx::test::figure("executions", n, "aba");   // test = a part of the program (a scenario)
//   amx::test::count_figure("cases");            // one per call; the total is written at exit
#pragma once

#include <unistd.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace amx::test {

// Appends {"test": test, "figure": name, "value": value} to $AMX_FIGURES_FILE (figures.cpp); test
// defaults to the program's name.
void figure(std::string_view name, std::uint64_t value, std::string_view test = {});

// Counts events of one figure in this process and writes each total once, at exit, from the
// process that counted (a forked child that inherits the tally writes nothing).
class FigureTally {
public:
    void add(std::string_view name, std::string_view test) { ++counts_[{std::string(name), std::string(test)}]; }
    ~FigureTally() {
        if (::getpid() != pid_) return;
        for (const auto& [key, n] : counts_) figure(key.first, n, key.second);
    }

private:
    pid_t pid_ = ::getpid();
    std::map<std::pair<std::string, std::string>, std::uint64_t> counts_;
};

inline void count_figure(std::string_view name, std::string_view test = {}) {
    static FigureTally tally;
    tally.add(name, test);
}

}  // namespace amx::test
