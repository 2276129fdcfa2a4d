// The physical chain walk: the one loop over the blocks by their sizes, from the first block to the
// segment's end. verify() (check/verify.hpp), recover() (core/recover.hpp), stats()
// (check/walker.hpp) and the tools all walk through walk_chain(), and all name why a walk stopped
// with chain_fault().
//
// Sizes and offsets read from the segment are wild until checked (U26). At each block b:
//   1. bound: at most max_blocks() blocks, or the chain is longer than the segment can hold (CH1);
//   2. b's header must fit before the end (plausible_block) before any word of it is read (CH1;
//      IMG-1: a size 16 bytes short of the end leads to a "header" that straddles it);
//   3. b's check word (HD1): a walk that rewrites from what it reads stops at a header without it;
//      a walk that only reports may pass it on to on_block (genuine = false) and go on;
//   4. b's size must be >= MIN_BLOCK, aligned and keep the block inside the segment (SZ1) before
//      the walk follows it to b + size.
// Every word is a relaxed load through the policy. Since each size keeps its block inside the
// segment, a walk that does not stop ends exactly at the end: the blocks tile the data area (CH1).
// On a quiescent segment the walk is exact; on a live one it is a best-effort snapshot (a split or
// merge under way may stop it early, never make it read outside the segment).
#pragma once
#include <cstdint>

#include "amx/core/context.hpp"

namespace amx {

// Why a walk stopped. Only at_end means the chain is whole.
enum class ChainStop : std::uint8_t {
    at_end,           // the last block ends exactly at the segment's end
    too_long,         // more blocks than the data area can hold (while sizes are checked this
                      // cannot happen: the bound is what keeps a walk finite whatever it reads)
    header_past_end,  // the next header does not fit before the segment's end
    no_check_word,    // a header without its check word (only when the walk stops there)
    bad_size,         // a size below MIN_BLOCK, not aligned, or past the segment's end
};

// What a walk does at a header without its check word.
enum class Unchecked : std::uint8_t {
    stop,  // stop there (recover: nothing may be rewritten from a forged or absorbed header)
    pass,  // hand it to on_block with genuine = false and follow its size (verify, stats)
};

struct ChainBlock {
    std::uint32_t offset, size, state;
    bool genuine;  // the header carries its check word
};

struct ChainEnd {
    ChainStop why = ChainStop::at_end;
    std::uint32_t at = 0;     // offset the walk stopped at (the segment's end when at_end)
    std::uint32_t found = 0;  // bad_size: the size read; header_past_end, at_end: the end; else 0
    bool genuine = true;      // false if the header at `at` was read and lacks its check word
    bool complete() const noexcept { return why == ChainStop::at_end; }
};

// The invariant a stop violates (id as verify() reports it) and its message; id is "" for at_end.
struct ChainFault {
    const char* id;
    const char* what;
};
constexpr ChainFault chain_fault(ChainStop why) noexcept {
    switch (why) {
        case ChainStop::too_long: return {"CH1", "chain longer than the segment can hold"};
        case ChainStop::header_past_end: return {"CH1", "block header does not fit before the segment's end"};
        case ChainStop::no_check_word: return {"HD1", "header check word missing"};
        case ChainStop::bad_size: return {"SZ1", "bad block size"};
        case ChainStop::at_end: break;
    }
    return {"", "the blocks tile the data area"};
}

// Calls on_block(ChainBlock) for every block in address order; returns where and why it stopped.
template <class C, class F>
ChainEnd walk_chain(const C& c, F&& on_block, Unchecked unchecked = Unchecked::stop) {
    using P = typename C::Policy;
    std::uint32_t b = c.first;
    for (std::uint32_t i = 0; b != c.end; ++i) {
        if (i > c.max_blocks()) return {ChainStop::too_long, b, 0};
        if (!c.plausible_block(b)) return {ChainStop::header_past_end, b, c.end};
        const bool genuine = c.has_check_word(b);
        if (!genuine && unchecked == Unchecked::stop) return {ChainStop::no_check_word, b, 0, false};
        const std::uint32_t size = c.size_w(b).load(P::relaxed);
        if (!c.plausible_size(b, size)) return {ChainStop::bad_size, b, size, genuine};
        on_block(ChainBlock{b, size, c.state(b), genuine});
        b += size;
    }
    return {ChainStop::at_end, b, c.end};
}

}  // namespace amx
