// The 32-byte block header and the block states. The payload starts at header + 32 (the seed's
// contract); a block's size counts its header.
//
// Field ownership (docs/PROTOCOL.md, "Who writes what"):
//   size, state pair (state, generation), next_free, check, list_hint, heal_token: the block's
//   owner (a list, a thread, heal); the users of a live block CAS its state pair (free, the state
//   calls);
//   prev_phys: the owner of the physically previous block (it changes when that block splits or
//              absorbs), or the block's creator.
#pragma once
#include <bit>
#include <cstddef>
#include <cstdint>

namespace amx {

inline constexpr std::uint32_t STATE_FREE = 0;        // owned by a free list, or popped and in transit
inline constexpr std::uint32_t STATE_ALLOCATED = 1;   // owned by the user
inline constexpr std::uint32_t STATE_ACKED = 2;       // being freed; owned by the freeing thread
inline constexpr std::uint32_t STATE_COALESCING = 3;  // popped by a merger, heal or a scan that holds it; owned
inline constexpr std::uint32_t USER_STATE_MIN = 49;   // 4..48 reserved

constexpr bool is_user_state(std::uint32_t s) noexcept { return s >= USER_STATE_MIN; }
// A live block is one the user owns: ALLOCATED or any user state.
constexpr bool is_live_state(std::uint32_t s) noexcept {
    return s == STATE_ALLOCATED || is_user_state(s);
}

struct BlockHeader {
    std::uint32_t size;       // total bytes including this header; multiple of the alignment
    std::uint32_t prev_phys;  // header offset of the physically previous block; 0 = none
    // The state pair: state and generation are one 64-bit atomic word (StatePair below), so every
    // CAS on a block's state also compares the allocation it belongs to (docs/PROTOCOL.md §9).
    std::uint32_t state;      // STATE_* or a user state
    std::uint32_t generation; // the allocation's generation (core/transit.hpp), checked against a
                              // Block's; kept while the block is freed, 0 until first allocated
    std::uint32_t next_free;  // free-list link while listed; 0 = end of list
    std::uint32_t check;      // header_check(offset, nonce) while a header; 0 once absorbed
    std::uint32_t list_hint;  // FREE: class index it was last pushed to (a hint, validated);
                              // live: allocated_by, the allocating participant's registry slot + 1
                              // (recover()), 0 = none
    std::uint32_t heal_token; // heal token while heal owns it; 0 otherwise
};

inline constexpr std::uint32_t BLOCK_HEADER_SIZE = sizeof(BlockHeader);
static_assert(BLOCK_HEADER_SIZE == 32, "the seed's contract: payload = header + 32");

// Offsets of the header words, from the struct (never literals elsewhere).
namespace hdr {
inline constexpr std::uint32_t SIZE = offsetof(BlockHeader, size);
inline constexpr std::uint32_t STATE = offsetof(BlockHeader, state);
inline constexpr std::uint32_t PREV_PHYS = offsetof(BlockHeader, prev_phys);
inline constexpr std::uint32_t NEXT_FREE = offsetof(BlockHeader, next_free);
inline constexpr std::uint32_t CHECK = offsetof(BlockHeader, check);
inline constexpr std::uint32_t LIST_HINT = offsetof(BlockHeader, list_hint);
inline constexpr std::uint32_t HEAL_TOKEN = offsetof(BlockHeader, heal_token);
// One word, two roles by state: the list hint of a FREE block is the allocated_by of a live one.
inline constexpr std::uint32_t ALLOCATED_BY = offsetof(BlockHeader, list_hint);
inline constexpr std::uint32_t GENERATION = offsetof(BlockHeader, generation);
// The state pair's 64-bit word starts at the state field (8-aligned in every 16-aligned header).
inline constexpr std::uint32_t STATE_PAIR = STATE;
}  // namespace hdr
static_assert(hdr::STATE_PAIR % 8 == 0, "the state pair is one aligned 64-bit word");
static_assert(hdr::GENERATION == hdr::STATE + 4, "state and generation are the two halves of the pair");

// A block's state and the generation of its allocation, read and written as one word: the state
// in the half at hdr::STATE, the generation in the half at hdr::GENERATION (so a 32-bit read of
// either field in a byte image, as the oracle tests and `amx` do, sees the same value).
struct StatePair {
    std::uint32_t state = 0;
    std::uint32_t generation = 0;
    friend constexpr bool operator==(StatePair, StatePair) = default;
};
constexpr std::uint64_t pack_pair(StatePair p) noexcept {
    if constexpr (std::endian::native == std::endian::little) {
        return (std::uint64_t{p.generation} << 32) | p.state;
    } else {
        return (std::uint64_t{p.state} << 32) | p.generation;
    }
}
constexpr StatePair unpack_pair(std::uint64_t w) noexcept {
    const auto lo = static_cast<std::uint32_t>(w), hi = static_cast<std::uint32_t>(w >> 32);
    if constexpr (std::endian::native == std::endian::little) {
        return StatePair{lo, hi};
    } else {
        return StatePair{hi, lo};
    }
}

// The check word a genuine header at `offset` carries in a segment with nonce `nonce32`. User
// data that happens to sit where a stale header was is rejected unless it forges this value.
constexpr std::uint32_t header_check(std::uint32_t offset, std::uint32_t nonce32) noexcept {
    std::uint32_t x = (offset * 0x9E3779B1u) ^ nonce32;
    x ^= x >> 15;
    x *= 0x2C1B3C6Du;
    x ^= x >> 12;
    return x | 1u;  // never 0: 0 marks an absorbed header
}

}  // namespace amx
