// Fuzz input decoding and failure reporting shared by the targets.
//
// ByteReader hands out the input a byte at a time and returns 0 once it is used up, so every input
// decodes to some program (libFuzzer's mutations never produce "invalid" inputs, only short ones).
// fail() prints what the target was doing and aborts: libFuzzer and the replay runner both treat the
// abort as the crash, and the printed program is the reproduction.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace amx::fuzz {

class ByteReader {
public:
    ByteReader(const std::uint8_t* data, std::size_t size) : p_(data), end_(data + size) {}
    bool empty() const noexcept { return p_ >= end_; }
    std::size_t left() const noexcept { return empty() ? 0 : static_cast<std::size_t>(end_ - p_); }
    std::uint8_t u8() noexcept { return empty() ? 0 : *p_++; }
    std::uint16_t u16() noexcept {
        const std::uint16_t lo = u8();
        return static_cast<std::uint16_t>(lo | (std::uint16_t{u8()} << 8));
    }
    std::uint32_t u32() noexcept {
        const std::uint32_t lo = u16();
        return lo | (std::uint32_t{u16()} << 16);
    }
    std::uint64_t u64() noexcept {
        const std::uint64_t lo = u32();
        return lo | (std::uint64_t{u32()} << 32);
    }
    const std::uint8_t* rest() const noexcept { return p_; }

private:
    const std::uint8_t* p_;
    const std::uint8_t* end_;
};

// Prints the failure with the program that led to it, then aborts (the fuzzer's crash signal).
[[noreturn]] inline void fail(const char* target, const std::string& program, const std::string& why) {
    std::fprintf(stderr, "\n==== amx fuzz target '%s' FAILED ====\n%s\n---- program ----\n%s---- end ----\n",
                 target, why.c_str(), program.c_str());
    std::fflush(stderr);
    std::abort();
}

inline std::string strf(const char* fmt, auto... args) {
    if constexpr (sizeof...(args) == 0) {
        return fmt;
    } else {
        char buf[512];
        std::snprintf(buf, sizeof buf, fmt, args...);
        return buf;
    }
}

}  // namespace amx::fuzz
