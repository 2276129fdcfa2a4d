// Removal from the middle of a list: how free claims a free neighbour that is listed in its class
// but is not the head (PROTOCOL.md §7, "Removal from the middle of a list").
//
// A Treiber stack cannot unlink one node in place: the node's predecessor is a listed block, owned
// by the list, and nobody may write it (OWN1). So we take the whole list for a moment:
//   1. detach list c (@FL.detach, one tagged CAS {X,t} -> {0,t+1}): every block of the chain is now
//      ours and a genuine header (FL1), exactly as for heal;
//   2. walk at most MERGE_WALK blocks of the chain looking for N; if found, unlink it (relaxed
//      stores: the chain is ours);
//   3. splice the rest back (splice): one seq_cst CAS (@CO.splice) on a head that is empty. If
//      others pushed meanwhile, take their blocks too (@FL.detach again), link their tail to our
//      chain and try again. Then make sure the bitmap bits are set, as push does: a searcher may
//      have cleared them while the list looked empty (BM1).
// While the chain is detached its blocks are in transit, as a popped block is: the detach announces
// the list's class in free's transit slot (Transit::hold) and @FL.detach's release half publishes it.
//
// Invariants kept: FL1..FL5 (only owned blocks are relinked; the spliced chain is the detached one
// minus N, plus blocks pushed meanwhile), TG1 (every head CAS increments the tag), H2 (N is absorbed
// only once it is on no list: unlinked from a chain we own).
//
// Race prevented (model scenario `unlink_vs_pop_push`):
//   T1 detaches list c = {A, N, Z} to take N.   T2 pops c: it finds c empty (or a block T3 pushed).
//   T3 pushes Y on c meanwhile.                 T1's splice finds {Y}: it detaches Y, links
//   Y -> A -> Z, and publishes that with one CAS on the empty head. No block is lost or listed twice,
//   and T2's pop of a block T1 relinked fails its tagged CAS (the head moved on when T1 detached).
#pragma once
#include <cstdint>

#include "amx/core/context.hpp"
#include "amx/core/free_list.hpp"

namespace amx {

template <class C>
class Unlinker {
    using P = typename C::Policy;
    using G = typename C::Geo;

public:
    // Blocks of a list looked at for a neighbour before it is left to heal: the geometry's
    // G::MERGE_WALK if it names one, else 2048 (chosen by measurement: docs/PROTOCOL.md §7).
    static constexpr std::uint32_t MERGE_WALK = [] {
        if constexpr (requires { G::MERGE_WALK; }) {
            return static_cast<std::uint32_t>(G::MERGE_WALK);
        } else {
            return std::uint32_t{2048};
        }
    }();

    Unlinker(const C& ctx, const FreeLists<C>& lists) : c_(ctx), lists_(lists) {}

    // Takes block n off list cls if it is among the list's first MERGE_WALK blocks. True: n is ours
    // and on no list. Every other block of the list is listed again (or, if the splice gives up,
    // stranded FREE for recover(), as a failed push leaves it).
    bool take(std::uint32_t cls, std::uint32_t n) const {
        std::uint32_t first = lists_.detach(cls);  // 0 if empty: nothing found, nothing to splice
        const bool found = unlink(first, n);
        splice(cls, first);
        return found;
    }

    // Puts the chain starting at `first` (ours, ending in 0) back on list cls.
    bool splice(std::uint32_t cls, std::uint32_t first) const {
        if (first == 0) return true;
        auto head = c_.head_w(cls);
        std::uint64_t seen = head.load(P::relaxed);
        for (int i = 0; i < FreeLists<C>::MAX_PUSH_TRIES; ++i) {
            const Head h = unpack_head(seen);
            if (h.offset != 0) {
                // Pushed since we detached: take those too and put them in front of our chain.
                if (!prepend_newcomers(cls, first)) return false;
                seen = head.load(P::relaxed);
                continue;
            }
            // @CO.splice seq_cst, as @FL.push.cas: release pairs with @FL.pop.head / @FL.detach
            // acquire (our unlink's link stores, and the pushers' writes we took over, are visible
            // to whoever pops or detaches the chain); seq_cst for the bit test after it
            // (bitmaps.hpp). Succeeds only on the empty head seen.
            if (head.cas_weak(seen, pack_head({first, next_tag<G>(h.tag)}), P::seq_cst, P::relaxed)) {
                lists_.bitmaps().mark_nonempty(cls);
                return true;
            }
            P::spin_hint();
        }
        return false;
    }

private:
    // Removes n from the chain at `first` (ours since @FL.detach) if it is within MERGE_WALK blocks.
    bool unlink(std::uint32_t& first, std::uint32_t n) const {
        std::uint32_t prev = 0;
        std::uint32_t b = first;
        for (std::uint32_t i = 0; i < MERGE_WALK && b != 0; ++i) {
            if (!c_.plausible_block(b)) return false;  // corrupted chain: leave it as found
            const std::uint32_t next = c_.next_w(b).load(P::relaxed);
            if (b == n) {
                if (prev == 0) first = next;
                else c_.next_w(prev).store(next, P::relaxed);
                return true;
            }
            prev = b;
            b = next;
        }
        return false;
    }

    // Detaches what was pushed on cls since our detach and links it in front of `first`.
    bool prepend_newcomers(std::uint32_t cls, std::uint32_t& first) const {
        const std::uint32_t front = lists_.detach(cls);  // @FL.detach: their headers are ours
        if (front == 0) return true;                     // popped again meanwhile
        const std::uint32_t tail = chain_tail(front);
        if (tail == 0) return false;  // malformed: both chains stay unlisted, recover() re-lists them
        c_.next_w(tail).store(first, P::relaxed);
        first = front;
        return true;
    }

    // The last block of a chain we own, or 0 if the chain is malformed.
    std::uint32_t chain_tail(std::uint32_t b) const {
        for (std::uint32_t i = 0; i < c_.max_blocks(); ++i) {
            if (!c_.plausible_block(b)) return 0;
            const std::uint32_t next = c_.next_w(b).load(P::relaxed);
            if (next == 0) return b;
            b = next;
        }
        return 0;
    }

    const C& c_;
    const FreeLists<C>& lists_;
};

}  // namespace amx
