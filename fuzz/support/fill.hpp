// Payload fill patterns for the single-threaded targets: 8-byte words derived from (tag, index),
// so a stray header store or a block handed out twice breaks a pattern that check_payload finds.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace amx::fuzz {

inline std::uint64_t pattern_word(std::uint32_t tag, std::uint32_t i) {
    std::uint64_t x = (std::uint64_t{tag} << 32 | i) + 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    return x ^ (x >> 31);
}

inline void fill_payload(std::byte* p, std::uint32_t n, std::uint32_t tag) {
    for (std::uint32_t i = 0; i + 8 <= n; i += 8) {
        const std::uint64_t w = pattern_word(tag, i / 8);
        std::memcpy(p + i, &w, 8);
    }
}

inline bool check_payload(const std::byte* p, std::uint32_t n, std::uint32_t tag) {
    for (std::uint32_t i = 0; i + 8 <= n; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        if (w != pattern_word(tag, i / 8)) return false;
    }
    return true;
}

}  // namespace amx::fuzz
