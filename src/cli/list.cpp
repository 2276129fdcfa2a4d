// amx list: every segment of ours in /dev/shm (our prefix and magic), read with pread: nothing is
// mapped, nothing registers.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tool.hpp"

namespace amx::tool {

int cmd_list() {
    json arr = json::array();
    DIR* d = ::opendir("/dev/shm");
    if (!d) return fail_with(fmt::format("/dev/shm cannot be read: {}", std::strerror(errno)), "check that /dev/shm is mounted");
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(d)) {
        const std::string n = e->d_name;
        if (n.rfind(amx::SEGMENT_PREFIX, 0) == 0) names.emplace_back(n.substr(amx::SEGMENT_PREFIX.size()));
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
        const std::string path = file_of(name);
        const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) continue;
        struct stat st {};
        amx::SegmentHeader hdr{};
        std::uint64_t reg[L::REGISTRY_SLOTS] = {};
        const bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                        ::pread(fd, &hdr, sizeof hdr, 0) == static_cast<ssize_t>(sizeof hdr) && hdr.magic == amx::SEGMENT_MAGIC;
        const bool have_reg = ok && ::pread(fd, reg, sizeof reg, L::REGISTRY) == static_cast<ssize_t>(sizeof reg);
        ::close(fd);
        if (!ok) continue;  // not ours: another program's file with our prefix, or still empty
        std::uint32_t live = 0, dead = 0;
        for (std::uint64_t v : reg) {
            if (v == 0) continue;
            ++(amx::participant_alive(amx::participant_pid(v), amx::participant_start(v)) ? live : dead);
        }
        static const char* const INIT[] = {"uninitialised", "initialising", "ready", "failed"};
        arr.push_back({{"name", name}, {"file", path}, {"size", static_cast<std::uint64_t>(st.st_size)}, {"uid", st.st_uid},
                       {"mode", octal(st.st_mode)}, {"layout_version", hdr.layout_version},
                       {"init_state", hdr.init_state < 4 ? INIT[hdr.init_state] : "unknown"},
                       {"creator_pid", hdr.creator_pid},
                       {"creator_alive", amx::process_alive(hdr.creator_pid, hdr.creator_start)},
                       {"participants_known", have_reg}, {"live_participants", live}, {"dead_participants", dead}});
    }
    if (g_json) {
        emit({{"segments", arr}});
        return OK;
    }
    fmt::print("{:<32} {:>12} {:>6} {:>5} {:>3} {:<13} {:>8} {:>5} {:>4}\n", "name", "bytes", "uid", "mode", "ver", "init",
               "creator", "live", "dead");
    for (const auto& s : arr) {
        fmt::print("{:<32} {:>12} {:>6} {:>5} {:>3} {:<13} {:>8} {:>5} {:>4}\n", s["name"].get<std::string>(),
                   s["size"].get<std::uint64_t>(), s["uid"].get<std::uint32_t>(), s["mode"].get<std::string>(),
                   s["layout_version"].get<std::uint32_t>(), s["init_state"].get<std::string>(),
                   s["creator_alive"].get<bool>() ? "alive" : "gone", s["live_participants"].get<std::uint32_t>(),
                   s["dead_participants"].get<std::uint32_t>());
    }
    return OK;
}

}  // namespace amx::tool
