// Scenarios on removal from the middle of a list (core/unlink.hpp, PROTOCOL.md §7): free claiming a
// free neighbour that is listed but not the head, racing another free, pops and pushes of the same
// list, and heal. TinyGeometry's MERGE_WALK is 2: a neighbour at depth 2 is found, one at depth 3
// is left to heal.
#pragma once
#include <cstddef>
#include <cstdint>

#include "lists.hpp"

namespace amx::scenario {

// Setup of the deep-neighbour scenarios: the blocks b0.. all allocated, then b0 and b3 freed (they
// touch nothing free), so class 0 lists b3 b0: b0, b1's left neighbour, is at depth 2.
template <class E, std::size_t N>
bool list_b0_at_depth_2(E& env, std::uint32_t (&b)[N]) {
    return take_all(env, b) && env.heap.free(b[0]) && env.heap.free(b[3]);
}

// Six minimal blocks b0..b5, all allocated; b0 and b3 freed, so class 0 lists b3 b0 (b0 at depth
// 2). T0 frees b1, whose left neighbour b0 is not the head of its list; T1 frees b2, between b1 and
// b3. Whatever the interleaving, T0 takes b0 off the list and absorbs b1 into it: the only other
// party that could hold class 0 detached (T1) does so only after T0 published b1, i.e. after T0's
// merge. Every block comes back: free the rest, heal, one block.
template <AtomicPolicy P, Geometry G>
struct FreeFreeDeep {
    static constexpr int THREADS = 2;
    static constexpr std::uint32_t BLOCKS = 6;
    std::uint32_t b[BLOCKS]{};
    bool ok_setup = false, freed[THREADS]{};

    void setup(Env<P, G>& e) { ok_setup = list_b0_at_depth_2(e, b); }
    void thread(Env<P, G>& e, int i) {
        if (ok_setup) freed[i] = static_cast<bool>(e.heap.free(b[1 + i]));
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup");
        o.expect(freed[0] && freed[1], "both frees succeed");
        o.expect(e.ctx().size_w(b[0]).load(P::relaxed) >= 2 * ControlLayout<G>::MIN_BLOCK,
                 "b0 (listed at depth 2) absorbed b1: the free took it off its list");
        verify_and_reclaim(e, o, {b[4], b[5]});
    }
};

// Removal from the middle racing a pop and a push on the same list. Class 0 lists b1 b0; T0 takes
// b0 (depth 2) with Unlinker::take, holds it and pushes it back; T1 pops a block, holds it and pushes
// it back, or, finding the list empty (T0 holds it detached), clears the class's bitmap bit as a
// searcher does; T2 pushes b2. No block is owned twice, every fill survives, all three blocks end
// listed once and the class's bit is set (BM1: the splice re-marks it).
template <AtomicPolicy P, Geometry G>
struct UnlinkVsPopPush {
    static constexpr int THREADS = 3;
    static constexpr std::uint32_t BLOCKS = 4;
    static constexpr std::uint32_t CLS = Env<P, G>::MIN_CLASS;
    std::uint32_t b[BLOCKS]{};
    bool ok_setup = false, taken = false, alone[THREADS]{true, true, true}, fill_ok[THREADS]{true, true, true};

    void setup(Env<P, G>& e) {
        ok_setup = list_two(e, b, CLS);
        if (!ok_setup) return;
        alone[2] = e.hold(b[2], 3, 3);  // T2's block, pushed by T2
        e.ctx().set_owned_state(b[2], STATE_FREE);  // published by T2's push
    }
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        const auto lists = e.lists();
        if (i == 0) {
            taken = Unlinker<typename Env<P, G>::H::Ctx>(e.ctx(), lists).take(CLS, b[0]);
            if (taken) alone[0] = e.hold(b[0], 1, 1);
            if (taken) give_block(e, lists, CLS, 1, b[0], fill_ok[0]);
        } else if (i == 1) {
            const PopResult p = lists.pop(CLS);
            if (p.status == PopStatus::empty) lists.bitmaps().mark_maybe_empty(CLS);
            if (p.status != PopStatus::got) return;
            alone[1] = e.hold(p.block, 2, 2) && alone[1];
            give_block(e, lists, CLS, 2, p.block, fill_ok[1]);
        } else {
            give_block(e, lists, CLS, 3, b[2], fill_ok[2]);
        }
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup allocations");
        o.expect_each(alone, "a block had two owners");
        o.expect_each(fill_ok, "a held block's fill was overwritten");
        expect_listed(e, o, 3, "every block is listed again, once");
        o.expect(e.lists().bitmaps().find_from(0) == CLS, "a search finds the class (BM1)");
    }
};

// Removal from the middle racing heal, which detaches every list too. b0..b5 allocated, b0 and b3
// freed (class 0: b3 b0); T0 heals while T1 frees b1, whose left neighbour b0 is at depth 2. Each
// of them merges only blocks it owns: the heap verifies clean (no block left COALESCING, listed
// twice or lost) and everything freed heals to one block.
template <AtomicPolicy P, Geometry G>
struct UnlinkVsHeal {
    static constexpr int THREADS = 2;
    static constexpr std::uint32_t BLOCKS = 6;
    std::uint32_t b[BLOCKS]{};
    bool ok_setup = false, freed = false;

    void setup(Env<P, G>& e) { ok_setup = list_b0_at_depth_2(e, b); }
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        if (i == 0) e.heap.heal();
        else freed = static_cast<bool>(e.heap.free(b[1]));
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup");
        o.expect(freed, "free succeeds");
        verify_and_reclaim(e, o, {b[2], b[4], b[5]});
    }
};

// The splice's bit test against a searcher's clear (bitmaps.hpp, "Protocol"; @CO.splice). Class 0
// lists b1 b0 and its bit is set; T0 takes b0 (detach, unlink, splice b1 back) and keeps it; T1
// pops class 0 and, finding it empty (T0 holds it detached), clears the bit as a searcher does, or
// gets b1 and pushes it back. The list ends non-empty, so its bit must be set (BM1): a splice that
// read the bit set after T1 had cleared it, and a T1 re-check that missed the splice, lose it.
template <AtomicPolicy P, Geometry G>
struct SpliceVsClear {
    static constexpr int THREADS = 2;
    static constexpr std::uint32_t BLOCKS = 3;
    static constexpr std::uint32_t CLS = Env<P, G>::MIN_CLASS;
    std::uint32_t b[BLOCKS]{};
    bool ok_setup = false, taken = false;

    void setup(Env<P, G>& e) { ok_setup = list_two(e, b, CLS); }
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        const auto lists = e.lists();
        if (i == 0) {
            taken = Unlinker<typename Env<P, G>::H::Ctx>(e.ctx(), lists).take(CLS, b[0]);
            return;
        }
        const PopResult p = lists.pop(CLS);
        if (p.status == PopStatus::empty) lists.bitmaps().mark_maybe_empty(CLS);
        if (p.status == PopStatus::got) lists.push(CLS, p.block);
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup allocations");
        o.expect(taken, "T0 took b0 (at depth 2, within MERGE_WALK)");
        // Before anything is pushed again (a push would set the bit and hide a lost one).
        o.expect(e.lists().bitmaps().find_from(0) == CLS, "a search finds the class (BM1)");
        if (taken) list_block(e, b[0], CLS);
        expect_listed(e, o, 2, "both blocks are listed again, once");
    }
};

}  // namespace amx::scenario
