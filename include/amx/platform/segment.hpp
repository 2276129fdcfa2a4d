// Backends: where a segment's bytes live. Not part of the core (which knows words at offsets only).
//   - POSIX shared memory (/dev/shm/amx.<name>): create, attach, create-or-attach, unlink.
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

// One mapping of a segment into this process. Unmaps (and closes) on destruction.
class Mapping {
public:
    Mapping(std::byte* base, std::size_t size, int fd, std::string name) noexcept
        : base_(base), size_(size), fd_(fd), name_(std::move(name)) {}
    ~Mapping();
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;

    std::byte* base() const noexcept { return base_; }
    std::size_t size() const noexcept { return size_; }
    // The validated name (without prefix); empty for in-memory segments.
    const std::string& name() const noexcept { return name_; }
    // Maps the same segment again at another address.
    Result<std::shared_ptr<Mapping>> map_again() const;

private:
    std::byte* base_;
    std::size_t size_;
    int fd_;
    std::string name_;
};

using MappingPtr = std::shared_ptr<Mapping>;

struct SegmentOptions {
    mode_t mode = 0600;                                   // 0660 is the only other accepted mode
    std::chrono::milliseconds attach_timeout{2000};       // bounded wait for READY
};

// Names: [A-Za-z0-9._-]{1,MAX_NAME_LENGTH}, not "." or "..".
Result<void> validate_name(std::string_view name);
std::string shm_path(std::string_view name);  // "/amx.<name>"

// Creates and formats a new segment; fails with already_exists if the name is taken.
Result<MappingPtr> create_segment(std::string_view name, std::uint64_t size, const SegmentOptions& o = {});
// Attaches to an existing, READY segment; never resizes it.
Result<MappingPtr> attach_segment(std::string_view name, const SegmentOptions& o = {});
// Attaches if the name exists, otherwise creates; exactly one of many racing callers formats.
Result<MappingPtr> create_or_attach(std::string_view name, std::uint64_t size, const SegmentOptions& o = {});
// Removes the name. "Not found" counts as success. Existing mappings stay valid (POSIX).
Result<void> unlink_segment(std::string_view name);
// A fresh random name that did not exist when checked.
std::string random_name();
// A formatted in-memory segment (memfd), not visible in /dev/shm.
Result<MappingPtr> create_in_memory(std::uint64_t size);

// Identity of this process for the segment header: pid and start time (clock ticks since boot).
std::uint64_t process_start_time(pid_t pid);  // 0 if the process does not exist
bool process_alive(std::uint32_t pid, std::uint64_t start_time);

}  // namespace amx
