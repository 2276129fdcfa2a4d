// Coalescing: merging a block the caller owns with its free physical neighbours.
//
// Jargon. "Absorb R into B": B grows by R's size and R's header becomes interior (killed). Only a
// block the caller owns and that is on no list is ever absorbed (H2), and the survivor is owned too.
//
// Invariants:
//   CH1 the blocks tile [first, end): each block starts where its left neighbour ends.
//   BL1 every block's prev_phys names its left neighbour (0 for the first block).
//   CO1 after heal, at quiescence, no two adjacent FREE blocks.
//
// Why every access below hits a genuine header (H1):
//   - While we own B, B's right neighbour R = B + size(B) is a header: a block is only absorbed
//     into its left neighbour, by the owner of that neighbour, which is us.
//   - A free neighbour is claimed by taking it off its list: popped if it is the head
//     (pop_if_head), else unlinked from the list's chain after detaching the whole list
//     (Unlinker::take, unlink.hpp). Either way it is a genuine header (FL1) and ours. Before that we
//     only read its words (speculatively) and never write them.
//   - B's left neighbour L is found through prev_phys, which L's owner may rewrite at any time (a
//     split or an absorb of L). We therefore check adjacency after owning L: L + size(L) == B. With
//     both owned, the boundary cannot move.
//   - prev_phys of a block W is written only by the owner of W's left neighbour, always before
//     that owner publishes (pushes or hands out) anything, so no late store lands on reused memory.
//
// Race prevented (model scenario `alloc_split_vs_free_right`):
//   T1 frees A, reads prev_phys(A) = L.   T2 allocates L and splits it into L | M, M pushed, and
//   sets prev_phys(A) = M. T1 pops M (M is A's neighbour now: merge) or fails to pop L (allocated):
//   either way it never writes into L, which belongs to T2's user.
#pragma once
#include <cstdint>

#include "amx/core/context.hpp"
#include "amx/core/free_list.hpp"
#include "amx/core/unlink.hpp"

namespace amx {

template <class C>
class Coalescer {
    using P = typename C::Policy;
    using Map = typename C::Map;

public:
    Coalescer(const C& ctx, const FreeLists<C>& lists) : c_(ctx), lists_(lists), unlink_(ctx, lists) {}

    // Claims B's free right neighbour and absorbs it. B is owned by the caller.
    bool absorb_right(std::uint32_t b) const {
        const std::uint32_t size = c_.size_w(b).load(P::relaxed);
        const std::uint32_t r = b + size;
        if (!c_.plausible_block(r)) return false;  // b is the last block (or the chain is corrupt)
        if (c_.state(r) != STATE_FREE) return false;
        const std::uint32_t cls = c_.hint_w(r).load(P::relaxed);
        if (!claim(cls, r)) return false;
        const std::uint32_t rsize = c_.size_w(r).load(P::relaxed);  // ours since the claim
        if (!c_.plausible_size(r, rsize)) {
            lists_.push(cls, r);  // leave it as found; verify() reports the bad size
            return false;
        }
        join(b, size, r, rsize);
        return true;
    }

    // Claims B's free left neighbour L and absorbs B into it. Returns the survivor (L or B).
    std::uint32_t merge_left(std::uint32_t b) const {
        const std::uint32_t l = c_.prev_w(b).load(P::relaxed);
        if (l == 0 || l >= b || !c_.plausible_block(l)) return b;
        // Speculative reads: l may no longer be a header; claim validates (only a listed block,
        // a genuine header, can be taken off a list).
        if (c_.state(l) != STATE_FREE) return b;
        const std::uint32_t cls = c_.hint_w(l).load(P::relaxed);
        if (!claim(cls, l)) return b;
        const std::uint32_t lsize = c_.size_w(l).load(P::relaxed);  // ours since the claim
        if (!c_.plausible_size(l, lsize) || l + lsize != b) {
            lists_.push(cls, l);  // stale prev_phys: L is not our neighbour any more
            return b;
        }
        join(l, lsize, b, c_.size_w(b).load(P::relaxed));
        return l;
    }

    // Merges B (owned, unlisted) with everything it can claim on both sides; returns the survivor.
    // Alternates until neither side makes progress: popping the left neighbour can uncover the
    // right one at the head of its list (property P5, ascending frees; docs/verification/prop.md F2).
    std::uint32_t coalesce(std::uint32_t b) const {
        for (std::uint32_t i = 0; i < c_.max_blocks(); ++i) {
            bool progress = false;
            while (absorb_right(b)) progress = true;  // each success removes a block: bounded
            const std::uint32_t s = merge_left(b);
            if (s != b) {
                b = s;
                progress = true;
            }
            if (!progress) break;
        }
        return b;
    }

    // Publishes an owned block as FREE on the list of its size.
    bool publish_free(std::uint32_t b) const {
        c_.heal_token_w(b).store(0, P::relaxed);
        c_.set_owned_state(b, STATE_FREE);  // published by @FL.push.cas
        return lists_.push(Map::mapping_insert(c_.size_w(b).load(P::relaxed)), b);
    }

private:
    // Takes free block n off list cls (read from n's list_hint, speculatively): popped if it is the
    // head, else unlinked if it is among the list's first MERGE_WALK blocks. True: n is ours.
    bool claim(std::uint32_t cls, std::uint32_t n) const {
        return cls < Map::CLASS_COUNT && (lists_.pop_if_head(cls, n) || unlink_.take(cls, n));
    }

    // Absorbs `right` into `left`; both owned, adjacent, unlisted.
    void join(std::uint32_t left, std::uint32_t lsize, std::uint32_t right, std::uint32_t rsize) const {
        const std::uint32_t w = right + rsize;
        if (w < c_.end) c_.prev_w(w).store(left, P::relaxed);  // we own w's left neighbour
        c_.size_w(left).store(lsize + rsize, P::relaxed);
        c_.kill_header(right);
    }

    const C& c_;
    const FreeLists<C>& lists_;
    Unlinker<C> unlink_;
};

}  // namespace amx
