// Concurrent scenarios, written once and run under every policy:
//   tests/scenario_test.cpp (StdAtomicPolicy, real threads), model/ (Relacy), fuzz/ (schedules).
//
// A scenario is a struct template over <P, G> with:
//   static constexpr int THREADS;               number of threads
//   static constexpr std::uint32_t BLOCKS;      minimal blocks in the segment (capacity derives)
//   void setup(Env<P,G>&);                      single-threaded, before the threads start
//   void thread(Env<P,G>&, int i);              the body of thread i
//   void check(Env<P,G>&, Outcome&);            single-threaded, after every thread finished
// or, for a scenario that builds its heap itself (static constexpr bool RAW), setup_raw / thread_raw /
// check_raw over the zeroed memory. State shared between setup, threads and check lives in the
// scenario's plain members; threads write only their own members (indexed by i), so the members
// themselves never race. run.hpp runs one; registry.def lists them all.
#pragma once
#include <cstdint>

#include "env.hpp"
#include "steps.hpp"

namespace amx::scenario {

// Two threads free physically adjacent blocks at the same time (both orders are explored by the
// scheduler). Afterwards no block is lost: free everything, heal, one block.
template <AtomicPolicy P, Geometry G>
struct FreeFreeAdjacent {
    static constexpr int THREADS = 2;
    static constexpr std::uint32_t BLOCKS = 4;
    std::uint32_t b[3]{};
    bool ok_setup = false, freed[2]{};

    void setup(Env<P, G>& e) { ok_setup = allocate_n(e, b, 16); }
    void thread(Env<P, G>& e, int i) { freed[i] = static_cast<bool>(e.heap.free(b[i])); }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup allocations");
        o.expect(freed[0] && freed[1], "both frees succeed");
        verify_and_reclaim(e, o, {b[2]});
    }
};

// Two threads allocate from the same class at once; each fills its block; patterns survive and the
// blocks are distinct.
template <AtomicPolicy P, Geometry G>
struct AllocAlloc {
    static constexpr int THREADS = 2;
    static constexpr std::uint32_t BLOCKS = 4;
    std::uint32_t got[2]{};

    void setup(Env<P, G>&) {}
    void thread(Env<P, G>& e, int i) {
        const auto who = static_cast<std::uint32_t>(i + 1);
        got[i] = allocate_held(e, 16, who, who);
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(got[0] != 0 && got[1] != 0, "both allocations succeed (segment has room)");
        o.expect(got[0] != got[1], "distinct blocks");
        for (int i = 0; i < 2; ++i) o.expect(got[i] == 0 || e.check_fill(got[i], static_cast<std::uint32_t>(i + 1)), "fill intact");
        o.expect_clean(e.verify());
    }
};

// Thread 0 allocates (splitting the big free block) while thread 1 frees the block to its left.
template <AtomicPolicy P, Geometry G>
struct AllocVsFreeNeighbour {
    static constexpr int THREADS = 2;
    static constexpr std::uint32_t BLOCKS = 5;
    std::uint32_t left = 0, got = 0;
    bool freed = false;

    void setup(Env<P, G>& e) {
        auto r = e.heap.allocate(16);
        if (r) left = *r;
    }
    void thread(Env<P, G>& e, int i) {
        if (i == 0) {
            got = allocate_held(e, 16, 1, 7);
        } else {
            freed = static_cast<bool>(e.heap.free(left));
        }
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(left != 0 && freed, "setup and free");
        o.expect(got != 0, "allocation succeeds");
        o.expect(got == 0 || e.check_fill(got, 7), "fill intact");
        verify_and_reclaim(e, o, {got});
    }
};

// A double free racing the legitimate free: exactly one succeeds, nothing is corrupted.
template <AtomicPolicy P, Geometry G>
struct DoubleFreeRace {
    static constexpr int THREADS = 2;
    static constexpr std::uint32_t BLOCKS = 4;
    std::uint32_t b[2]{};
    bool ok_setup = false, freed[2]{};

    void setup(Env<P, G>& e) { ok_setup = allocate_n(e, b, 16); }
    void thread(Env<P, G>& e, int i) { freed[i] = static_cast<bool>(e.heap.free(b[0])); }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup allocations");
        o.expect(freed[0] != freed[1], "exactly one free succeeds");
        verify_and_reclaim(e, o, {b[1]});
    }
};

}  // namespace amx::scenario

// More scenarios, one file per protocol area.
#include "handoff.hpp"  // IWYU pragma: export
#include "heap_ops.hpp"  // IWYU pragma: export
#include "lists.hpp"     // IWYU pragma: export
#include "recovery.hpp"  // IWYU pragma: export
#include "slots.hpp"     // IWYU pragma: export
#include "unlink.hpp"    // IWYU pragma: export
