// POSIX shared-memory and memfd backends. See include/amx/platform/segment.hpp.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "amx/core/heap.hpp"
#include "amx/platform/segment.hpp"
#include "amx/policy/std_policy.hpp"

namespace amx {
namespace {

using SegHeap = amx::Heap<StdAtomicPolicy, DefaultGeometry>;
using Layout = ControlLayout<DefaultGeometry>;

tl::unexpected<Error> sys_fail(Errc e, int err, std::string context) {
    return tl::unexpected<Error>(Error{e, static_cast<std::uint64_t>(err), 0, std::move(context)});
}

std::uint64_t random64() {
    std::random_device rd;
    return (std::uint64_t{rd()} << 32) ^ rd();
}

// Closes fd unless released.
struct FdGuard {
    int fd;
    ~FdGuard() { if (fd >= 0) ::close(fd); }
    int release() { int f = fd; fd = -1; return f; }
};

Result<MappingPtr> map_fd(int fd, std::size_t size, std::string name) {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return sys_fail(Errc::system_error, errno, "mmap");
    return std::make_shared<Mapping>(static_cast<std::byte*>(p), size, fd, std::move(name));
}

Result<void> check_size(std::uint64_t size) {
    if (size < Layout::MIN_CAPACITY || size > 0xFFFFFFF0ull || size % Layout::ALIGN != 0) {
        return fail(Errc::invalid_size, size, Layout::MIN_CAPACITY);
    }
    return {};
}

Result<void> format_mapping(const Mapping& m) {
    StdAtomicPolicy::Memory mem(m.base(), m.size());
    const auto pid = static_cast<std::uint32_t>(::getpid());
    return SegHeap::format(mem, FormatParams{random64(), pid, process_start_time(::getpid())});
}

// Checks the file behind fd before we map it: a regular file of ours, mode as asked, size sane.
Result<std::uint64_t> check_file(int fd, const SegmentOptions& o, const std::string& name) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return sys_fail(Errc::system_error, errno, name);
    if (!S_ISREG(st.st_mode)) return sys_fail(Errc::not_regular_file, st.st_mode, name);
    if (st.st_uid != ::geteuid()) {
        return tl::unexpected(Error{Errc::foreign_owner, st.st_uid, ::geteuid(), name});
    }
    const mode_t perm = st.st_mode & 07777;
    if ((perm & ~o.mode) != 0) return tl::unexpected(Error{Errc::insecure_mode, perm, o.mode, name});
    if (st.st_size < static_cast<off_t>(sizeof(SegmentHeader))) {
        return tl::unexpected(Error{Errc::size_mismatch, static_cast<std::uint64_t>(st.st_size), sizeof(SegmentHeader), name});
    }
    return static_cast<std::uint64_t>(st.st_size);
}

// Waits (bounded) until the creator publishes READY; detects a dead creator.
Result<void> wait_ready(const Mapping& m, const SegmentOptions& o) {
    StdAtomicPolicy::Memory mem(m.base(), m.size());
    const auto deadline = std::chrono::steady_clock::now() + o.attach_timeout;
    for (;;) {
        // @SEG.wait acquire: pairs with @SEG.ready release in SegHeap::format.
        const std::uint32_t init = mem.u32(seg::INIT_STATE).load(StdAtomicPolicy::acquire);
        if (init == INIT_READY) return {};
        if (init == INIT_FAILED) return fail(Errc::init_failed, init, INIT_READY);
        const SegmentHeader h = SegHeap::read_header(mem);
        if (init == INIT_INITIALIZING && h.creator_pid != 0 && h.creator_start != 0 &&
            !process_alive(h.creator_pid, h.creator_start)) {
            return tl::unexpected(Error{Errc::stale_init, h.creator_pid, 0, m.name()});
        }
        if (std::chrono::steady_clock::now() >= deadline) return fail(Errc::init_timeout, init, INIT_READY);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

}  // namespace

Mapping::~Mapping() {
    if (base_ != nullptr) ::munmap(base_, size_);
    if (fd_ >= 0) ::close(fd_);
}

Result<MappingPtr> Mapping::map_again() const {
    int fd = ::dup(fd_);
    if (fd < 0) return sys_fail(Errc::system_error, errno, "dup");
    FdGuard g{fd};
    auto m = map_fd(fd, size_, name_);
    if (m) g.release();
    return m;
}

Result<void> validate_name(std::string_view name) {
    if (name.empty() || name == "." || name == "..") return tl::unexpected(Error{Errc::invalid_name, name.size(), 0, std::string(name)});
    if (name.size() > MAX_NAME_LENGTH) return tl::unexpected(Error{Errc::name_too_long, name.size(), MAX_NAME_LENGTH, {}});
    for (char ch : name) {
        const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                        ch == '.' || ch == '_' || ch == '-';
        if (!ok) return tl::unexpected(Error{Errc::invalid_name, static_cast<unsigned char>(ch), 0, std::string(name)});
    }
    return {};
}

std::string shm_path(std::string_view name) {
    return "/" + std::string(SEGMENT_PREFIX) + std::string(name);
}

std::uint64_t process_start_time(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const auto close = s.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream rest(s.substr(close + 2));
    std::string field;
    // Fields after ")" start at field 3 (state); starttime is field 22.
    for (int i = 3; i < 22 && rest >> field; ++i) {}
    std::uint64_t start = 0;
    rest >> start;
    return start;
}

bool process_alive(std::uint32_t pid, std::uint64_t start_time) {
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return false;
    const std::uint64_t now = process_start_time(static_cast<pid_t>(pid));
    return now != 0 && now == start_time;
}

Result<MappingPtr> create_segment(std::string_view name, std::uint64_t size, const SegmentOptions& o) {
    if (auto v = validate_name(name); !v) return tl::unexpected(v.error());
    if (auto v = check_size(size); !v) return tl::unexpected(v.error());
    if (o.mode != 0600 && o.mode != 0660) return tl::unexpected(Error{Errc::insecure_mode, o.mode, 0600, {}});
    const std::string path = shm_path(name);
    int fd = ::shm_open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, o.mode);
    if (fd < 0) {
        if (errno == EEXIST) return sys_fail(Errc::already_exists, errno, path);
        return sys_fail(Errc::system_error, errno, path);
    }
    FdGuard g{fd};
    auto cleanup = [&](Error e) { ::shm_unlink(path.c_str()); return tl::unexpected(std::move(e)); };
    if (::fchmod(fd, o.mode) != 0) return cleanup(Error{Errc::system_error, static_cast<std::uint64_t>(errno), 0, path});
    if (int err = ::posix_fallocate(fd, 0, static_cast<off_t>(size)); err != 0) {
        return cleanup(Error{err == ENOSPC ? Errc::no_space : Errc::system_error, static_cast<std::uint64_t>(err), size, path});
    }
    auto m = map_fd(fd, size, std::string(name));
    if (!m) return cleanup(m.error());
    g.release();
    if (auto f = format_mapping(**m); !f) {
        StdAtomicPolicy::Memory mem((*m)->base(), size);
        mem.u32(seg::INIT_STATE).store(INIT_FAILED, StdAtomicPolicy::release);
        return cleanup(f.error());
    }
    return m;
}

Result<MappingPtr> attach_segment(std::string_view name, const SegmentOptions& o) {
    if (auto v = validate_name(name); !v) return tl::unexpected(v.error());
    const std::string path = shm_path(name);
    int fd = ::shm_open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0) {
        if (errno == ENOENT) return sys_fail(Errc::not_found, errno, path);
        if (errno == ELOOP) return sys_fail(Errc::not_regular_file, errno, path);
        return sys_fail(Errc::system_error, errno, path);
    }
    FdGuard g{fd};
    auto size = check_file(fd, o, path);
    if (!size) return tl::unexpected(size.error());
    if (*size > 0xFFFFFFFFull) return tl::unexpected(Error{Errc::size_mismatch, *size, 0xFFFFFFFFull, path});
    auto m = map_fd(fd, *size, std::string(name));
    if (!m) return m;
    g.release();
    if (auto w = wait_ready(**m, o); !w) return tl::unexpected(w.error());
    StdAtomicPolicy::Memory mem((*m)->base(), (*m)->size());
    if (auto a = SegHeap::attach(mem); !a) {
        Error e = a.error();
        e.context = path;
        return tl::unexpected(e);
    }
    return m;
}

Result<MappingPtr> create_or_attach(std::string_view name, std::uint64_t size, const SegmentOptions& o) {
    for (int i = 0; i < 8; ++i) {
        auto c = create_segment(name, size, o);
        if (c || c.error().code != Errc::already_exists) return c;
        auto a = attach_segment(name, o);
        if (a || a.error().code != Errc::not_found) return a;  // unlinked between the two: retry
    }
    return fail(Errc::contention, 0);
}

Result<void> unlink_segment(std::string_view name) {
    if (auto v = validate_name(name); !v) return tl::unexpected(v.error());
    const std::string path = shm_path(name);
    if (::shm_unlink(path.c_str()) != 0 && errno != ENOENT) return sys_fail(Errc::unlink_failed, errno, path);
    return {};
}

std::string random_name() {
    for (;;) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "r%016llx", static_cast<unsigned long long>(random64()));
        const std::string path = shm_path(buf);
        int fd = ::shm_open(path.c_str(), O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0 && errno == ENOENT) return buf;
        if (fd >= 0) ::close(fd);
    }
}

Result<MappingPtr> create_in_memory(std::uint64_t size) {
    if (auto v = check_size(size); !v) return tl::unexpected(v.error());
    int fd = ::memfd_create("amx-in-memory", MFD_CLOEXEC);
    if (fd < 0) return sys_fail(Errc::system_error, errno, "memfd_create");
    FdGuard g{fd};
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) return sys_fail(Errc::system_error, errno, "ftruncate");
    auto m = map_fd(fd, size, {});
    if (!m) return m;
    g.release();
    if (auto f = format_mapping(**m); !f) return tl::unexpected(f.error());
    return m;
}

}  // namespace amx
