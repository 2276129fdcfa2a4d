// Scratch segments (include/amx/platform/scratch.hpp): names that carry their maker's identity, the
// sweep of dead makers' names, and the signal handler that removes this process's own.
// policy-seam: process-local: what the signal handler reads (registered prefixes, tied children)
#include "amx/platform/scratch.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "amx/platform/segment.hpp"

namespace amx {
namespace {

constexpr int MAX_KINDS = 8;
constexpr std::size_t MAX_KIND = 16;
constexpr const char* SHM_DIR = "/dev/shm";

// What the signal handler reads: the prefixes "amx.<kind>-<pid>-<start>-" this process registered.
// Registrations are serialised by `adding`; a prefix is written before the count that publishes it
// (@SC.publish), so the handler, which takes no lock, never reads a half-written one.
struct Prefixes {
    char text[MAX_KINDS][64];
    pid_t owner[MAX_KINDS];
    std::atomic<int> count{0};
    std::mutex adding;
};
Prefixes g_prefixes;

// The children fork_tied_child() made, most recent MAX_TIED (a ring): the handler ends those still
// running before it removes names, since a worker may be creating one of them at that moment.
constexpr unsigned MAX_TIED = 64;
std::atomic<pid_t> g_tied[MAX_TIED];
std::atomic<unsigned> g_tied_count{0};

bool valid_kind(std::string_view kind) {
    if (kind.empty() || kind.size() > MAX_KIND) return false;
    for (const char c : kind) {
        const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum) return false;
    }
    return true;
}

std::string kind_prefix(std::string_view kind) { return std::string(SEGMENT_PREFIX) + std::string(kind) + "-"; }

// This process's prefix of `kind`: "amx.<kind>-<pid>-<start>-".
std::string own_prefix(std::string_view kind) {
    const pid_t pid = ::getpid();
    return kind_prefix(kind) + std::to_string(pid) + "-" + std::to_string(process_start_time(pid)) + "-";
}

void register_prefix(const std::string& prefix) {
    const std::lock_guard<std::mutex> lock(g_prefixes.adding);
    // @SC.lookup acquire: pairs with @SC.publish (the prefixes below the count are written).
    const int n = g_prefixes.count.load(std::memory_order_acquire);
    for (int i = 0; i < n; ++i) {
        if (g_prefixes.owner[i] == ::getpid() && prefix == g_prefixes.text[i]) return;
    }
    if (n == MAX_KINDS || prefix.size() >= sizeof g_prefixes.text[0]) std::abort();
    std::memcpy(g_prefixes.text[n], prefix.c_str(), prefix.size() + 1);
    g_prefixes.owner[n] = ::getpid();
    // @SC.publish release: pairs with @SC.lookup and @SC.handler.
    g_prefixes.count.store(n + 1, std::memory_order_release);
}

// The (pid, start) a scratch name after its kind's prefix carries: "<pid>-<start>-<n>".
bool parse_owner(const char* rest, unsigned long* pid, unsigned long long* start) {
    char* end = nullptr;
    *pid = std::strtoul(rest, &end, 10);
    if (end == rest || *end != '-') return false;
    const char* s = end + 1;
    *start = std::strtoull(s, &end, 10);
    return end != s && *end == '-';
}

// Removes one entry of /dev/shm: a file of any type, or an empty directory (a test's hostile input).
bool remove_entry(int dir, const char* name) {
    return ::unlinkat(dir, name, 0) == 0 || (errno == EISDIR && ::unlinkat(dir, name, AT_REMOVEDIR) == 0);
}

// Removes the entries of /dev/shm whose name `pick` chooses; returns how many.
template <class Pick>
int remove_where(Pick&& pick) {
    DIR* d = ::opendir(SHM_DIR);
    if (d == nullptr) return 0;
    int removed = 0;
    while (const dirent* e = ::readdir(d)) {
        if (pick(e->d_name) && remove_entry(::dirfd(d), e->d_name)) ++removed;
    }
    ::closedir(d);
    return removed;
}

// ---- the signal handler: async-signal-safe calls only ----------------------------------------

struct LinuxDirent64 {  // the record getdents64 fills (glibc declares no type for it)
    ino64_t d_ino;
    off64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[1];
};

bool has_own_prefix(const char* name) {
    // @SC.handler acquire: pairs with @SC.publish (a handler never reads a half-written prefix).
    const int n = g_prefixes.count.load(std::memory_order_acquire);
    const pid_t me = ::getpid();
    for (int i = 0; i < n; ++i) {
        const char* p = g_prefixes.text[i];
        if (g_prefixes.owner[i] == me && std::strncmp(name, p, std::strlen(p)) == 0) return true;
    }
    return false;
}

// One pass over /dev/shm; returns the number of names removed.
int unlink_own_once(int dir) {
    alignas(8) char buf[4096];
    int removed = 0;
    ::lseek(dir, 0, SEEK_SET);
    for (ssize_t n; (n = ::getdents64(dir, buf, sizeof buf)) > 0;) {
        for (ssize_t at = 0; at < n;) {
            const auto* e = reinterpret_cast<const LinuxDirent64*>(buf + at);
            if (has_own_prefix(e->d_name) && remove_entry(dir, e->d_name)) ++removed;
            at += e->d_reclen;
        }
    }
    return removed;
}

// SIGKILLs and reaps the tied children that are still ours and unreaped (waitpid WNOHANG says 0;
// a pid reaped already, perhaps reused by another process, is left alone).
void end_tied_children() {
    for (auto& slot : g_tied) {
        const pid_t pid = slot.load(std::memory_order_relaxed);
        int status = 0;
        if (pid > 0 && ::waitpid(pid, &status, WNOHANG) == 0 && ::kill(pid, SIGKILL) == 0) ::waitpid(pid, &status, 0);
    }
}

void on_interrupt(int sig) {
    const int saved = errno;
    end_tied_children();
    const int dir = ::open(SHM_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        // Removing entries while reading the directory may skip some: pass again until one removes none.
        for (int pass = 0; pass < 8 && unlink_own_once(dir) > 0; ++pass) {}
        ::close(dir);
    }
    errno = saved;
    // SA_RESETHAND made the action the default again: the re-raised signal ends us once we return.
    ::raise(sig);
}

}  // namespace

std::string scratch_name(std::string_view kind) {
    if (!valid_kind(kind)) std::abort();
    static std::atomic<unsigned> counter{0};
    const std::string prefix = own_prefix(kind);
    register_prefix(prefix);
    return prefix.substr(SEGMENT_PREFIX.size()) + std::to_string(counter.fetch_add(1, std::memory_order_relaxed) + 1);
}

int sweep_dead_scratch(std::string_view kind) {
    if (!valid_kind(kind)) std::abort();
    const std::string prefix = kind_prefix(kind);
    return remove_where([&](const char* name) {
        unsigned long pid = 0;
        unsigned long long start = 0;
        if (std::strncmp(name, prefix.c_str(), prefix.size()) != 0) return false;
        if (!parse_owner(name + prefix.size(), &pid, &start)) return false;
        return !process_alive(static_cast<std::uint32_t>(pid), start);
    });
}

int remove_own_scratch(std::string_view kind) {
    if (!valid_kind(kind)) std::abort();
    const std::string prefix = own_prefix(kind);
    return remove_where([&](const char* name) { return std::strncmp(name, prefix.c_str(), prefix.size()) == 0; });
}

void remove_scratch_on_signals() {
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (const int sig : {SIGINT, SIGTERM, SIGHUP}) {
        sigaddset(&sa.sa_mask, sig);  // one cleanup at a time
    }
    for (const int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
}

pid_t fork_tied_child() {
    // The handler ends the tied children it has on record. Its signals are blocked in this thread
    // from before fork() until the child is on record: a handler that ran in between would leave
    // that child running, free to create a scratch name after the handler's sweep
    // (multiproc_interrupts saw it: an mpboot name left after SIGTERM, in 2 of 8 runs under load).
    // A handler that runs in another thread of the process meanwhile is not covered (SEGMENT.md).
    sigset_t handled, before;
    sigemptyset(&handled);
    for (const int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&handled, sig);
    ::pthread_sigmask(SIG_BLOCK, &handled, &before);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {
        for (auto& slot : g_tied) slot.store(0, std::memory_order_relaxed);  // the parent's, not ours
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(1);  // the parent ended before the prctl
    } else if (pid > 0) {
        g_tied[g_tied_count.fetch_add(1, std::memory_order_relaxed) % MAX_TIED].store(pid, std::memory_order_relaxed);
    }
    ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
    return pid;
}

}  // namespace amx
