// Free lists: one lock-free LIFO (Treiber stack) per size class, linked through the blocks'
// next_free words, with 64-bit {tag, offset} heads against ABA (U8).
//
// Ownership: a FREE block on a list is owned by the list. Popping it (pop, pop_if_head, detach)
// transfers ownership to the popper; pushing transfers it back. Nobody else writes a listed block,
// and a listed block is never absorbed into another (FL1: every listed block is a genuine header).
//
// Invariants: FL1 listed => genuine header; FL2 listed => state FREE; FL3 listed once;
// FL4 filed under mapping_insert(size); FL5 lists are acyclic and end in 0; TG1 every successful CAS
// on a head increments its tag.
//
// Race prevented (model scenario `aba_three_threads`):
//   T1 pop reads head {X,t}, next(X) = Y.        T2 pops X, pops Y, pushes X (X.next = Z).
//   T1's CAS expects {X,t} but the head is {X,t+3}: it fails, so Y (now owned by T2) is never
//   installed as the head. Without the tag the CAS succeeds and the head points at an owned block.
#pragma once
#include <cstdint>

#include "amx/core/bitmaps.hpp"
#include "amx/core/context.hpp"
#include "amx/core/transit.hpp"

namespace amx {

enum class PopStatus { got, empty, contended, corrupt };

struct PopResult {
    PopStatus status;
    std::uint32_t block;  // valid when status == got
};

template <class C>
class FreeLists {
    using P = typename C::Policy;
    using G = typename C::Geo;

public:
    static constexpr int MAX_POP_TRIES = 64;
    static constexpr int MAX_PUSH_TRIES = 1 << 16;

    // `transit`: the calling operation's transit slot, which announces every block before it is
    // taken (core/transit.hpp); null only where no other participant runs (format, recover).
    explicit FreeLists(const C& ctx, Transit<C>* transit = nullptr) : c_(ctx), bits_(ctx), transit_(transit) {}

    // Publishes block b (owned by the caller, state already FREE) on list cls. Every write the
    // caller made to b and to b's right neighbour's prev_phys is published by the release CAS.
    // Returns false only if the CAS failed MAX_PUSH_TRIES times; b then stays FREE and unlisted
    // ("stranded"), which recover() re-lists.
    bool push(std::uint32_t cls, std::uint32_t b) const {
        c_.hint_w(b).store(cls, P::relaxed);
        auto head = c_.head_w(cls);
        std::uint64_t seen = head.load(P::relaxed);
        for (int i = 0; i < MAX_PUSH_TRIES; ++i) {
            const Head h = unpack_head(seen);
            c_.next_w(b).store(h.offset, P::relaxed);
            // @FL.push.cas seq_cst: release pairs with @FL.pop.head / @FL.detach acquire (the
            // block's header and link are visible to whoever takes it); seq_cst puts the push in
            // S before our bit test (bitmaps.hpp: a clearer's @BM.recheck.head sees it, or we see
            // the cleared bit).
            if (head.cas_weak(seen, pack_head({b, next_tag<G>(h.tag)}), P::seq_cst, P::relaxed)) {
                bits_.mark_nonempty(cls);
                return true;
            }
            P::spin_hint();
        }
        return false;
    }

    PopResult pop(std::uint32_t cls) const { return pop_matching(cls, 0); }

    // Pops b only if it is the head of list cls (used to claim a free neighbour for merging).
    bool pop_if_head(std::uint32_t cls, std::uint32_t b) const {
        return pop_matching(cls, b).status == PopStatus::got;
    }

    // Takes the whole list at once (heal). Returns its first block, 0 if empty.
    std::uint32_t detach(std::uint32_t cls) const {
        auto head = c_.head_w(cls);
        std::uint64_t seen = head.load(P::relaxed);
        for (int i = 0; i < MAX_PUSH_TRIES; ++i) {
            const Head h = unpack_head(seen);
            if (h.offset == 0) return 0;
            announce(cls);
            // @FL.detach acq_rel: acquire pairs with @FL.push.cas (we own the chain's contents);
            // release pairs with @FL.pop.head and @TR.scan's head readings, so whoever sees the
            // emptied list also sees our transit announcement (Transit::hold) and heal counter.
            if (head.cas_weak(seen, pack_head({0, next_tag<G>(h.tag)}), P::acq_rel, P::relaxed)) {
                return h.offset;
            }
            P::spin_hint();
        }
        return 0;
    }

    const Bitmaps<C>& bitmaps() const { return bits_; }

private:
    // One CAS loop for both pops: want == 0 pops whatever is on top, otherwise only `want`.
    PopResult pop_matching(std::uint32_t cls, std::uint32_t want) const {
        auto head = c_.head_w(cls);
        for (int i = 0; i < MAX_POP_TRIES; ++i) {
            // @FL.pop.head acquire: pairs with @FL.push.cas release (the block's header and its
            // next link are visible before we read them).
            std::uint64_t seen = head.load(P::acquire);
            const Head h = unpack_head(seen);
            if (h.offset == 0) return {PopStatus::empty, 0};
            if (want != 0 && h.offset != want) return {PopStatus::empty, 0};
            if (!c_.plausible_block(h.offset)) return {PopStatus::corrupt, h.offset};
            // Speculative: h.offset may be popped and reused by now; the tagged CAS below only
            // succeeds if the head is still {h.offset, h.tag}, i.e. the value is current.
            const std::uint32_t next = c_.next_w(h.offset).load(P::relaxed);
            if (!c_.plausible_link(next)) {
                // @FL.pop.recheck relaxed RMW (it writes back the value it reads): an RMW reads the
                // head's latest value, where a load may read a stale one and take a block reused
                // since for corruption (model scenario pop_vs_reuse). Still `seen` (same tag, TG1):
                // no push or pop came after the value @FL.pop.head synchronised with, so the
                // implausible link is the one the block's pusher published: corruption, not a race.
                if (head.fetch_or(0, P::relaxed) == seen) return {PopStatus::corrupt, h.offset};
                P::spin_hint();
                continue;  // the value was garbage because the block moved on: retry
            }
            announce(cls);
            // @FL.pop.cas release: publishes our transit announcement (Transit::hold): whoever sees
            // the list without this block then sees it announced (@TR.scan, Heap::decisive_miss).
            // No acquire: the CAS succeeds only on `seen`, tag included, and every head CAS writes
            // a new tag (TG1), so it reads the very store @FL.pop.head read with acquire
            // (docs/PROTOCOL.md §10).
            if (head.cas_weak(seen, pack_head({next, next_tag<G>(h.tag)}), P::release, P::relaxed)) {
                return {PopStatus::got, h.offset};
            }
            P::spin_hint();
        }
        return {PopStatus::contended, 0};
    }

    // Before taking blocks of class cls: announce them in our transit slot.
    void announce(std::uint32_t cls) const {
        if (transit_ != nullptr) transit_->hold(C::Map::class_max(cls));
    }

    const C& c_;
    Bitmaps<C> bits_;
    Transit<C>* transit_;
};

}  // namespace amx
