// POSIX shared-memory and memfd backends. See include/amx/platform/segment.hpp; the trust model and
// the creation protocol are in docs/SEGMENT.md, every refused input in docs/BAD_INPUT.md.
//
// Creation protocol (one creator, any number of attachers, no shared state but the file):
//   creator:  shm_open(O_CREAT|O_EXCL) -> flock(LOCK_EX) -> fchmod -> posix_fallocate -> mmap ->
//             stamp {INITIALIZING, pid, start time, magic} -> format (READY last) -> unlock.
//   attacher: shm_open -> fstat (regular, owner, mode) -> poll flock(LOCK_SH|LOCK_NB) until the
//             creator's lock is gone -> holding the shared lock, judge the file: READY (attach),
//             FAILED, INITIALIZING with a dead creator (stale_init), garbage (bad_magic, ...).
// The lock is released by the kernel when the creator dies, so "lock free and not READY" means no
// creator is at work; the stamped pid and start time name who was.
#include <fcntl.h>
#include <sys/file.h>
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
using Clock = std::chrono::steady_clock;
constexpr std::uint64_t MAX_CAPACITY = 0xFFFFFFF0ull;  // u32 offsets, 16-byte aligned

tl::unexpected<Error> err(Errc e, std::uint64_t found, std::uint64_t expected, std::string context) {
    return tl::unexpected<Error>(Error{e, found, expected, std::move(context)});
}
tl::unexpected<Error> sys_fail(Errc e, int errnum, std::string context) {
    return err(e, static_cast<std::uint64_t>(errnum), 0, std::move(context));
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

Result<MappingPtr> map_fd(int fd, std::size_t size, std::string name, MappingOrigin origin = {}) {
    void* p = ::mmap(nullptr, size, origin.read_only ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return sys_fail(Errc::system_error, errno, "mmap");
    return std::make_shared<Mapping>(static_cast<std::byte*>(p), size, fd, std::move(name), origin);
}

Result<void> check_size(std::uint64_t size) {
    if (size < Layout::MIN_CAPACITY) return err(Errc::invalid_size, size, Layout::MIN_CAPACITY, "below the minimum");
    if (size > MAX_CAPACITY) return err(Errc::invalid_size, size, MAX_CAPACITY, "above the maximum");
    if (size % Layout::ALIGN != 0) return err(Errc::invalid_size, size, Layout::ALIGN, "not a multiple of");
    return {};
}

Result<void> check_mode_option(mode_t mode) {
    if (mode != 0600 && mode != 0660) return err(Errc::insecure_mode, mode, 0600, "SegmentOptions::mode");
    return {};
}

// Writes the creator's identity before anything else, so an attacher that finds the creator's
// lock gone can tell a dead creator (stale_init) from garbage (bad_magic). Relaxed: attachers
// only read these after acquiring the flock the creator held (the kernel orders the two).
void stamp_identity(const Mapping& m) {
    StdAtomicPolicy::Memory mem(m.base(), m.size());
    mem.u32(seg::INIT_STATE).store(INIT_INITIALIZING, StdAtomicPolicy::relaxed);
    mem.u32(offsetof(SegmentHeader, creator_pid)).store(static_cast<std::uint32_t>(::getpid()), StdAtomicPolicy::relaxed);
    mem.u64(offsetof(SegmentHeader, creator_start)).store(process_start_time(::getpid()), StdAtomicPolicy::relaxed);
    mem.u64(offsetof(SegmentHeader, magic)).store(SEGMENT_MAGIC, StdAtomicPolicy::relaxed);
}

Result<void> format_mapping(const Mapping& m) {
    StdAtomicPolicy::Memory mem(m.base(), m.size());
    const auto pid = static_cast<std::uint32_t>(::getpid());
    return SegHeap::format(mem, FormatParams{random64(), pid, process_start_time(::getpid())});
}

bool in_our_groups(gid_t gid) {
    if (gid == ::getegid()) return true;
    gid_t groups[256];
    const int n = ::getgroups(256, groups);
    for (int i = 0; i < n; ++i) {
        if (groups[i] == gid) return true;
    }
    return false;
}

// Owner and mode rules for a file we are about to trust (see SegmentOptions::mode).
Result<void> check_owner_mode(const struct stat& st, const SegmentOptions& o, const std::string& path) {
    if (S_ISLNK(st.st_mode)) return err(Errc::symlink, st.st_mode, 0, path);
    if (!S_ISREG(st.st_mode)) return err(Errc::not_regular_file, st.st_mode & S_IFMT, S_IFREG, path);
    const bool group_ok = o.mode == 0660 && in_our_groups(st.st_gid);
    if (st.st_uid != ::geteuid() && !group_ok) return err(Errc::foreign_owner, st.st_uid, ::geteuid(), path);
    const mode_t perm = st.st_mode & 07777;
    if ((perm & ~o.mode) != 0) return err(Errc::insecure_mode, perm, o.mode, path);
    return {};
}

// Turns a failed shm_open of an existing name into the most precise error: lstat tells a
// symlink, a directory, a socket or another user's file apart from a plain permission problem
// (the errno alone is ambiguous: a directory gives EISDIR or EINVAL depending on the flags).
tl::unexpected<Error> open_error(int errnum, const std::string& path, const SegmentOptions& o) {
    if (errnum == ENOENT) return sys_fail(Errc::not_found, errnum, path);
    if (errnum == ELOOP) return sys_fail(Errc::symlink, errnum, path);
    struct stat st {};
    if (::lstat(("/dev/shm" + path).c_str(), &st) == 0) {
        if (auto c = check_owner_mode(st, o, path); !c) return tl::unexpected(c.error());
    }
    if (errnum == EACCES || errnum == EPERM) return sys_fail(Errc::permission_denied, errnum, path);
    return sys_fail(Errc::system_error, errnum, path);
}

// A shared flock, held while an attacher judges a file, so no creator is at work meanwhile.
struct SharedLock {
    int fd;
    bool held = ::flock(fd, LOCK_SH | LOCK_NB) == 0;
    int errnum = held ? 0 : errno;
    ~SharedLock() { if (held) ::flock(fd, LOCK_UN); }
};

// A private mapping attempt; becomes a Mapping only when the attach succeeds.
struct RawMap {
    void* p = MAP_FAILED;
    std::size_t n = 0;
    ~RawMap() { if (p != MAP_FAILED) ::munmap(p, n); }
};

enum class Verdict { attach, wait, empty };

// One look at the file, holding the shared lock (no creator at work). Errors are final.
Result<Verdict> judge(const std::byte* base, std::size_t size, const std::string& path) {
    StdAtomicPolicy::Memory mem(const_cast<std::byte*>(base), size);
    // @SEG.wait acquire: pairs with @SEG.ready release in SegHeap::format.
    const std::uint32_t init = mem.u32(seg::INIT_STATE).load(StdAtomicPolicy::acquire);
    if (init == INIT_READY) return Verdict::attach;
    if (init == INIT_FAILED) return err(Errc::init_failed, init, INIT_READY, path);
    const SegmentHeader h = SegHeap::read_header(mem);
    if (h.magic != SEGMENT_MAGIC) return err(Errc::bad_magic, h.magic, SEGMENT_MAGIC, path);
    if (init != INIT_INITIALIZING && init != INIT_UNINITIALIZED) {
        return err(Errc::header_corrupted, init, INIT_READY, path + ": init_state");
    }
    if (h.creator_pid == 0 || !process_alive(h.creator_pid, h.creator_start)) {
        return err(Errc::stale_init, h.creator_pid, 0, path + ": creator died while initializing");
    }
    return Verdict::wait;  // a live creator without its lock: only the timeout decides
}

// One attach attempt: Verdict::wait/empty ask the caller to poll again.
Result<Verdict> attach_once(int fd, const std::string& path, RawMap& map, int prot) {
    SharedLock lock{fd};
    if (!lock.held) {
        if (lock.errnum == EWOULDBLOCK) return Verdict::wait;  // the creator is at work
        return sys_fail(Errc::system_error, lock.errnum, path + ": flock");
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) return sys_fail(Errc::system_error, errno, path);
    // Unlinked since we opened it (a failed creator removes its name): as if never found.
    if (st.st_nlink == 0) return err(Errc::not_found, 0, 0, path + ": removed while attaching");
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size == 0) return Verdict::empty;
    if (size < sizeof(SegmentHeader)) return err(Errc::size_mismatch, size, sizeof(SegmentHeader), path);
    if (size > MAX_CAPACITY) return err(Errc::size_mismatch, size, MAX_CAPACITY, path);
    map.p = ::mmap(nullptr, size, prot, MAP_SHARED, fd, 0);
    if (map.p == MAP_FAILED) return sys_fail(Errc::system_error, errno, path + ": mmap");
    map.n = size;
    auto v = judge(static_cast<const std::byte*>(map.p), size, path);
    if (!v || *v == Verdict::attach) return v;
    ::munmap(map.p, map.n);
    map.p = MAP_FAILED;
    return v;
}

// Polls attach_once until it decides, bounded by attach_timeout (and empty_grace for an empty
// file nobody is sizing). Returns the size of the mapping left in `map`.
Result<std::uint32_t> wait_and_map(int fd, const std::string& path, const SegmentOptions& o, RawMap& map) {
    const auto start = Clock::now();
    std::optional<Clock::time_point> empty_since;
    for (std::uint32_t waits = 0;; ++waits) {
        auto v = attach_once(fd, path, map, o.read_only ? PROT_READ : PROT_READ | PROT_WRITE);
        if (!v) return tl::unexpected(v.error());
        if (*v == Verdict::attach) return waits;
        const auto now = Clock::now();
        if (*v == Verdict::empty) {
            if (!empty_since) empty_since = now;
            if (now - *empty_since >= o.empty_grace) return err(Errc::stale_init, 0, 0, path + ": empty file, no creator");
        } else {
            empty_since.reset();
        }
        if (now - start >= o.attach_timeout) {
            return err(Errc::init_timeout, static_cast<std::uint64_t>(o.attach_timeout.count()), INIT_READY, path);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

// Takes the creation lock. Only attachers briefly holding a shared lock compete, so a lock still
// unavailable after the timeout means someone holds it on purpose.
Result<void> lock_for_creation(int fd, const SegmentOptions& o, const std::string& path) {
    const auto deadline = Clock::now() + o.attach_timeout;
    while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) return sys_fail(Errc::system_error, errno, path + ": flock");
        if (Clock::now() >= deadline) return err(Errc::init_timeout, 0, 0, path + ": creation lock held");
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return {};
}

int fallocate_retry(int fd, std::uint64_t size) {
    int e;
    do {
        e = ::posix_fallocate(fd, 0, static_cast<off_t>(size));
    } while (e == EINTR);
    return e;
}

// Everything between the exclusive create and READY; the caller removes the name on failure.
Result<MappingPtr> size_and_format(int fd, std::string_view name, std::uint64_t size, const SegmentOptions& o,
                                   const std::string& path) {
    if (auto l = lock_for_creation(fd, o, path); !l) return tl::unexpected(l.error());
    if (::fchmod(fd, o.mode) != 0) return sys_fail(Errc::system_error, errno, path + ": fchmod");
    if (int e = fallocate_retry(fd, size); e != 0) {
        // ENOSPC: /dev/shm is full; EFBIG: RLIMIT_FSIZE. Either way, refusing now beats SIGBUS later.
        const bool space = e == ENOSPC || e == EFBIG;
        return err(space ? Errc::no_space : Errc::system_error, static_cast<std::uint64_t>(e), size, path);
    }
    const int dupfd = ::dup(fd);  // the Mapping owns this one; the caller's fd keeps the lock
    if (dupfd < 0) return sys_fail(Errc::system_error, errno, path + ": dup");
    FdGuard g{dupfd};
    auto m = map_fd(dupfd, size, std::string(name), MappingOrigin{true, 0});
    if (!m) return m;
    g.release();
    stamp_identity(**m);
    if (auto f = format_mapping(**m); !f) {
        StdAtomicPolicy::Memory mem((*m)->base(), size);
        // @SEG.failed release: pairs with @SEG.wait acquire (attachers stop waiting).
        mem.u32(seg::INIT_STATE).store(INIT_FAILED, StdAtomicPolicy::release);
        return tl::unexpected(f.error());
    }
    return m;
}

bool is_zombie(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const auto close = s.rfind(')');
    return close != std::string::npos && close + 2 < s.size() && (s[close + 2] == 'Z' || s[close + 2] == 'X');
}

// The nonce of whatever segment file fd holds (0 if unreadable); for error details only.
std::uint64_t nonce_of(int fd) {
    std::uint64_t nonce = 0;
    if (::pread(fd, &nonce, sizeof nonce, offsetof(SegmentHeader, nonce)) != sizeof nonce) return 0;
    return nonce;
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
    auto m = map_fd(fd, size_, name_, MappingOrigin{false, 0, origin_.read_only});
    if (m) g.release();
    return m;
}

Result<MappingPtr> Mapping::map_private() const {
    const bool file = fd_ >= 0;
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, file ? MAP_PRIVATE : MAP_PRIVATE | MAP_ANONYMOUS, fd_, 0);
    if (p == MAP_FAILED) return sys_fail(Errc::system_error, errno, "mmap (private)");
    if (!file) std::memcpy(p, base_, size_);  // memory without a file behind it: a copy of its bytes
    return std::make_shared<Mapping>(static_cast<std::byte*>(p), size_, -1, name_);
}

Result<void> validate_name(std::string_view name) {
    if (name.empty() || name == "." || name == "..") return err(Errc::invalid_name, name.size(), 0, std::string(name));
    if (name.size() > MAX_NAME_LENGTH) return err(Errc::name_too_long, name.size(), MAX_NAME_LENGTH, {});
    for (char ch : name) {
        const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                        ch == '.' || ch == '_' || ch == '-';
        if (!ok) return err(Errc::invalid_name, static_cast<unsigned char>(ch), 0, std::string(name));
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
    if (close == std::string::npos || close + 2 >= s.size()) return 0;
    std::istringstream rest(s.substr(close + 2));
    std::string field;
    // Fields after ")" start at field 3 (state); starttime is field 22.
    for (int i = 3; i < 22 && rest >> field; ++i) {}
    std::uint64_t start = 0;
    rest >> start;
    return start;
}

bool process_alive(std::uint32_t pid, std::uint64_t start_time, std::uint64_t start_mask) {
    if (pid == 0 || pid > 0x7FFFFFFFu) return false;
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return false;
    const std::uint64_t now = process_start_time(static_cast<pid_t>(pid));
    // A zombie holds no locks and will never finish a format or an operation: dead.
    return now != 0 && (now & start_mask) == (start_time & start_mask) && !is_zombie(static_cast<pid_t>(pid));
}

Result<MappingPtr> create_segment(std::string_view name, std::uint64_t size, const SegmentOptions& o) {
    if (auto v = validate_name(name); !v) return tl::unexpected(v.error());
    if (auto v = check_size(size); !v) return tl::unexpected(v.error());
    if (auto v = check_mode_option(o.mode); !v) return tl::unexpected(v.error());
    const std::string path = shm_path(name);
    int fd = ::shm_open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, o.mode);
    if (fd < 0) {
        if (errno == EEXIST) return sys_fail(Errc::already_exists, errno, path);
        if (errno == EACCES) return sys_fail(Errc::permission_denied, errno, path);
        return sys_fail(Errc::system_error, errno, path);
    }
    FdGuard g{fd};
    auto m = size_and_format(fd, name, size, o, path);
    if (!m) {
        ::shm_unlink(path.c_str());  // the name we just created, never one read from the file
        return m;                    // the lock goes with the last descriptor
    }
    // The mapping's descriptor shares this open file description, hence the lock: release it
    // explicitly. Attachers polling for it now find READY.
    ::flock(fd, LOCK_UN);
    return m;
}

Result<MappingPtr> attach_segment(std::string_view name, const SegmentOptions& o) {
    if (auto v = validate_name(name); !v) return tl::unexpected(v.error());
    if (auto v = check_mode_option(o.mode); !v) return tl::unexpected(v.error());
    const std::string path = shm_path(name);
    int fd = ::shm_open(path.c_str(), (o.read_only ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0) return open_error(errno, path, o);
    FdGuard g{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) return sys_fail(Errc::system_error, errno, path);
    if (auto c = check_owner_mode(st, o, path); !c) return tl::unexpected(c.error());
    RawMap raw;
    auto waits = wait_and_map(fd, path, o, raw);
    if (!waits) return tl::unexpected(waits.error());
    StdAtomicPolicy::Memory mem(static_cast<std::byte*>(raw.p), raw.n);
    if (auto a = SegHeap::attach(mem); !a) {
        Error e = a.error();
        e.context = path;
        return tl::unexpected(e);
    }
    auto m = std::make_shared<Mapping>(static_cast<std::byte*>(raw.p), raw.n, g.release(), std::string(name),
                                       MappingOrigin{false, *waits, o.read_only});
    raw.p = MAP_FAILED;  // now owned by m
    return m;
}

Result<MappingPtr> create_or_attach(std::string_view name, std::uint64_t size, const SegmentOptions& o) {
    for (int i = 0; i < 8; ++i) {
        auto c = create_segment(name, size, o);
        if (c || c.error().code != Errc::already_exists) return c;
        auto a = attach_segment(name, o);
        // not_found: unlinked between the two; init_failed: its creator failed and removed it.
        if (a || (a.error().code != Errc::not_found && a.error().code != Errc::init_failed)) return a;
    }
    return err(Errc::contention, 8, 0, shm_path(name) + ": created and removed under us repeatedly");
}

Result<void> unlink_segment(std::string_view name) {
    if (auto v = validate_name(name); !v) return tl::unexpected(v.error());
    const std::string path = shm_path(name);
    if (::shm_unlink(path.c_str()) != 0 && errno != ENOENT) return sys_fail(Errc::unlink_failed, errno, path);
    return {};
}

Result<void> unlink_mapped(const Mapping& m, UnlinkMode how) {
    if (m.name().empty()) return {};  // in-memory: nothing to unlink
    const std::string path = shm_path(m.name());
    if (how == UnlinkMode::if_ours) {
        const int fd = ::shm_open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
        if (fd < 0 && errno == ENOENT) return {};
        if (fd < 0 && errno == ELOOP) return sys_fail(Errc::symlink, errno, path);
        if (fd < 0) return sys_fail(Errc::unlink_failed, errno, path);
        FdGuard g{fd};
        struct stat theirs {}, ours {};
        if (::fstat(fd, &theirs) != 0 || ::fstat(m.fd(), &ours) != 0) return sys_fail(Errc::unlink_failed, errno, path);
        if (theirs.st_dev != ours.st_dev || theirs.st_ino != ours.st_ino) {
            return err(Errc::not_ours, nonce_of(fd), nonce_of(m.fd()), path + ": another segment now has this name");
        }
        if (theirs.st_uid != ::geteuid()) return err(Errc::foreign_owner, theirs.st_uid, ::geteuid(), path);
    }
    if (::shm_unlink(path.c_str()) != 0 && errno != ENOENT) return sys_fail(Errc::unlink_failed, errno, path);
    return {};
}

std::string random_name() {
    for (;;) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "r%016llx", static_cast<unsigned long long>(random64()));
        const std::string file = "/dev/shm" + shm_path(buf);
        struct stat st {};
        if (::lstat(file.c_str(), &st) != 0 && errno == ENOENT) return buf;
    }
}

Result<MappingPtr> create_in_memory(std::uint64_t size) {
    if (auto v = check_size(size); !v) return tl::unexpected(v.error());
    int fd = ::memfd_create("amx-in-memory", MFD_CLOEXEC);
    if (fd < 0) return sys_fail(Errc::system_error, errno, "memfd_create");
    FdGuard g{fd};
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) return sys_fail(Errc::system_error, errno, "ftruncate");
    auto m = map_fd(fd, size, {}, MappingOrigin{true, 0});
    if (!m) return m;
    g.release();
    if (auto f = format_mapping(**m); !f) return tl::unexpected(f.error());
    return m;
}

}  // namespace amx
