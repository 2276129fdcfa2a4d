// Steps the scenarios share: allocations (of a setup, or held by a thread), and the ends of a check
// (the heap clean with n blocks listed; clean, then everything freed and healed into one block).
#pragma once
#include <cstddef>
#include <cstdint>

#include "env.hpp"

namespace amx::scenario {

// Allocates one block of `payload` bytes per entry of out; returns false if any failed.
template <class E, std::size_t N>
bool allocate_n(E& env, std::uint32_t (&out)[N], std::uint32_t payload) {
    for (auto& b : out) {
        auto r = env.heap.allocate(payload);
        if (!r) return false;
        b = *r;
    }
    return true;
}

// Allocates every minimal block of the segment (BLOCKS of them, payload 16): nothing stays free.
template <class E, std::size_t N>
bool take_all(E& env, std::uint32_t (&out)[N]) {
    return allocate_n(env, out, 16);
}

// The heap is clean (quiescent verify) and n blocks are on the free lists.
template <class E>
void expect_listed(const E& env, Outcome& o, std::uint32_t n, const char* what) {
    const VerifyReport r = env.verify();
    o.expect_clean(r);
    o.expect(r.listed == n, what);
}

// Heals a heap whose blocks are all free and expects one FREE block spanning the data.
template <class H>
void heal_to_one_block(H& heap, Outcome& o) {
    heap.heal();
    const VerifyReport r = verify(heap, VerifyMode::after_heal);
    o.expect_clean(r);
    o.expect(r.blocks == 1, "one block after heal");
}

// The end of a heap scenario's check: the heap verifies clean as the threads left it; then every
// block still held (the entries of held, 0 skipped) is freed, and heal_to_one_block.
template <class E, std::size_t N>
void verify_and_reclaim(E& env, Outcome& o, const std::uint32_t (&held)[N]) {
    o.expect_clean(env.verify());
    for (auto h : held) {
        if (h != 0) o.expect(static_cast<bool>(env.heap.free(h)), "free a remaining block");
    }
    heal_to_one_block(env.heap, o);
}

// Allocates a block of `payload` bytes and holds it: owned by `who`, filled with `tag`'s pattern.
// Returns the block, 0 if the allocation failed.
template <class E>
std::uint32_t allocate_held(E& env, std::uint32_t payload, std::uint32_t who, std::uint32_t tag) {
    auto r = env.heap.allocate(payload);
    if (!r) return 0;
    env.hold(*r, who, tag);
    return *r;
}

// The owner word of a slot taken in setup: participant 0 (an unregistered user, trusted), token
// 0xF0: a thread of another process that holds nothing. recover() keeps such slots.
inline constexpr std::uint64_t FOREIGN_OWNER = 0xF0;

// Marks every free transit slot but the last `keep` taken by FOREIGN_OWNER, so the scenario's
// claimers compete for those `keep` (0: every claimer falls on the overflow line). Under a policy
// that names each thread's slot (the model checker, the schedules fuzzer) no thread ever claims
// one; marking them keeps the claimers off the named threads' slots 0, 1, 2.
template <class E>
void take_slots_but(const E& e, std::uint32_t keep) {
    using Ctx = typename E::H::Ctx;
    using P = typename Ctx::Policy;
    for (std::uint32_t i = 0; i + keep < Ctx::Layout::TRANSIT_SLOTS; ++i) {
        auto w = Transit<Ctx>::owner_w(e.ctx(), i);
        if (w.load(P::relaxed) == 0) w.store(FOREIGN_OWNER, P::relaxed);
    }
}

// Clears the bitmap bits of every empty class, as searches would have (setup: exact bitmaps).
template <class E>
void exact_bitmaps(const E& env) {
    using Ctx = typename E::H::Ctx;
    const auto lists = env.lists();
    for (std::uint32_t c = 0; c < Ctx::Map::CLASS_COUNT; ++c) {
        if (unpack_head(env.ctx().head_w(c).load(Ctx::Policy::relaxed)).offset == 0) lists.bitmaps().mark_maybe_empty(c);
    }
}

// Heals begun on the heap so far (its heal serial): a scenario thread waits for an allocator's heal.
template <class E>
std::uint32_t heals(const E& env) {
    return env.ctx().seg_w(seg::HEAL_SERIAL).load(E::H::Ctx::Policy::relaxed);
}

// Gives the CPU away between polls where the policy can (real threads need the other thread to run).
template <AtomicPolicy P>
void give_way() {
    if constexpr (requires { P::yield_thread(); }) {
        P::yield_thread();
    } else {
        P::spin_hint();
    }
}

// A relaxed one-word channel inside a mailbox block the scenario allocated in setup. post and
// wait_for take another ordering where the scenario models a signal that does synchronise (a
// process's death as its reaper sees it: slots.hpp).
template <AtomicPolicy P, Geometry G>
struct Mailbox {
    std::uint32_t block = 0;
    // Allocates the mailbox block through `heap` (setup); false if that failed.
    template <class H>
    bool open(const H& heap) {
        auto m = heap.allocate(16);
        if (m) block = *m;
        return static_cast<bool>(m);
    }
    void post(const Env<P, G>& e, std::uint32_t v, typename P::order o = P::relaxed) const { word(e).store(v, o); }
    // Up to `tries` looks, a spin hint between them; 0 if nothing arrived.
    std::uint32_t receive(const Env<P, G>& e, int tries) const {
        for (int k = 0; k < tries; ++k) {
            if (const std::uint32_t v = word(e).load(P::relaxed); v != 0) return v;
            P::spin_hint();
        }
        return 0;
    }
    // Whether v arrives within `tries` looks; between them the CPU is given away (give_way), so a
    // real thread waiting for a long operation of another gives it time to finish.
    bool wait_for(const Env<P, G>& e, std::uint32_t v, int tries, typename P::order o = P::relaxed) const {
        for (int k = 0; k < tries; ++k) {
            if (word(e).load(o) == v) return true;
            give_way<P>();
        }
        return false;
    }

private:
    auto word(const Env<P, G>& e) const { return e.ctx().mem.u32(block + BLOCK_HEADER_SIZE); }
};

}  // namespace amx::scenario
