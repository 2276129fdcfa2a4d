// FreeCensus: which free neighbours a block has just before it is freed, and the fewest serialising
// RMWs a free protocol of this core's family would need for that mix (issue 15's "<= 2 RMW per
// free" target). The family: issue 15's items 1 (coalesce on every free, both sides) and 4 (a stale
// or double free refused exactly) kept, and free blocks published on list heads that every thread
// changes (this core's per-class lists).
//
// The bound counts, per free, only RMWs that no design of that family can avoid:
//   - claim, 1: two frees of one handle may race, and exactly one may win (item 4); a plain store
//     cannot decide between them.
//   - publish, 1: the freed bytes must become reachable from a list head that other threads push
//     to and pop from at the same time. Outside the family: a per-thread cache skips this (and
//     item 1's coalescing on every free with it); a slot that only the freeing thread fills could
//     publish with a plain store, others taking from it with a CAS (a protocol not designed here).
//   - a listed right neighbour R, 1 more unless that same CAS can publish too: R belongs to its list,
//     so taking it off changes the head word or a listed predecessor's link (an RMW). One CAS can
//     both take R and publish B+R only if R is its list's head and B+R belongs in R's class
//     ("replaced at the head": a head CAS {R} -> {B+R}, a protocol we do not have).
//   - a listed left neighbour L costs nothing more if L could grow over B in place with one CAS on
//     its header, standing for the publication (also a protocol we do not have; today L is popped
//     or unlinked and the merged block pushed).
// So: none, left only, right replaced at the head: 2; right otherwise, both sides: 3. Optimistic by
// construction (two operations nobody has designed, no bitmap RMW): a design of the family needs at
// least this.
//
// Read with relaxed loads while no other thread runs: exact only with one thread, which is the only
// way amx_atomic_count takes it. free_census_test checks the classification on laid-out heaps.
#pragma once
#include <cstdint>

#include "amx/core/context.hpp"

namespace amxb {

struct FreeCensus {
    std::uint64_t frees = 0;
    std::uint64_t none = 0;                   // no free neighbour
    std::uint64_t left_only = 0;              // the left neighbour is free, the right one is not
    std::uint64_t right_only_replaceable = 0; // the right one only; it heads its list, B+R in its class
    std::uint64_t right_only_other = 0;       // the right one only, anywhere else
    std::uint64_t both = 0;                   // both neighbours are free

    // Fewest serialising RMWs per free for this mix (see above); 0 if nothing was counted.
    double rmw_lower_bound() const {
        if (frees == 0) return 0;
        return (2.0 * (none + left_only + right_only_replaceable) + 3.0 * (right_only_other + both)) / double(frees);
    }

    // Counts the live block at h, about to be freed. Ctx: the heap's amx::Context.
    template <class Ctx>
    void count(const Ctx& c, std::uint32_t h) {
        ++frees;
        const std::uint32_t size = c.size_w(h).load(Ctx::Policy::relaxed);
        const std::uint32_t r = h + size;
        const bool right = c.plausible_block(r) && is_free(c, r);  // not past the last block
        const std::uint32_t l = c.prev_w(h).load(Ctx::Policy::relaxed);
        const bool left = l != 0 && l < h && c.plausible_block(l) && is_free(c, l) &&
                          l + c.size_w(l).load(Ctx::Policy::relaxed) == h;
        if (left && right) {
            ++both;
        } else if (left) {
            ++left_only;
        } else if (right) {
            ++(replaceable_at_head(c, r, size) ? right_only_replaceable : right_only_other);
        } else {
            ++none;
        }
    }

private:
    template <class Ctx>
    static bool is_free(const Ctx& c, std::uint32_t b) {
        return c.state(b) == amx::STATE_FREE;
    }
    // R heads the list it is filed under, and the merged block would be filed under the same class.
    template <class Ctx>
    static bool replaceable_at_head(const Ctx& c, std::uint32_t r, std::uint32_t size) {
        const std::uint32_t cls = c.hint_w(r).load(Ctx::Policy::relaxed);
        if (cls >= Ctx::Map::CLASS_COUNT) return false;
        if (amx::unpack_head(c.head_w(cls).load(Ctx::Policy::relaxed)).offset != r) return false;
        return Ctx::Map::mapping_insert(size + c.size_w(r).load(Ctx::Policy::relaxed)) == cls;
    }
};

}  // namespace amxb
