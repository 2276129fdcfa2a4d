// Transit: how the allocator knows that free memory is not missing but merely held.
//
// A popped block is invisible to everyone else until its popper publishes it again (allocated,
// pushed back, or merged and pushed). An allocator that searched, found nothing, and said
// out_of_memory would be wrong whenever another participant held a fitting block for a moment
// (U15). So every thread announces what it holds, in a slot of its own (docs/PROTOCOL.md §6):
//
//   slot i (i < TRANSIT_SLOTS): one 64-byte line; owner word (u64) at +0, hold word (u64) at +8.
//     owner: 0 = free, else {participant (registry slot + 1) : high 32, claimer token : low 32}.
//     hold:  {count : high 32, held : low 32}. `held` is an upper bound of the size of every block
//            the thread holds (popped or detached, not yet published), 0 when it holds nothing;
//            `count` counts the allocations made through the slot (it makes block generations).
//   the overflow line (index TRANSIT_SLOTS), for threads that found no free slot:
//     hold: {count : high 32, holders : low 32}, changed by fetch_add.
//
// A slot has one writer (the thread that claimed it), so announcing is a plain store, not an RMW:
//   hold(bound)  before a pop or detach from a list whose blocks are at most `bound` bytes: a
//                store, published by the release half of that pop's or detach's CAS
//                (@FL.pop.cas, @FL.detach): whoever sees the list without the block also sees
//                the announcement.
//   leave()      after the last publication: `held` back to 0 (and the new count), @TR.leave
//                release: whoever reads the cleared word sees what we published.
// A caller that holds nothing writes nothing, so it can veto nobody (issue 15: the failure cliff).
//
// The out-of-memory decision (Heap::decisive_miss) reads every slot (@TR.scan, acquire) between
// two readings of the heads; vetoed() says whether another live thread announces a block of at
// least `need` bytes (or holds anything on the overflow line). TR1: at quiescence every `held` and
// the overflow holders are 0 (verify).
#pragma once
#include <cstdint>

#include "amx/core/context.hpp"

namespace amx {

inline constexpr std::uint32_t GENERATION_COUNT_BITS = 24;
inline constexpr std::uint32_t GENERATION_COUNT_MASK = (1u << GENERATION_COUNT_BITS) - 1;

// A live block's generation: {slot index + 1 : 8, allocation count of that slot mod 2^24 : 24}.
// Never 0 (0 names "unchecked" in a Block built from an offset alone).
constexpr std::uint32_t make_generation(std::uint32_t slot, std::uint32_t count) noexcept {
    return ((slot + 1) << GENERATION_COUNT_BITS) | (count & GENERATION_COUNT_MASK);
}

template <class C>
class Transit {
    using P = typename C::Policy;
    using L = typename C::Layout;

public:
    static constexpr std::uint32_t OVERFLOW_SLOT = L::TRANSIT_SLOTS;
    static_assert(L::TRANSIT_SLOTS + 1 < 256, "the slot index + 1 is the generation's top byte");

    Transit(const C& ctx, std::uint32_t slot) : c_(ctx), slot_(slot) {}
    Transit(const Transit&) = delete;
    ~Transit() { leave(); }

    // Announces that we are about to take blocks of at most `bound` bytes. The release half of the
    // CAS that takes them (@FL.pop.cas, @FL.detach) publishes it to whoever sees them taken.
    // Release of its own, too: a decider that reads this store rather than our earlier cleared
    // word (@TR.leave) must still see what our previous operation published before it cleared (in
    // C++20 a later relaxed store of ours would not carry that; in Relacy's C++11 release
    // sequences it would, so no model scenario fails without it: docs/PROTOCOL.md §10).
    void hold(std::uint32_t bound) {
        if (bound <= held_) return;
        if (slot_ == OVERFLOW_SLOT) {
            // @TR.hold.overflow relaxed (one more holder): a decider that reads a holder it does
            // not count as its own vetoes, whatever it sees; the pop's CAS publishes the increment
            // to whoever sees the block taken, and as an RMW it continues the release sequence
            // of every earlier @TR.leave.overflow (docs/PROTOCOL.md §10).
            if (held_ == 0) overflow_w().fetch_add(1, P::relaxed);
        } else {
            // @TR.hold release: pairs with @TR.scan, as above.
            hold_w(slot_).store(pack(count(), bound), P::release);
        }
        held_ = bound;
    }
    // Lowers the announced bound to `bound` (at least every held block's size): the decisive
    // attempt, after draining a class whose blocks do not fit, announces what it really holds, so
    // two deciders never veto each other (PROTOCOL.md §6).
    void settle(std::uint32_t bound) {
        if (slot_ == OVERFLOW_SLOT || held_ == 0 || bound >= held_) return;
        held_ = bound == 0 ? 1 : bound;
        hold_w(slot_).store(pack(count(), held_), P::release);  // @TR.settle release: as @TR.hold
    }
    // The generation of the block this operation allocates (called once, before @AL.publish).
    std::uint32_t generation() {
        allocated_ = true;
        if (slot_ == OVERFLOW_SLOT) {
            return make_generation(slot_, static_cast<std::uint32_t>(overflow_w().fetch_add(ONE_COUNT, P::relaxed) >> 32) + 1);
        }
        return make_generation(slot_, count() + 1);
    }
    // Clears our announcement after our last publication.
    void leave() {
        if (held_ == 0 && !allocated_) return;
        if (slot_ == OVERFLOW_SLOT) {
            // @TR.leave.overflow release: pairs with @TR.scan.overflow (one holder less).
            if (held_ != 0) overflow_w().fetch_add(~std::uint64_t{0}, P::release);
        } else {
            // @TR.leave release: pairs with @TR.scan acquire (a decider that reads the cleared
            // word sees every block we published: the push, or the allocation).
            hold_w(slot_).store(pack(count() + (allocated_ ? 1 : 0), 0), P::release);
            count_loaded_ = false;
        }
        held_ = 0;
        allocated_ = false;
    }
    std::uint32_t held() const noexcept { return held_; }
    std::uint32_t slot() const noexcept { return slot_; }

    // Whether another thread announces a block of at least `need` bytes, or a thread without a
    // slot (other than us) holds anything. A slot whose participant is gone (its registry word
    // cleared, or `alive` says dead) is ignored: what it held is lost until recover(), not in
    // transit. On the overflow line we count ourselves out: the line counts holders, one of them
    // us if we hold anything.
    template <class Alive>
    bool vetoed(std::uint32_t need, const Alive& alive) const {
        for (std::uint32_t i = 0; i < L::TRANSIT_SLOTS; ++i) {
            if (i == slot_) continue;
            // @TR.scan acquire: pairs with @TR.leave (a cleared word: its publications are visible).
            const auto held = static_cast<std::uint32_t>(hold_w(i).load(P::acquire));
            if (held < need) continue;
            if (owner_alive(c_, i, alive)) return true;
        }
        const std::uint32_t ours = slot_ == OVERFLOW_SLOT && held_ != 0 ? 1 : 0;
        // @TR.scan.overflow acquire: pairs with @TR.leave.overflow, as @TR.scan.
        return static_cast<std::uint32_t>(overflow_w().load(P::acquire)) > ours;
    }

    static auto owner_w(const C& c, std::uint32_t i) { return c.mem.u64(L::TRANSIT + 64 * i); }
    static auto hold_w(const C& c, std::uint32_t i) { return c.mem.u64(L::TRANSIT + 64 * i + 8); }
    static auto overflow_w(const C& c) { return hold_w(c, OVERFLOW_SLOT); }
    static std::uint32_t owner_participant(std::uint64_t owner) noexcept { return static_cast<std::uint32_t>(owner >> 32); }

private:
    static constexpr std::uint64_t ONE_COUNT = std::uint64_t{1} << 32;
    static std::uint64_t pack(std::uint32_t count, std::uint32_t held) noexcept {
        return (std::uint64_t{count} << 32) | held;
    }
    auto hold_w(std::uint32_t i) const { return hold_w(c_, i); }
    auto overflow_w() const { return overflow_w(c_); }
    // Our slot's allocation count: only we write the word, so a relaxed load reads our last store.
    std::uint32_t count() {
        if (!count_loaded_) {
            count_ = static_cast<std::uint32_t>(hold_w(slot_).load(P::relaxed) >> 32);
            count_loaded_ = true;
        }
        return count_;
    }
    template <class Alive>
    static bool owner_alive(const C& c, std::uint32_t i, const Alive& alive) {
        // A policy that names each thread's slot (the model checker) claims none: all are in use.
        if constexpr (requires { P::thread_slot(); }) return true;
        const std::uint64_t owner = owner_w(c, i).load(P::relaxed);
        if (owner == 0) return false;  // a free slot holds nothing: garbage in its hold word
        const std::uint32_t p = owner_participant(owner);
        if (p == 0) return true;  // an unregistered user of the core: trusted
        if (p > L::REGISTRY_SLOTS) return false;  // garbage
        const std::uint64_t reg = c.mem.u64(L::REGISTRY + 8 * (p - 1)).load(P::relaxed);
        return reg != 0 && alive(reg);
    }

    const C& c_;
    std::uint32_t slot_;
    std::uint32_t held_ = 0;
    std::uint32_t count_ = 0;
    bool count_loaded_ = false;
    bool allocated_ = false;
};

}  // namespace amx
