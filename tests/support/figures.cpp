// support/figures.hpp's writer: the one translation unit of the test programs that compiles
// nlohmann-json for it.
#include "support/figures.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

namespace amx::test {

void figure(std::string_view name, std::uint64_t value, std::string_view test) {
    const char* path = std::getenv("AMX_FIGURES_FILE");
    if (path == nullptr || *path == '\0') return;
    if (test.empty()) test = program_invocation_short_name;  // glibc: the running program's name
    // Bytes that are not UTF-8 become U+FFFD: every line stays JSON that ci/lib/figures.py can read.
    const nlohmann::ordered_json row{{"test", test}, {"figure", name}, {"value", value}};
    const std::string line = row.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
    const int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;
    [[maybe_unused]] const ssize_t n = ::write(fd, line.data(), line.size());
    ::close(fd);
}

}  // namespace amx::test
