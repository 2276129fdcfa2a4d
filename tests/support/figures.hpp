// Figures for the gate (ci/gate.py): how much a check did (cases, executions, inputs, operations,
// messages, crash points), written as data instead of scraped from logs. Each call appends one JSON
// line {"test": ..., "figure": ..., "value": N} (nlohmann-json) to the file named by the environment variable
// AMX_FIGURES_FILE; with the variable unset it does nothing. One write(2) per line on an O_APPEND
// descriptor, so lines of concurrent processes (forked tests, parallel ctest) do not interleave.
//
//   amx::test::figure("ops", n);                 // test = the program's name
//   amx::test::figure("executions", n, "aba");   // test = a part of the program (a scenario)
//   amx::test::count_figure("cases");            // one per call; the total is written at exit
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace amx::test {

namespace figures_detail {

// The running program's name (glibc), the default "test" of a figure.
inline std::string_view program_name() { return program_invocation_short_name; }

}  // namespace figures_detail

inline void figure(std::string_view name, std::uint64_t value, std::string_view test = {}) {
    const char* path = std::getenv("AMX_FIGURES_FILE");
    if (path == nullptr || *path == '\0') return;
    if (test.empty()) test = figures_detail::program_name();
    // Bytes that are not UTF-8 become U+FFFD: every line stays JSON that ci/lib/figures.py can read.
    const nlohmann::ordered_json row{{"test", test}, {"figure", name}, {"value", value}};
    const std::string line = row.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
    const int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;
    [[maybe_unused]] const ssize_t n = ::write(fd, line.data(), line.size());
    ::close(fd);
}

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
