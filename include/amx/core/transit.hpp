// Transit: how the allocator knows that free memory is not missing but merely held.
//
// A popped block is invisible to everyone else until its popper publishes it again (allocated,
// pushed back, or merged and pushed). An allocator that searched, found nothing, and said
// out_of_memory would be wrong whenever another participant held the only fitting block for a
// moment: one big free block is popped by every allocation that splits it (U15).
//
// Every operation that may pop raises a transit counter before its first pop and lowers it after
// its last publication. Counters are sharded over TRANSIT_SHARDS cache lines, chosen by thread, so
// participants rarely share a line. The out-of-memory decision (Heap::decisive_miss) requires the
// total to be only its own 1, before and after a full scan.
//
// TR1: at quiescence every counter is 0 (verify). A participant that dies inside an operation leaves
// its count raised; allocation then reports contention instead of out_of_memory until recover().
#pragma once
#include <cstdint>

#include "amx/core/context.hpp"

namespace amx {

template <class C>
class Transit {
    using P = typename C::Policy;
    using L = typename C::Layout;

public:
    explicit Transit(const C& ctx) : c_(ctx), shard_(pick_shard()) {}
    Transit(const Transit&) = delete;
    ~Transit() { leave(); }

    void enter() {
        if (entered_) return;
        entered_ = true;
        bump(1);  // @TR.enter: published by the release half of our first pop (@FL.pop.cas)
    }
    void leave() {
        if (!entered_) return;
        entered_ = false;
        bump(~0u);  // -1; @TR.leave release inside: our publications happen-before it
    }
    std::uint32_t own() const noexcept { return entered_ ? 1 : 0; }

    // Sum of every shard. @TR.total acquire: pairs with @TR.leave (what a finished operation
    // published is visible after we see its counter lowered).
    std::uint32_t total() const {
        std::uint32_t sum = 0;
        for (std::uint32_t s = 0; s < L::TRANSIT_SHARDS; ++s) sum += c_.transit_w(s).load(P::acquire);
        return sum;
    }

private:
    void bump(std::uint32_t delta) {
        auto w = c_.transit_w(shard_);
        std::uint32_t seen = w.load(P::relaxed);
        // @TR.leave release (on the decrement): pairs with @TR.total acquire.
        while (!w.cas_weak(seen, seen + delta, P::release, P::relaxed)) P::spin_hint();
    }
    static std::uint32_t pick_shard() {
        static thread_local const char anchor = 0;
        const auto a = reinterpret_cast<std::uintptr_t>(&anchor);
        return static_cast<std::uint32_t>((a >> 6) ^ (a >> 12)) % L::TRANSIT_SHARDS;
    }

    const C& c_;
    std::uint32_t shard_;
    bool entered_ = false;
};

}  // namespace amx
