// Allocation: TLSF good fit. The request is rounded up to a block size (header counted, U1), the
// search starts at mapping_search (so any block found fits, U3), the head is popped (the pop makes
// it ours, U10), a remainder of at least MIN_BLOCK is split off with the right neighbour's back-link
// updated (U5, U24) and pushed, and the block is published ALLOCATED.
//
// Last resort before giving up: the request's own insert class, whose blocks may or may not fit;
// blocks popped from it that do not fit are held (owned, unlisted) and pushed back at the end. The
// overflow class is handled the same way (a tiny geometry's largest sizes; with DefaultGeometry, the
// search class of block sizes above 15 x 2^28 bytes: mapping.hpp).
//
// Errors (U15), decided by Heap::allocate: invalid_size for 0 or more than the data area;
// out_of_memory only after heal ran, an attempt found nothing without interference (no contended
// pop, no marked-but-empty list), and the decisive attempt (Heap::decisive_miss: an exhaustive
// scan, then the heads read twice around a scan of the transit slots, core/transit.hpp) found no
// fitting block listed or announced; contention when the retries are used up.
#pragma once
#include <cstdint>

#include "amx/core/coalesce.hpp"
#include "amx/core/context.hpp"
#include "amx/core/free_list.hpp"

namespace amx {

enum class FitStatus { got, none, interfered, corrupt };

struct FitResult {
    FitStatus status;
    std::uint32_t block;
};

template <class C>
class Allocator {
    using P = typename C::Policy;
    using Map = typename C::Map;

public:
    Allocator(const C& ctx, const FreeLists<C>& lists, const Coalescer<C>& co)
        : c_(ctx), lists_(lists), co_(co) {}

    // Block size for a payload of n bytes, or 0 if no block of the segment could hold it.
    std::uint32_t block_size_for(std::uint64_t n) const noexcept {
        if (n == 0 || n > c_.end - c_.first) return 0;  // bound first: n + HEADER must not wrap (U22)
        std::uint64_t need = n + C::HEADER;
        need = (need + C::ALIGN - 1) & ~std::uint64_t{C::ALIGN - 1};
        if (need < C::MIN_BLOCK) need = C::MIN_BLOCK;
        if (need > c_.end - c_.first) return 0;
        return static_cast<std::uint32_t>(need);
    }

    // One attempt: good fit from the search class up, then the insert class. Blocks popped that do
    // not fit are left on `held` (owned, linked through next_free); the caller releases them.
    // `exhaustive` visits every class head from the search class up instead of following the
    // bitmaps (whose bits may lag a push): the out-of-memory decision uses it.
    FitResult try_fit(std::uint32_t need, std::uint32_t& held, bool exhaustive = false) const {
        bool interfered = false;
        FitResult r = search_up(Map::mapping_search(need), need, interfered, held, exhaustive);
        if (r.status == FitStatus::none) {
            const std::uint32_t own = Map::mapping_insert(need);
            if (own < Map::mapping_search(need)) r = scan_class(own, need, interfered, held);
        }
        if (r.status == FitStatus::none && interfered) r.status = FitStatus::interfered;
        return r;
    }

    // Pushes every held block back on the list of its size, FREE again (published by the push).
    void release_held(std::uint32_t held) const {
        for (std::uint32_t i = 0; held != 0 && i < c_.max_blocks(); ++i) {
            const std::uint32_t next = c_.next_w(held).load(P::relaxed);
            c_.set_owned_state(held, STATE_FREE);
            lists_.push(Map::mapping_insert(c_.size_w(held).load(P::relaxed)), held);
            held = next;
        }
    }

    // The largest block on the held chain (0 if none).
    std::uint32_t largest_held(std::uint32_t held) const {
        std::uint32_t most = 0;
        for (std::uint32_t i = 0; i < c_.max_blocks() && held != 0; ++i) {
            const std::uint32_t size = c_.size_w(held).load(P::relaxed);  // ours: held
            if (size > most) most = size;
            held = c_.next_w(held).load(P::relaxed);
        }
        return most;
    }

    // Splits the tail off b (owned) if it is big enough, and publishes b as ALLOCATED with
    // generation gen.
    void finish(std::uint32_t b, std::uint32_t need, std::uint32_t gen) const {
        const std::uint32_t size = c_.size_w(b).load(P::relaxed);
        if (size - need >= C::MIN_BLOCK) split(b, size, need);
        // @AL.publish release: pairs with @FR.claim and @ST.load acquire (size and header visible
        // to whoever frees or inspects the block). State and generation change in one store.
        c_.pair_w(b).store(pack_pair({STATE_ALLOCATED, gen}), P::release);
    }

private:
    FitResult search_up(std::uint32_t cls, std::uint32_t need, bool& interfered,
                        std::uint32_t& held, bool exhaustive) const {
        const auto& bits = lists_.bitmaps();
        std::uint32_t drained = Bitmaps<C>::NONE;  // a class we emptied ourselves (held blocks)
        for (std::uint32_t step = 0; step < 2 * Map::CLASS_COUNT + c_.max_blocks(); ++step) {
            if (!exhaustive) cls = bits.find_from(cls);
            if (cls == Bitmaps<C>::NONE || cls >= Map::CLASS_COUNT) return {FitStatus::none, 0};
            const PopResult p = lists_.pop(cls);
            if (p.status == PopStatus::corrupt) return {FitStatus::corrupt, p.block};
            if (p.status == PopStatus::contended) { interfered = true; continue; }
            if (p.status == PopStatus::empty) {
                if (!exhaustive && cls != drained) {
                    interfered = true;  // marked but empty: stale bit, or a heal holds the list
                    bits.mark_maybe_empty(cls);
                }
                ++cls;
                continue;
            }
            if (!popped_intact(p.block)) return {FitStatus::corrupt, p.block};
            const std::uint32_t size = c_.size_w(p.block).load(P::relaxed);  // ours since the pop
            if (size >= need) return {FitStatus::got, p.block};
            hold(p.block, held);  // only the overflow class can hold blocks that do not fit
            drained = cls;
        }
        interfered = true;
        return {FitStatus::none, 0};
    }

    FitResult scan_class(std::uint32_t cls, std::uint32_t need, bool& interfered,
                         std::uint32_t& held) const {
        for (std::uint32_t i = 0; i < c_.max_blocks(); ++i) {
            const PopResult p = lists_.pop(cls);
            if (p.status == PopStatus::corrupt) return {FitStatus::corrupt, p.block};
            if (p.status == PopStatus::contended) { interfered = true; return {FitStatus::none, 0}; }
            if (p.status == PopStatus::empty) return {FitStatus::none, 0};
            if (!popped_intact(p.block)) return {FitStatus::corrupt, p.block};
            const std::uint32_t size = c_.size_w(p.block).load(P::relaxed);  // ours since the pop
            if (size >= need) return {FitStatus::got, p.block};
            hold(p.block, held);
        }
        return {FitStatus::none, 0};
    }

    // A popped block is ours: on a sound heap it is FREE (FL2) with a plausible size. Anything else
    // means a corrupted segment, including a list that hands out one block twice (a cycle): the
    // first pop marked it held (COALESCING), so the second sees it is not FREE. Without that check
    // the block would be held twice, its next link would be overwritten by its first push-back, and
    // release_held would follow whatever the list head was (fuzz regression img-4).
    bool popped_intact(std::uint32_t b) const {
        return c_.state(b) == STATE_FREE &&
               c_.plausible_size(b, c_.size_w(b).load(P::relaxed));
    }

    // Held: owned, unlisted, COALESCING (transient; recover() makes it FREE if we die holding it).
    void hold(std::uint32_t b, std::uint32_t& held) const {
        c_.set_owned_state(b, STATE_COALESCING);
        c_.next_w(b).store(held, P::relaxed);
        held = b;
    }

    void split(std::uint32_t b, std::uint32_t size, std::uint32_t need) const {
        const std::uint32_t m = b + need;
        const std::uint32_t w = b + size;
        c_.write_header(m, size - need, STATE_COALESCING, b);  // m is inside b: ours
        if (w < c_.end) c_.prev_w(w).store(m, P::relaxed);    // we own w's left neighbour
        c_.size_w(b).store(need, P::relaxed);
        co_.absorb_right(m);
        co_.publish_free(m);  // @FL.push.cas publishes m's header and prev_phys(w)
    }

    const C& c_;
    const FreeLists<C>& lists_;
    const Coalescer<C>& co_;
};

}  // namespace amx
