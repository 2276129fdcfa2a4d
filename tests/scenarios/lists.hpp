// Scenarios on the free-list and bitmap protocols themselves (free_list.hpp, bitmaps.hpp), driven
// through the real FreeLists / Bitmaps classes over the scenario's heap.
#pragma once
#include <array>
#include <cstdint>
#include <initializer_list>

#include "env.hpp"
#include "steps.hpp"

namespace amx::scenario {

// Puts an owned block on list cls without coalescing (to build a list of adjacent blocks).
template <class E>
void list_block(E& env, std::uint32_t b, std::uint32_t cls) {
    const auto lists = env.lists();
    env.ctx().set_owned_state(b, STATE_FREE);
    lists.push(cls, b);
}

// Pops one block of cls and holds it: owned (shadow cells) and filled with the thread's pattern.
// Returns the block, 0 if the pop did not get one.
template <class E, class Lists>
std::uint32_t take_block(E& env, const Lists& lists, std::uint32_t cls, std::uint32_t who, bool& alone) {
    const PopResult p = lists.pop(cls);
    if (p.status != PopStatus::got) return 0;
    alone = env.hold(p.block, who, who) && alone;
    return p.block;
}

// Gives a held block back: its fill must be intact, then it is disowned and pushed on cls.
template <class E, class Lists>
void give_block(E& env, const Lists& lists, std::uint32_t cls, std::uint32_t who, std::uint32_t b, bool& fill_ok) {
    if (b == 0) return;
    fill_ok = env.check_fill(b, who) && fill_ok;
    env.disown(b);
    lists.push(cls, b);
}

// Setup of the two-block list scenarios: every block allocated, then b0 and b1 listed (b1 on top).
template <class E, std::size_t N>
bool list_two(E& env, std::uint32_t (&b)[N], std::uint32_t cls) {
    if (!take_all(env, b)) return false;
    list_block(env, b[0], cls);
    list_block(env, b[1], cls);
    return true;
}

// End of the two-block list scenarios: each held block {block, filler} (0 = none) must still hold
// its filler's pattern and goes back on the list; then the heap is clean with both blocks listed.
template <class E>
void relist_and_verify(E& env, Outcome& o, std::uint32_t cls, std::initializer_list<std::array<std::uint32_t, 2>> held) {
    const auto lists = env.lists();
    for (const auto& [b, who] : held) {
        if (b == 0) continue;
        o.expect(env.check_fill(b, who), "a held block's fill was overwritten");
        lists.push(cls, b);
    }
    expect_listed(env, o, 2, "both blocks are listed again");
}

// One push racing one pop (free_list.hpp @FL.push.cas / @FL.pop.head): T0 writes a block it owns
// and pushes it; T1 pops whatever is on top, holds it, checks it and pushes it back. Whatever T1
// pops, T0's writes happen before T1's (or the cells report a data race).
template <AtomicPolicy P, Geometry G>
struct PushVsPop {
    static constexpr int THREADS = 2;
    static constexpr std::uint32_t BLOCKS = 3;
    static constexpr std::uint32_t CLS = Env<P, G>::MIN_CLASS;
    std::uint32_t b[BLOCKS]{};
    bool ok_setup = false, alone[THREADS]{true, true}, fill_ok[THREADS]{true, true};
    std::uint32_t popped = 0;

    void setup(Env<P, G>& e) {
        ok_setup = take_all(e, b);
        if (ok_setup) list_block(e, b[0], CLS);  // list: b0; b1 is T0's, b2 stays allocated
    }
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        const auto lists = e.lists();
        if (i == 0) {
            alone[0] = e.hold(b[1], 1, 1);
            fill_ok[0] = e.check_fill(b[1], 1);
            e.disown(b[1]);
            e.ctx().set_owned_state(b[1], STATE_FREE);  // published by the push
            lists.push(CLS, b[1]);
        } else {
            popped = take_block(e, lists, CLS, 2, alone[1]);
            give_block(e, lists, CLS, 2, popped, fill_ok[1]);
        }
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup allocations");
        o.expect(popped != 0, "the pop gets a block (b0 is listed throughout)");
        o.expect_each(alone, "a block had two owners");
        o.expect_each(fill_ok, "a held block's fill was overwritten");
        expect_listed(e, o, 2, "both blocks are listed");
    }
};

// Two pops of a two-block list: each gets a different block, and holds it.
template <AtomicPolicy P, Geometry G>
struct PopVsPop {
    static constexpr int THREADS = 2;
    static constexpr std::uint32_t BLOCKS = 3;
    static constexpr std::uint32_t CLS = Env<P, G>::MIN_CLASS;
    std::uint32_t b[BLOCKS]{};
    bool ok_setup = false, alone[THREADS]{true, true};
    std::uint32_t got[THREADS]{};

    void setup(Env<P, G>& e) { ok_setup = list_two(e, b, CLS); }
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        const auto lists = e.lists();
        got[i] = take_block(e, lists, CLS, static_cast<std::uint32_t>(i + 1), alone[i]);
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup allocations");
        o.expect(got[0] != 0 && got[1] != 0, "both pops get a block (two listed, two pops)");
        o.expect(got[0] != got[1], "the two pops got the same block");
        o.expect_each(alone, "a block had two owners");
        relist_and_verify(e, o, CLS, {{got[0], 1}, {got[1], 2}});
    }
};

// pop_if_head (a merge claiming its neighbour, coalesce.hpp) racing a plain pop of the same list.
// The list is b1 b0; T0 wants b1 only. Either T0 gets b1 and T1 gets b0, or T1 got b1 first and T0
// gets nothing: never both b1, never b0 for T0.
template <AtomicPolicy P, Geometry G>
struct PopIfHeadVsPop {
    static constexpr int THREADS = 2;
    static constexpr std::uint32_t BLOCKS = 3;
    static constexpr std::uint32_t CLS = Env<P, G>::MIN_CLASS;
    std::uint32_t b[BLOCKS]{};
    bool ok_setup = false, alone[THREADS]{true, true}, claimed = false;
    std::uint32_t popped = 0;

    void setup(Env<P, G>& e) { ok_setup = list_two(e, b, CLS); }
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        const auto lists = e.lists();
        if (i == 0) {
            claimed = lists.pop_if_head(CLS, b[1]);
            if (claimed) alone[0] = e.hold(b[1], 1, 1);
        } else {
            popped = take_block(e, lists, CLS, 2, alone[1]);
        }
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup allocations");
        o.expect_each(alone, "a block had two owners");
        o.expect(popped != 0, "the plain pop gets a block");
        if (claimed) o.expect(popped == b[0], "pop_if_head took b1, so the pop must have got b0");
        else o.expect(popped == b[1], "pop_if_head failed, so the pop must have taken b1 first");
        relist_and_verify(e, o, CLS, {{claimed ? b[1] : 0u, 1}, {popped, 2}});
    }
};

// ABA on a Treiber stack (free_list.hpp, "Race prevented"): three threads pop and push the same
// list. T1 pops two blocks and pushes them back in the other order, so the head returns to a block
// T0 may have read with a stale next link. Every popped block is owned (shadow cells) and filled
// while held; the tag must make T0's stale CAS fail.
template <AtomicPolicy P, Geometry G>
struct AbaThreeThreads {
    static constexpr int THREADS = 3;
    static constexpr std::uint32_t BLOCKS = 4;
    static constexpr std::uint32_t CLS = Env<P, G>::MIN_CLASS;
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
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        const auto lists = e.lists();
        const auto who = static_cast<std::uint32_t>(i + 1);
        if (i == 1) {
            const std::uint32_t x = take_block(e, lists, CLS, who, alone[i]);
            const std::uint32_t y = take_block(e, lists, CLS, who, alone[i]);
            give_block(e, lists, CLS, who, x, fill_ok[i]);  // x back on top: the head's offset is x again (ABA)
            give_block(e, lists, CLS, who, y, fill_ok[i]);
            popped_enough[i] = x != 0 && y != 0;
        } else {
            const std::uint32_t x = take_block(e, lists, CLS, who, alone[i]);
            give_block(e, lists, CLS, who, x, fill_ok[i]);
            popped_enough[i] = x != 0;
        }
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup allocations");
        o.expect_each(alone, "a popped block had a second owner (ABA)");
        o.expect_each(fill_ok, "a held block's fill was overwritten");
        o.expect_each(popped_enough, "every pop gets a block (4 listed, at most 4 held at once)");
        expect_listed(e, o, BLOCKS, "every block is back on the list");
    }
};

// A pop whose speculative link read meets a reused header (free_list.hpp @FL.pop.recheck): the
// list holds X alone. T1 frees X's left neighbour L, which merges X (X's header is now interior),
// allocates the merged block and fills it, overwriting X's old next link with payload, then posts
// "done" on a relaxed channel. T0, once it sees "done", pops: with no happens-before from T1 it may
// still read the head as X (a stale value) and then the payload as X's link. It must retry, not
// report corruption: the implausible link is not what X's pusher published.
//   segment: M (mailbox) | L | X (listed) | R
template <AtomicPolicy P, Geometry G>
struct PopVsReuse {
    static constexpr int THREADS = 2;
    static constexpr std::uint32_t BLOCKS = 4;
    static constexpr std::uint32_t CLS = Env<P, G>::MIN_CLASS;
    static constexpr std::uint32_t DONE = 1;
    static constexpr int WAIT_TRIES = 256;
    Mailbox<P, G> box;
    std::uint32_t b[BLOCKS]{}, got = 0;
    PopStatus status = PopStatus::empty;
    bool ok_setup = false, freed = false;

    void setup(Env<P, G>& e) {
        ok_setup = take_all(e, b);
        if (!ok_setup) return;
        box.block = b[0];
        list_block(e, b[2], CLS);
    }
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        if (i == 1) {
            freed = static_cast<bool>(e.heap.free(b[1]));
            got = allocate_held(e, 2 * ControlLayout<G>::MIN_BLOCK - BLOCK_HEADER_SIZE, 2, 2);  // L and X merged
            box.post(e, DONE);
            return;
        }
        if (!box.wait_for(e, DONE, WAIT_TRIES)) return;
        const auto lists = e.lists();
        const PopResult p = lists.pop(CLS);
        status = p.status;
        if (p.status == PopStatus::got) lists.push(CLS, p.block);
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup allocations");
        o.expect(freed, "the free of L succeeds");
        o.expect(got != 0, "the merged block is allocated (X was listed, L's free merged it)");
        o.expect(status != PopStatus::corrupt, "a pop reported corruption for a link that changed under it (@FL.pop.recheck)");
        o.expect(got == 0 || e.check_fill(got, 2), "fill intact");
        verify_and_reclaim(e, o, {got, b[0], b[3]});
    }
};

// A searcher clearing a class's bitmap bit (it found the list empty) races a push into that class
// (bitmaps.hpp, "Protocol"): at quiescence the non-empty list must have its bit (BM1).
template <AtomicPolicy P, Geometry G>
struct BitmapClearVsPush {
    static constexpr int THREADS = 2;
    static constexpr std::uint32_t BLOCKS = 3;
    static constexpr std::uint32_t CLS = Env<P, G>::MIN_CLASS;
    std::uint32_t b[BLOCKS]{};
    bool ok_setup = false;

    void setup(Env<P, G>& e) { ok_setup = take_all(e, b); }
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        const auto lists = e.lists();
        if (i == 0) {
            e.ctx().set_owned_state(b[1], STATE_FREE);  // published by the push
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
        expect_listed(e, o, 1, "the pushed block is listed");
        o.expect(e.lists().bitmaps().find_from(0) == CLS, "a search finds the class");
    }
};

// Two clearers and a pusher in one fl word (bitmaps.hpp, "Protocol", BM2): class A's bit is stale
// and a push lands on A while its searcher clears and re-sets the bit, and a searcher of class B
// (same fl word, stale bit) clears B, finds the sl word empty and clears the fl bit. At quiescence
// A is non-empty, so both its sl bit and the fl bit must be set: a re-set that restored only the sl
// bit left it under a clear fl bit, invisible to every search that starts below that fl word.
template <AtomicPolicy P, Geometry G>
struct BitmapResetVsFlClear {
    static constexpr int THREADS = 3;
    static constexpr std::uint32_t BLOCKS = 3;
    using Map = SizeClasses<G>;
    static constexpr std::uint32_t A = Env<P, G>::MIN_CLASS;
    // Another class of A's fl word (its list stays empty).
    static constexpr std::uint32_t B = A / Map::SL_COUNT * Map::SL_COUNT + (A % Map::SL_COUNT + 1) % Map::SL_COUNT;
    static_assert(A != B, "the geometry needs two classes per fl word");
    std::uint32_t b[BLOCKS]{};
    bool ok_setup = false;

    void setup(Env<P, G>& e) {
        ok_setup = take_all(e, b);
        const auto lists = e.lists();
        lists.bitmaps().mark_nonempty(A);  // stale: both lists are empty
        lists.bitmaps().mark_nonempty(B);
    }
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        const auto lists = e.lists();
        if (i == 0) list_block(e, b[1], A);
        else lists.bitmaps().mark_maybe_empty(i == 1 ? A : B);
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup allocations");
        expect_listed(e, o, 1, "the pushed block is listed");
        o.expect(e.lists().bitmaps().find_from(0) == A, "a search from class 0 finds class A");
    }
};

}  // namespace amx::scenario
