// Errors: one enum for every failure the library reports, a std::error_category for it, and Error,
// the value carried by tl::expected: the code plus the detail a person needs (the value found, and
// for mismatches the value expected).
#pragma once
#include <cstdint>
#include <string>
#include <system_error>

#include <tl/expected.hpp>

namespace amx {

enum class Errc : int {
    // allocation
    out_of_memory = 1,    // no free block fits: after heal, every list that could hold one was empty
                          // at two readings and no live thread announced one (PROTOCOL.md §6)
    contention = 2,       // retries exhausted while a live participant held a fitting block
    invalid_size = 3,     // 0, or more than the segment can ever hold
    // blocks and states
    reserved_status = 10,    // a state below USER_STATE_MIN where only user states are allowed
    transition_failed = 11,  // the block was not in the expected state; detail = actual state
    invalid_offset = 12,     // not a live block (foreign, misaligned, inside a block, double free)
    type_too_large = 13,     // block_at<T>: the block is smaller than T
    corrupted = 14,          // the segment violates an invariant the operation depends on
    // segment lifecycle
    unlink_failed = 20,
    invalid_name = 21,
    name_too_long = 22,
    already_exists = 23,
    not_found = 24,
    foreign_owner = 25,
    insecure_mode = 26,
    not_regular_file = 27,
    bad_magic = 28,
    version_mismatch = 29,
    layout_mismatch = 30,
    header_corrupted = 31,
    size_mismatch = 32,
    init_timeout = 33,
    stale_init = 34,
    init_failed = 35,
    no_space = 36,
    system_error = 37,  // an unexpected errno; detail = errno
    not_ours = 38,         // die(): the file at the name is not the segment we mapped
    symlink = 39,          // the name is a symbolic link (never followed)
    permission_denied = 40,  // the file exists but this process may not open it; detail = errno
    read_only = 41,          // a writing call through a read-only view (MatrixHandler::observe);
                             // nothing was written
};

const std::error_category& amx_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept { return {static_cast<int>(e), amx_category()}; }

const char* errc_name(Errc e) noexcept;

struct Error {
    Errc code{};
    std::uint64_t found = 0;     // the value observed (state, errno, size, ...)
    std::uint64_t expected = 0;  // for mismatches, the value that was required
    std::string context{};       // e.g. the path or name involved

    std::error_code error_code() const noexcept { return make_error_code(code); }
    std::string message() const;
    friend bool operator==(const Error& a, Errc b) noexcept { return a.code == b; }
};

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(Errc e, std::uint64_t found = 0, std::uint64_t expected = 0) {
    return tl::unexpected<Error>(Error{e, found, expected, {}});
}

}  // namespace amx

template <>
struct std::is_error_code_enum<amx::Errc> : std::true_type {};
