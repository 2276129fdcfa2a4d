// TLSF size-class mapping (Masmano et al.): first level = power of two, second level = SL_LOG2 bits
// below the top bit; sizes below SMALL are spread linearly over first level 0.
//
//   mapping_insert(s): the class a free block of size s is filed under (rounds down).
//   mapping_search(s): the first class whose every block holds s (rounds up), so any block found
//                      at or above it fits without looking at its size (fixes U3).
// The last class (FL_COUNT-1, SL_COUNT-1) also holds every larger size (the overflow class), and
// mapping_search returns it when no class guarantees a fit, so a block popped from it must still be
// checked against the request. With DefaultGeometry no size is clamped into it (every size below
// 2^32 has its own class), but it is the search class of every block size above 15 x 2^28 bytes.
#pragma once
#include <bit>
#include <cstdint>

#include "amx/layout/geometry.hpp"

namespace amx {

template <Geometry G>
struct SizeClasses {
    static constexpr std::uint32_t SL_COUNT = 1u << G::SL_LOG2;
    static constexpr std::uint32_t CLASS_COUNT = G::FL_COUNT * SL_COUNT;
    static constexpr std::uint32_t OVERFLOW_CLASS = CLASS_COUNT - 1;
    static constexpr std::uint32_t SHIFT = G::SL_LOG2 + G::ALIGN_LOG2;
    static constexpr std::uint64_t SMALL = std::uint64_t{1} << SHIFT;

    // Class index of size s, clamped to the overflow class.
    static constexpr std::uint32_t mapping_insert(std::uint64_t s) noexcept {
        if (s < SMALL) return static_cast<std::uint32_t>(s >> G::ALIGN_LOG2);
        const std::uint32_t m = 63 - static_cast<std::uint32_t>(std::countl_zero(s));
        const std::uint32_t fl = m - SHIFT + 1;
        if (fl >= G::FL_COUNT) return OVERFLOW_CLASS;
        const auto sl = static_cast<std::uint32_t>(s >> (m - G::SL_LOG2)) - SL_COUNT;
        return fl * SL_COUNT + sl;
    }

    // First class guaranteed to hold s; the overflow class when none is guaranteed.
    static constexpr std::uint32_t mapping_search(std::uint64_t s) noexcept {
        if (s > (std::uint64_t{1} << 62)) return OVERFLOW_CLASS;  // round-up below must not wrap
        if (s >= SMALL) {
            const std::uint32_t m = 63 - static_cast<std::uint32_t>(std::countl_zero(s));
            s += (std::uint64_t{1} << (m - G::SL_LOG2)) - 1;
        } else {
            s += (std::uint64_t{1} << G::ALIGN_LOG2) - 1;
        }
        return mapping_insert(s);
    }

    // Largest size filed under class c (the overflow class: every size), as a 32-bit bound.
    static constexpr std::uint32_t class_max(std::uint32_t c) noexcept {
        if (c >= OVERFLOW_CLASS) return 0xFFFFFFFFu;
        const std::uint64_t next = class_min(c + 1);
        return next > 0xFFFFFFFFull ? 0xFFFFFFFFu : static_cast<std::uint32_t>(next - 1);
    }

    // Smallest size filed under class c (for the checker and the fuzzers).
    static constexpr std::uint64_t class_min(std::uint32_t c) noexcept {
        const std::uint32_t fl = c / SL_COUNT, sl = c % SL_COUNT;
        if (fl == 0) return std::uint64_t{sl} << G::ALIGN_LOG2;
        return (std::uint64_t{SL_COUNT} + sl) << (fl - 1 + G::ALIGN_LOG2);
    }
};

}  // namespace amx
