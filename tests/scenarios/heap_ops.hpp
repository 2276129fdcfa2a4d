// Scenarios on whole heap operations racing each other: split vs free, heal vs allocate and free,
// user-state transitions vs free, and the format/attach handshake.
#pragma once
#include <cstdint>

#include "amx/check/walker.hpp"
#include "lists.hpp"

namespace amx::scenario {

// Thread 0 allocates a minimal block and must split the only free block A (96 bytes) in two, which
// rewrites prev_phys of A's right neighbour R; thread 1 frees R at the same time, and R's free tries
// to merge left through that very prev_phys.
template <AtomicPolicy P, Geometry G>
struct AllocSplitVsFreeRight {
    static constexpr int THREADS = 2;
    static constexpr std::uint32_t BLOCKS = 6;
    std::uint32_t a = 0, r = 0, c = 0, d = 0, got = 0;
    bool ok_setup = false, freed = false;

    void setup(Env<P, G>& e) {
        auto ra = e.heap.allocate(64);  // 96-byte block
        auto rr = e.heap.allocate(16);
        auto rc = e.heap.allocate(16);
        auto rd = e.heap.allocate(64);  // the rest: nothing else is free
        if (!ra || !rr || !rc || !rd) return;
        a = *ra; r = *rr; c = *rc; d = *rd;
        ok_setup = static_cast<bool>(e.heap.free(a));  // A: the only free block
    }
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        if (i == 0) {
            got = allocate_held(e, 16, 1, 11);
        } else {
            freed = static_cast<bool>(e.heap.free(r));
        }
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup");
        o.expect(freed, "free of the right neighbour succeeds");
        o.expect(got != 0, "allocation succeeds (room for it throughout)");
        o.expect(got == 0 || e.check_fill(got, 11), "fill intact");
        verify_and_reclaim(e, o, {got, c, d});
    }
};

// Heal runs while one thread allocates and another frees a block between two free blocks.
template <AtomicPolicy P, Geometry G>
struct HealVsAllocFree {
    static constexpr int THREADS = 3;
    static constexpr std::uint32_t BLOCKS = 5;
    std::uint32_t b[BLOCKS]{};
    std::uint32_t got = 0;
    bool ok_setup = false, freed = false;

    void setup(Env<P, G>& e) {
        ok_setup = take_all(e, b) && e.heap.free(b[0]) && e.heap.free(b[2]);
    }
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        if (i == 0) {
            e.heap.heal();
        } else if (i == 1) {
            got = allocate_held(e, 16, 2, 22);
        } else {
            freed = static_cast<bool>(e.heap.free(b[1]));
        }
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup");
        o.expect(freed, "free succeeds");
        o.expect(got != 0, "allocation succeeds (two free blocks throughout)");
        o.expect(got == 0 || e.check_fill(got, 22), "fill intact");
        verify_and_reclaim(e, o, {got, b[3], b[4]});
    }
};

// User-state transitions race a free of the same block: the free wins or comes after, and a user
// state is never written over a block that is no longer live (U23).
template <AtomicPolicy P, Geometry G>
struct StateVsFree {
    static constexpr int THREADS = 2;
    static constexpr std::uint32_t BLOCKS = 4;
    static constexpr std::uint32_t S1 = 50, S2 = 60;
    std::uint32_t b[2]{};
    bool ok_setup = false, freed = false;

    void setup(Env<P, G>& e) { ok_setup = allocate_n(e, b, 16); }
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        if (i == 0) {
            (void)e.heap.transition_state(b[0], STATE_ALLOCATED, S1);
            (void)e.heap.set_state(b[0], S2);
        } else {
            freed = static_cast<bool>(e.heap.free(b[0]));
        }
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup");
        o.expect(freed, "the free of a live block succeeds whatever its user state");
        o.expect(stats(e.heap).user_state_blocks == 0, "no user state left on a freed block");
        verify_and_reclaim(e, o, {b[1]});
    }
};

// The init handshake: thread 0 formats a zeroed segment while thread 1 tries to attach. An attach
// that reads READY must succeed, and an attach that succeeds must see a usable heap (every header
// word the formatter wrote).
template <AtomicPolicy P, Geometry G>
struct FormatVsAttach {
    static constexpr bool RAW = true;  // the runner neither formats nor builds an Env
    static constexpr int THREADS = 2;
    static constexpr std::uint32_t BLOCKS = 4;
    static constexpr int ATTACH_TRIES = 8;
    bool formatted = false, attached = false, used = false, refused_ready = false;

    void setup_raw(const typename P::Memory&) {}
    void thread_raw(const typename P::Memory& mem, int i) {
        if (i == 0) {
            formatted = static_cast<bool>(Heap<P, G>::format(mem, FormatParams{0xF00D, 1, 1}));
            return;
        }
        for (int k = 0; k < ATTACH_TRIES && !attached; ++k) {
            // A relaxed peek at the init word: it adds no synchronisation, and by coherence the
            // acquire load inside attach reads this value or a later one. So if the peek saw READY,
            // attach saw READY, and @SEG.ready/@SEG.attach must have made the header visible.
            const bool ready = mem.u32(seg::INIT_STATE).load(P::relaxed) == INIT_READY;
            auto h = Heap<P, G>::attach(mem);
            if (!h) {
                if (ready) refused_ready = true;
                P::spin_hint();
                continue;
            }
            attached = true;
            auto a = h->allocate(16);
            used = a && static_cast<bool>(h->free(*a));
        }
    }
    void check_raw(const typename P::Memory& mem, Outcome& o) {
        o.expect(formatted, "format succeeds");
        o.expect(!refused_ready, "attach saw INIT_READY yet refused the header (not published by @SEG.ready)");
        o.expect(!attached || used, "an attached heap allocates and frees");
        auto h = Heap<P, G>::attach(mem);
        o.expect(static_cast<bool>(h), "attach after format succeeds");
        if (h) heal_to_one_block(*h, o);
    }
};

}  // namespace amx::scenario
