// Context: one attached segment as the core sees it. It knows words at offsets: the immutable
// geometry read at attach (never re-read from the segment), typed access to header words, and the
// checks every offset read from the segment passes before it is followed ("wild" until checked).
#pragma once
#include <cstdint>

#include "amx/core/mapping.hpp"
#include "amx/layout/block_header.hpp"
#include "amx/layout/segment_header.hpp"
#include "amx/policy/concept.hpp"

namespace amx {

template <AtomicPolicy P, Geometry G>
struct Context {
    using Policy = P;
    using Geo = G;
    using Memory = typename P::Memory;
    using Layout = ControlLayout<G>;
    using Map = SizeClasses<G>;
    static constexpr std::uint32_t ALIGN = Layout::ALIGN;
    static constexpr std::uint32_t MIN_BLOCK = Layout::MIN_BLOCK;
    static constexpr std::uint32_t HEADER = BLOCK_HEADER_SIZE;

    Memory mem;
    std::uint32_t first = 0;     // first block header offset
    std::uint32_t end = 0;       // capacity: one past the last block
    std::uint32_t nonce32 = 0;   // low half of the segment nonce

    auto word(std::uint32_t block, std::uint32_t field) const { return mem.u32(block + field); }
    auto size_w(std::uint32_t b) const { return word(b, hdr::SIZE); }
    // The state pair {state, generation}: one 64-bit word (layout/block_header.hpp). Every access
    // to a block's state or generation goes through it, never through a 32-bit half.
    auto pair_w(std::uint32_t b) const { return mem.u64(b + hdr::STATE_PAIR); }
    auto prev_w(std::uint32_t b) const { return word(b, hdr::PREV_PHYS); }
    auto next_w(std::uint32_t b) const { return word(b, hdr::NEXT_FREE); }
    auto check_w(std::uint32_t b) const { return word(b, hdr::CHECK); }
    auto hint_w(std::uint32_t b) const { return word(b, hdr::LIST_HINT); }
    auto heal_token_w(std::uint32_t b) const { return word(b, hdr::HEAL_TOKEN); }
    auto allocated_by_w(std::uint32_t b) const { return word(b, hdr::ALLOCATED_BY); }  // = hint_w: live blocks
    auto head_w(std::uint32_t cls) const { return mem.u64(Layout::head(cls)); }
    auto fl_w() const { return mem.u32(Layout::FL_BITMAP); }
    auto sl_w(std::uint32_t fl) const { return mem.u32(Layout::sl_bitmap(fl)); }
    auto seg_w(std::uint32_t field) const { return mem.u32(field); }

    // Relaxed accesses only: an ordered access is written at its site in the core (the model and
    // docs/ORDERINGS.md name an ordering by the line of its atomic operation).
    StatePair pair(std::uint32_t b) const { return unpack_pair(pair_w(b).load(P::relaxed)); }
    std::uint32_t state(std::uint32_t b) const { return pair(b).state; }
    // Sets the state of a block the caller owns; the block keeps its generation (a freed block
    // keeps it until it is allocated again). Published by whatever hands the block on.
    void set_owned_state(std::uint32_t b, std::uint32_t state) const {
        pair_w(b).store(pack_pair({state, pair(b).generation}), P::relaxed);
    }

    std::uint32_t expected_check(std::uint32_t b) const noexcept { return header_check(b, nonce32); }

    // A header offset that could name a block: aligned, inside the data area, room for a minimal
    // block before the end.
    bool plausible_block(std::uint32_t b) const noexcept {
        return b >= first && b % ALIGN == 0 && b < end && end - b >= MIN_BLOCK;
    }
    // A size read from the header at b that keeps the block inside the segment.
    bool plausible_size(std::uint32_t b, std::uint32_t size) const noexcept {
        return size >= MIN_BLOCK && size % ALIGN == 0 && size <= end - b;
    }
    // b's header carries its check word (HD1). b must be a plausible block (the word is inside).
    bool has_check_word(std::uint32_t b) const { return check_w(b).load(P::relaxed) == expected_check(b); }
    // A genuine header: a plausible offset whose header carries its check word. Offsets inside a
    // payload, stale ones whose header was absorbed, and forged ones are refused.
    bool genuine_header(std::uint32_t b) const { return plausible_block(b) && has_check_word(b); }
    // A link: 0 (none) or a plausible block.
    bool plausible_link(std::uint32_t b) const noexcept { return b == 0 || plausible_block(b); }
    // Bound for every walk over blocks: the most blocks the data area can hold.
    std::uint32_t max_blocks() const noexcept { return (end - first) / MIN_BLOCK + 1; }

    // Writes a fresh header at b (the caller owns the memory).
    void write_header(std::uint32_t b, std::uint32_t size, std::uint32_t state,
                      std::uint32_t prev) const {
        size_w(b).store(size, P::relaxed);
        pair_w(b).store(pack_pair({state, 0}), P::relaxed);
        prev_w(b).store(prev, P::relaxed);
        next_w(b).store(0, P::relaxed);
        check_w(b).store(expected_check(b), P::relaxed);
        hint_w(b).store(0, P::relaxed);
        heal_token_w(b).store(0, P::relaxed);
    }
    // Erases a header that has been absorbed into its left neighbour (the caller owns both).
    void kill_header(std::uint32_t b) const {
        check_w(b).store(0, P::relaxed);
        pair_w(b).store(pack_pair({STATE_COALESCING, 0}), P::relaxed);
        size_w(b).store(0, P::relaxed);
        heal_token_w(b).store(0, P::relaxed);
    }
};

// Head words: {tag : high 32 bits, offset : low 32 bits}; the tag counts modulo 2^TAG_BITS.
struct Head {
    std::uint32_t offset;
    std::uint32_t tag;
};
constexpr std::uint64_t pack_head(Head h) noexcept {
    return (std::uint64_t{h.tag} << 32) | h.offset;
}
constexpr Head unpack_head(std::uint64_t w) noexcept {
    return Head{static_cast<std::uint32_t>(w), static_cast<std::uint32_t>(w >> 32)};
}
template <Geometry G>
constexpr std::uint32_t next_tag(std::uint32_t tag) noexcept {
    if constexpr (G::TAG_BITS >= 32) {
        return tag + 1;
    } else {
        return (tag + 1) & ((1u << G::TAG_BITS) - 1);
    }
}

}  // namespace amx
