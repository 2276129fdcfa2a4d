// Backends: where a segment's bytes live. Not part of the core (which knows words at offsets only).
//   - POSIX shared memory (/dev/shm/amx.<name>): create, attach, create-or-attach, unlink. The
//     segment is the trust boundary: docs/SEGMENT.md states the trust model and the limits.
//   - In-memory: an anonymous memfd, for tests and fuzzers; it can be mapped a second time at
//     another address, so tests resolve offsets against two bases.
// docs/BAD_INPUT.md lists every refused input and its error.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "amx/errc.hpp"

namespace amx {

inline constexpr std::string_view SEGMENT_PREFIX = "amx.";
inline constexpr std::size_t MAX_NAME_LENGTH = 200;

// How a segment came to be mapped here (diagnostics for tests and tools).
struct MappingOrigin {
    bool created = false;          // this process created and formatted the segment
    std::uint32_t init_waits = 0;  // polls spent waiting for a creator to finish (attach only)
    bool read_only = false;        // mapped PROT_READ (SegmentOptions::read_only)
};

// One mapping of a segment into this process. Unmaps (and closes) on destruction.
class Mapping {
public:
    Mapping(std::byte* base, std::size_t size, int fd, std::string name, MappingOrigin origin = {}) noexcept
        : base_(base), size_(size), fd_(fd), name_(std::move(name)), origin_(origin) {}
    ~Mapping();
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;

    std::byte* base() const noexcept { return base_; }
    std::size_t size() const noexcept { return size_; }
    // The validated name (without prefix); empty for in-memory segments.
    const std::string& name() const noexcept { return name_; }
    const MappingOrigin& origin() const noexcept { return origin_; }
    bool created() const noexcept { return origin_.created; }
    bool read_only() const noexcept { return origin_.read_only; }
    // Maps the same segment again at another address (read-only again if this one is).
    Result<std::shared_ptr<Mapping>> map_again() const;
    // A private copy-on-write mapping of the same bytes (MAP_PRIVATE): writes through it stay in
    // this process and never reach the segment; pages it has not written show the segment's
    // current bytes. Works on a read-only mapping too. A mapping with no file behind it (fd -1, built
    // by a caller from its own memory) gets a private copy of its bytes instead.
    Result<std::shared_ptr<Mapping>> map_private() const;
    // The open file behind the mapping (for identity checks); -1 once closed.
    int fd() const noexcept { return fd_; }

private:
    std::byte* base_;
    std::size_t size_;
    int fd_;
    std::string name_;
    MappingOrigin origin_;
};

using MappingPtr = std::shared_ptr<Mapping>;

struct SegmentOptions {
    // Create: the file's exact mode. Attach: the most a file may grant. 0600 (owner only) is the
    // default; 0660 is the explicit opt-in for group access (an attacher with 0660 also accepts a
    // file owned by another user of one of its groups). Any other mode is refused (insecure_mode).
    mode_t mode = 0600;
    std::chrono::milliseconds attach_timeout{2000};  // bounded wait for a creator to finish
    // An empty file with no creator at work: how long to wait for one before calling it stale (a
    // creator between shm_open and its lock is visible this way for microseconds).
    std::chrono::milliseconds empty_grace{250};
    // Attach: open the file read-only and map it PROT_READ (tools that only look; a write through
    // such a mapping faults). Create ignores it.
    bool read_only = false;
};

// die(): whether to check that the name still designates the segment we mapped.
enum class UnlinkMode { if_ours, force };

// Names: [A-Za-z0-9._-]{1,MAX_NAME_LENGTH}, not "." or "..".
Result<void> validate_name(std::string_view name);
std::string shm_path(std::string_view name);  // "/amx.<name>"

// Creates and formats a new segment; fails with already_exists if the name is taken. On any
// failure after the name was created, the name is removed again.
Result<MappingPtr> create_segment(std::string_view name, std::uint64_t size, const SegmentOptions& o = {});
// Attaches to an existing segment, waiting (bounded) for its creator; never resizes it.
Result<MappingPtr> attach_segment(std::string_view name, const SegmentOptions& o = {});
// Attaches if the name exists, otherwise creates; exactly one of many racing callers formats.
Result<MappingPtr> create_or_attach(std::string_view name, std::uint64_t size, const SegmentOptions& o = {});
// Removes a name unconditionally (tools, tests). "Not found" counts as success.
Result<void> unlink_segment(std::string_view name);
// Removes the name of a mapped segment (MatrixHandler::die). With if_ours, refuses (not_ours,
// foreign_owner, symlink) when the file now at the name is not the one mapped or not ours.
// "Not found" counts as success; existing mappings stay valid (POSIX).
Result<void> unlink_mapped(const Mapping& m, UnlinkMode how = UnlinkMode::if_ours);
// A fresh random name that did not exist when checked.
std::string random_name();
// A formatted in-memory segment (memfd), not visible in /dev/shm.
Result<MappingPtr> create_in_memory(std::uint64_t size);

// Identity of this process for the segment header: pid and start time (clock ticks since boot).
std::uint64_t process_start_time(pid_t pid);  // 0 if the process does not exist
// True if pid runs and its start time agrees with start_time on the bits of start_mask (all of them
// by default; a participant records only the low 32 bits, and 0 when it could not read its own).
// A zombie (exited, not yet reaped) counts as dead: it can never touch the segment again. This one
// predicate decides both a creator's and a participant's liveness.
bool process_alive(std::uint32_t pid, std::uint64_t start_time, std::uint64_t start_mask = ~std::uint64_t{0});

}  // namespace amx
