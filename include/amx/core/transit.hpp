// Transit: how the allocator knows that free memory is not missing but merely held.
//
// A popped block is invisible to everyone else until its popper publishes it again (allocated,
// pushed back, or merged and pushed). An allocator that searched, found nothing, and said
// out_of_memory would be wrong whenever another participant held the only fitting block for a
// moment: one big free block is popped by every allocation that splits it (U15).
//
// Every operation that may pop or push (allocate, free, heal) enters transit before its first pop
// and leaves after its last publication. A transit word is 64 bits: {epoch : high 32, active : low
// 32}. Enter adds 1 to active; leave subtracts 1 from active and adds 1 to epoch, in one RMW.
// Words are sharded over TRANSIT_SHARDS cache lines, chosen by thread.
//
// The out-of-memory decision (Heap::decisive_miss) reads a snapshot, scans, and reads again: if no
// other operation was active at either reading and no epoch moved, no other operation touched a
// list in between, so what the scan saw was the whole truth.
//
// TR1: at quiescence every active count is 0 (verify). A participant that dies inside an operation
// leaves its count raised; allocation then reports contention instead of out_of_memory until
// recover() resets the counters.
#pragma once
#include <cstdint>

#include "amx/core/context.hpp"

namespace amx {

struct TransitSnapshot {
    std::uint64_t active = 0;  // operations in transit, summed over shards
    std::uint64_t epochs = 0;  // operations completed, summed over shards (each shard monotone)
    friend bool operator==(const TransitSnapshot&, const TransitSnapshot&) = default;
};

template <class C>
class Transit {
    using P = typename C::Policy;
    using L = typename C::Layout;
    static constexpr std::uint64_t ONE_EPOCH = std::uint64_t{1} << 32;

public:
    explicit Transit(const C& ctx) : c_(ctx), shard_(pick_shard()) {}
    Transit(const Transit&) = delete;
    ~Transit() { leave(); }

    // @TR.enter: published by the release half of our first pop (@FL.pop.cas) or push.
    void enter() {
        if (entered_) return;
        entered_ = true;
        bump(1);
    }
    // @TR.leave release: everything we published happens-before a reader that sees the epoch move.
    void leave() {
        if (!entered_) return;
        entered_ = false;
        bump(ONE_EPOCH - 1);
    }
    std::uint64_t own() const noexcept { return entered_ ? 1 : 0; }

    TransitSnapshot snapshot() const {
        TransitSnapshot s;
        for (std::uint32_t i = 0; i < L::TRANSIT_SHARDS; ++i) {
            // @TR.total acquire: pairs with @TR.leave (and recover's reset, @RC.transit).
            const std::uint64_t w = c_.transit_w(i).load(P::acquire);
            s.active += static_cast<std::uint32_t>(w);
            s.epochs += w >> 32;
        }
        return s;
    }

private:
    // The one RMW of @TR.enter and @TR.leave acq_rel: its release half pairs with @TR.total (a
    // reader that sees our epoch move sees everything we published). Its acquire half pairs with
    // recover's reset (@RC.transit): an operation that starts after a recover sees its rewrite.
    void bump(std::uint64_t delta) { c_.transit_w(shard_).fetch_add(delta, P::acq_rel); }
    // By thread. A policy may name the thread itself (P::thread_slot, optional): the model checker
    // runs every simulated thread on one OS thread, where a thread_local would put them all on one
    // shard, and the shared word would synchronise them in ways two real threads on two shards
    // are not (masking a missing acquire or release elsewhere).
    static std::uint32_t pick_shard() {
        if constexpr (requires { P::thread_slot(); }) {
            return static_cast<std::uint32_t>(P::thread_slot()) % L::TRANSIT_SHARDS;
        }
        static thread_local const char anchor = 0;
        const auto a = reinterpret_cast<std::uintptr_t>(&anchor);
        return static_cast<std::uint32_t>((a >> 6) ^ (a >> 12)) % L::TRANSIT_SHARDS;
    }

    const C& c_;
    std::uint32_t shard_;
    bool entered_ = false;
};

}  // namespace amx
