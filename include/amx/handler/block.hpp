// Block<T>: a typed handle to an allocated block, holding its payload offset (u32, relative to the
// segment base, so it means the same block in every process) and the allocation's generation. The
// header sits BLOCK_HEADER_SIZE bytes before the payload.
#pragma once
#include <cstdint>
#include <type_traits>

#include "amx/layout/block_header.hpp"

namespace amx {

inline constexpr std::size_t MAX_BLOCK_ALIGN = 16;

template <class T>
concept Storable = std::is_trivially_copyable_v<T> && alignof(T) <= MAX_BLOCK_ALIGN;

template <class T>
struct Block {
    static_assert(Storable<T>, "blocks hold trivially copyable types aligned to at most 16 bytes");
    std::uint32_t offset = 0;  // payload offset from the segment base
    // The allocation's generation (docs/PROTOCOL.md §9): once the block is freed and its memory
    // allocated again, free, the state calls and block_at refuse this handle (invalid_offset).
    // 0: unchecked (a handle built from an offset alone; only liveness is checked).
    std::uint32_t generation = 0;

    std::uint32_t header_offset() const noexcept { return offset - BLOCK_HEADER_SIZE; }
    friend bool operator==(const Block&, const Block&) = default;
};

}  // namespace amx
