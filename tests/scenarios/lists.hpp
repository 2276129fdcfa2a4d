// Scenarios on the free-list and bitmap protocols themselves (free_list.hpp, bitmaps.hpp), driven
// through the real FreeLists / Bitmaps classes over the scenario's heap.
#pragma once
#include <cstdint>

#include "env.hpp"

namespace amx::scenario {

// Allocates every minimal block of the segment (BLOCKS of them, payload 16): nothing stays free.
template <class E, std::size_t N>
bool take_all(E& env, std::uint32_t (&out)[N]) {
    for (auto& b : out) {
        auto r = env.heap.allocate(16);
        if (!r) return false;
        b = *r;
    }
    return true;
}

// Puts an owned block on list cls without coalescing (to build a list of adjacent blocks).
template <class E>
void list_block(E& env, std::uint32_t b, std::uint32_t cls) {
    using P = typename E::H::Ctx::Policy;
    FreeLists<typename E::H::Ctx> lists(env.ctx());
    env.ctx().state_w(b).store(STATE_FREE, P::relaxed);
    lists.push(cls, b);
}

// ABA on a Treiber stack (free_list.hpp, "Race prevented"): three threads pop and push the same
// list. T1 pops two blocks and pushes them back in the other order, so the head returns to a block
// T0 may have read with a stale next link. Every popped block is owned (shadow cells) and filled
// while held; the tag must make T0's stale CAS fail.
template <AtomicPolicy P, Geometry G>
struct AbaThreeThreads {
    static constexpr int THREADS = 3;
    static constexpr std::uint32_t BLOCKS = 4;
    static constexpr std::uint32_t CLS = SizeClasses<G>::insert(ControlLayout<G>::MIN_BLOCK);
    std::uint32_t b[BLOCKS]{};
    bool ok_setup = false;
    bool alone[THREADS]{true, true, true};
    bool fill_ok[THREADS]{true, true, true};
    bool popped_enough[THREADS]{};

    void setup(Env<P, G>& e) {
        ok_setup = take_all(e, b);
        if (!ok_setup) return;
        for (auto x : b) list_block(e, x, CLS);  // list: b3 b2 b1 b0
    }
    std::uint32_t take(Env<P, G>& e, const FreeLists<typename Env<P, G>::H::Ctx>& lists, int i) {
        const PopResult p = lists.pop(CLS);
        if (p.status != PopStatus::got) return 0;
        const auto who = static_cast<std::uint32_t>(i + 1);
        alone[i] = e.own(p.block, who) && alone[i];
        e.fill(p.block, who);
        return p.block;
    }
    void give(Env<P, G>& e, const FreeLists<typename Env<P, G>::H::Ctx>& lists, int i, std::uint32_t x) {
        if (x == 0) return;
        fill_ok[i] = e.check_fill(x, static_cast<std::uint32_t>(i + 1)) && fill_ok[i];
        e.disown(x);
        lists.push(CLS, x);
    }
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        FreeLists<typename Env<P, G>::H::Ctx> lists(e.ctx());
        if (i == 1) {
            const std::uint32_t x = take(e, lists, i), y = take(e, lists, i);
            give(e, lists, i, x);  // x back on top: the head word's offset is x again (ABA)
            give(e, lists, i, y);
            popped_enough[i] = x != 0 && y != 0;
        } else {
            const std::uint32_t x = take(e, lists, i);
            give(e, lists, i, x);
            popped_enough[i] = x != 0;
        }
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup allocations");
        for (int i = 0; i < THREADS; ++i) {
            o.expect(alone[i], "a popped block had a second owner (ABA)");
            o.expect(fill_ok[i], "a held block's fill was overwritten");
        }
        auto r = e.verify();
        o.expect_clean(r);
        o.expect(r.listed == BLOCKS, "every block is back on the list");
    }
};

// A searcher clearing a class's bitmap bit (it found the list empty) races a push into that class
// (bitmaps.hpp, "Protocol"): at quiescence the non-empty list must have its bit (BM1).
template <AtomicPolicy P, Geometry G>
struct BitmapClearVsPush {
    static constexpr int THREADS = 2;
    static constexpr std::uint32_t BLOCKS = 3;
    static constexpr std::uint32_t CLS = SizeClasses<G>::insert(ControlLayout<G>::MIN_BLOCK);
    std::uint32_t b[BLOCKS]{};
    bool ok_setup = false;

    void setup(Env<P, G>& e) { ok_setup = take_all(e, b); }
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        FreeLists<typename Env<P, G>::H::Ctx> lists(e.ctx());
        if (i == 0) {
            e.ctx().state_w(b[1]).store(STATE_FREE, P::relaxed);  // published by the push
            lists.push(CLS, b[1]);
        } else {
            const PopResult p = lists.pop(CLS);
            if (p.status == PopStatus::empty) {
                lists.bitmaps().mark_maybe_empty(CLS);
            } else if (p.status == PopStatus::got) {
                lists.push(CLS, p.block);
            }
        }
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup allocations");
        auto r = e.verify();
        o.expect_clean(r);
        o.expect(r.listed == 1, "the pushed block is listed");
        FreeLists<typename Env<P, G>::H::Ctx> lists(e.ctx());
        o.expect(lists.bitmaps().find_from(0) == CLS, "a search finds the class");
    }
};

}  // namespace amx::scenario
