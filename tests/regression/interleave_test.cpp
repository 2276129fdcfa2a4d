// Regression tests for the original's concurrency defects, replayed deterministically: the core
// runs single-threaded on InterposePolicy, and "thread 2" is a step armed to run at the exact access
// where the original went wrong (interleave.hpp). Each test names the concurrent scenario that
// exercises the same race with real threads (tests/scenarios/, run by tests/scenario_test.cpp).
#include <gtest/gtest.h>

#include <cstring>

#include <algorithm>

#include "interleave.hpp"
#include "support/test_heap.hpp"

namespace amx::regress {
namespace {

using TH = BufferHeap<InterposePolicy>;
using L = TH::Layout;
using M = TH::Map;
constexpr std::uint32_t SMALL_CLASS = M::mapping_insert(48);  // class of a 16-byte payload block

struct Disarm {
    ~Disarm() { Interleave::disarm(); }
};

// U8: ABA on the head CAS. T1's pop reads head X and next(X) = Y; T2 pops X, pops Y, pushes X; T1's
// CAS must fail (the tag moved) and its retry pops X again with Z as the new head. With a 32-bit
// (untagged) head the CAS succeeds and installs Y, which T2 owns, as the head.
// Concurrent form: scenario AbaThreeThreads (tests/scenarios/lists.hpp; model: aba_three_threads).
TEST(Regression, U8_AbaOnTheHeadCasIsCaughtByTheTag) {
    Disarm d;
    TH h(1 << 16);
    auto b = h.allocate_all({16, 16, 16, 16, 16, 16, 16});  // g0 X g1 Y g2 Z g3
    const std::uint32_t x = b[1], y = b[3], z = b[5];
    for (std::uint32_t v : {z, y, x}) ASSERT_TRUE(h->free(v));
    ASSERT_EQ(h.list(SMALL_CLASS), (std::vector<std::uint32_t>{x, y, z}));
    FreeLists<TH::Ctx> lists(h.ctx());
    std::uint32_t t2_got[2]{};
    // T1 has read next(X) = Y: now T2 runs.
    Interleave::at(after(Op::load, x + hdr::NEXT_FREE), [&] {
        t2_got[0] = lists.pop(SMALL_CLASS).block;
        t2_got[1] = lists.pop(SMALL_CLASS).block;
        ASSERT_TRUE(lists.push(SMALL_CLASS, t2_got[0]));
    });
    const PopResult t1 = lists.pop(SMALL_CLASS);
    ASSERT_TRUE(Interleave::fired());
    EXPECT_EQ(t2_got[0], x);
    EXPECT_EQ(t2_got[1], y);
    ASSERT_EQ(t1.status, PopStatus::got);
    EXPECT_EQ(t1.block, x);
    EXPECT_EQ(h.list(SMALL_CLASS), (std::vector<std::uint32_t>{z})) << "Y (owned by T2) must not be the head";
    // Both owners hand their blocks back: the heap is whole again.
    ASSERT_TRUE(lists.push(SMALL_CLASS, y));
    ASSERT_TRUE(lists.push(SMALL_CLASS, x));
    const auto r = h.verify();
    EXPECT_TRUE(r.ok()) << r.to_string();
}

// U9: a bitmap bit cleared while a concurrent push makes the class non-empty. T1 popped the last
// block of the class (its bit stays set), searches again, finds the list empty and clears the bit;
// just before its clear, T2 frees a block into that class. The bit must end up set (BM1).
// Concurrent form: scenario BitmapClearVsPush (tests/scenarios/lists.hpp; model: bitmap_clear_vs_push).
TEST(Regression, U9_BitClearRacingAPushIsReSet) {
    Disarm d;
    TH h(1 << 16);
    auto b = h.allocate_all({16, 16, 16, 16, 16});  // g0 X g1 Y g2, then the tail
    const std::uint32_t x = b[1], y = b[3];
    ASSERT_TRUE(h->free(x));
    ASSERT_EQ(*h->allocate(16), x) << "pops the last block of the class; its bit stays set";
    ASSERT_EQ(h.head_of(SMALL_CLASS), 0u);
    Interleave::at(before(Op::fetch_and, L::sl_bitmap(SMALL_CLASS / M::SL_COUNT)),
                   [&] { ASSERT_TRUE(h->free(y)); });
    auto t1 = h->allocate(16);  // finds the marked list empty, clears its bit
    ASSERT_TRUE(Interleave::fired());
    ASSERT_TRUE(t1);
    EXPECT_NE(*t1, y);
    const auto r = h.verify();
    EXPECT_TRUE(r.ok()) << r.to_string();
    EXPECT_EQ(*h->allocate(16), y) << "the block T2 listed is found by the bitmap search";
}

// U10: a popped block stays FREE until its allocator finishes; the original's ripple claimed it by
// its state. T1's allocate pops X; before it marks X ALLOCATED, T2 frees X's left and right
// neighbours. Neither may merge X (it is on no list, so nobody can pop it from them).
// Concurrent form: scenarios AllocVsFreeNeighbour, AllocSplitVsFreeRight (model: alloc_vs_free_neighbour,
// alloc_split_vs_free_right).
TEST(Regression, U10_PoppedBlockIsNotClaimedByANeighboursMerge) {
    Disarm d;
    TH h(1 << 16);
    auto b = h.allocate_all({16, 16, 16, 16, 16});  // g0 L X R g1
    const std::uint32_t l = b[1], x = b[2], r = b[3];
    ASSERT_TRUE(h->free(x));
    Interleave::at(after_cas_succeeds(L::head(SMALL_CLASS)), [&] {
        ASSERT_TRUE(h->free(l));
        ASSERT_TRUE(h->free(r));
    });
    auto t1 = h->allocate(16);
    ASSERT_TRUE(Interleave::fired());
    ASSERT_TRUE(t1);
    EXPECT_EQ(*t1, x);
    EXPECT_EQ(h.state_of(x), STATE_ALLOCATED);
    EXPECT_EQ(h.size_of(x), 48u);
    EXPECT_EQ(h.size_of(l), 48u) << "L did not absorb X";
    test::fill(h.base() + x + BLOCK_HEADER_SIZE, 16, 10);
    const auto v = h.verify();
    EXPECT_TRUE(v.ok()) << v.to_string();
    EXPECT_TRUE(test::check_fill(h.base() + x + BLOCK_HEADER_SIZE, 16, 10));
}

// U11: the original's ripple claimed an ACKED block whose own free was still running. T1 frees P
// and has just moved it to ACKED; T2 frees P's right neighbour R, whose left merge must not take P.
// T1 then absorbs R, and the result is one free block P+R, listed once.
// Concurrent form: scenario FreeFreeAdjacent (model: free_free_adjacent).
TEST(Regression, U11_AckedBlockIsNotClaimedByARightNeighboursMerge) {
    Disarm d;
    TH h(1 << 16);
    auto b = h.allocate_all({16, 16, 16, 16});  // g0 P R g1
    const std::uint32_t p = b[1], r = b[2];
    Interleave::at(after_cas_succeeds(p + hdr::STATE), [&] {
        ASSERT_EQ(h.state_of(p), STATE_ACKED);
        ASSERT_TRUE(h->free(r));
        EXPECT_EQ(h.size_of(p), 48u) << "R's merge took the ACKED block P";
    });
    ASSERT_TRUE(h->free(p));
    ASSERT_TRUE(Interleave::fired());
    EXPECT_EQ(h.size_of(p), 96u) << "P absorbed R";
    const auto v = h.verify();
    EXPECT_TRUE(v.ok()) << v.to_string();
    EXPECT_EQ(v.free_blocks, 2u) << "P+R and the tail";
    EXPECT_EQ(v.listed, 2u);
}

// U12: a stale prev_phys. T1 frees B and reads prev_phys(B) = L; then T2 allocates L (split into
// L' | M, prev_phys(B) = M), allocates M and frees L'. L' is FREE, at L's offset, and the head of
// its list, but no longer B's neighbour: T1 may pop it, must see that it is not adjacent, and must
// put it back (the original abandoned such a block: a permanent leak).
// Concurrent form: scenario AllocVsFreeNeighbour (model: alloc_vs_free_neighbour).
TEST(Regression, U12_StaleLeftNeighbourIsPutBackNotMergedNorLeaked) {
    Disarm d;
    TH h(1 << 16);
    auto b = h.allocate_all({16, 160, 64, 16});  // g0 L(192) B(96) g1
    const std::uint32_t l = b[1], blk = b[2];
    ASSERT_TRUE(h->free(l));
    std::uint32_t m = 0;
    Interleave::at(after(Op::load, blk + hdr::PREV_PHYS), [&] {
        auto a = h->allocate(32);  // pops L, splits off M = L + 64
        ASSERT_TRUE(a);
        ASSERT_EQ(*a, l);
        auto mm = h->allocate(96);  // takes M whole
        ASSERT_TRUE(mm);
        m = *mm;
        ASSERT_EQ(m, l + 64);
        test::fill(h.base() + m + BLOCK_HEADER_SIZE, 96, 12);
        ASSERT_TRUE(h->free(*a));  // L' (64 bytes) FREE at L's offset, head of its list
    });
    ASSERT_TRUE(h->free(blk));
    ASSERT_TRUE(Interleave::fired());
    EXPECT_EQ(h.size_of(l), 64u);
    EXPECT_EQ(h.prev_of(blk), m);
    EXPECT_TRUE(test::check_fill(h.base() + m + BLOCK_HEADER_SIZE, 96, 12)) << "M was overwritten";
    const auto v = h.verify();
    EXPECT_TRUE(v.ok()) << v.to_string();
    ASSERT_TRUE(h->free(m));
    for (std::uint32_t g : {b[0], b[3]}) ASSERT_TRUE(h->free(g));
    h->heal();
    const auto whole = h.verify(VerifyMode::after_heal);
    EXPECT_TRUE(whole.ok()) << whole.to_string();
    EXPECT_EQ(whole.blocks, 1u) << "nothing leaked";
}

// U15: a block in transit is not out-of-memory. T2 has popped the only block that fits (it will push
// it back); T1's allocation finds nothing, and during its first backoff T2 returns the block. T1 must
// then get it, not report out_of_memory (the original failed at once, with the same error for OOM
// and contention). Concurrent form: RealThreadsSmallLiveSetNeverFail below, the stress test.
TEST(Regression, U15_BlockInTransitIsNotOutOfMemory) {
    Disarm d;
    TH h(L::FIRST_BLOCK + 4 * L::MIN_BLOCK);
    h.allocate_all({16, 16, 16});
    Transit<TH::Ctx> t2(h.ctx(), h.foreign_slot());  // T2's slot: its pop announces the block
    FreeLists<TH::Ctx> lists(h.ctx(), &t2);
    const PopResult x = lists.pop(SMALL_CLASS);  // T2 holds the last block
    ASSERT_EQ(x.status, PopStatus::got);
    Interleave::at(at_spin(), [&] {
        ASSERT_TRUE(lists.push(SMALL_CLASS, x.block));
        t2.leave();
    });
    auto t1 = h->allocate(16);
    ASSERT_TRUE(Interleave::fired()) << "T1 gave up without waiting";
    ASSERT_TRUE(t1) << t1.error().message();
    EXPECT_EQ(*t1, x.block);
    // With nothing in transit, a full segment is out_of_memory, never contention.
    auto full = h->allocate(16);
    ASSERT_FALSE(full);
    EXPECT_EQ(full.error().code, Errc::out_of_memory);
    EXPECT_TRUE(h.verify().ok()) << h.verify().to_string();
}

// U6/U7 (stale handle): T1 frees X through a stale handle and has checked X's header (check word
// and live state); before its claim CAS, T2 frees X legitimately (X merges into its free left
// neighbour L, X's header is killed), allocates L+X, and its user writes 1 (= ALLOCATED) where X's
// state word was. T1's CAS then succeeds on payload: the post-claim re-check must see that X is no
// longer a header, undo the CAS and refuse, leaving the payload as the user wrote it.
// Kills ci/mutants/claim-no-recheck.mutant.
TEST(Regression, U7_StaleFreeWhoseBlockWasReusedIsRefusedAfterItsClaim) {
    Disarm d;
    TH h(1 << 16);
    auto b = h.allocate_all({16, 16, 16, 16});  // g0 L X g1
    const std::uint32_t l = b[1], x = b[2];
    ASSERT_TRUE(h->free(l));
    std::uint32_t merged = 0;
    Interleave::at(before(Op::cas, x + hdr::STATE), [&] {
        ASSERT_TRUE(h->free(x));  // X merges into L
        ASSERT_EQ(h.size_of(l), 96u);
        auto m = h->allocate(96 - BLOCK_HEADER_SIZE);
        ASSERT_TRUE(m);
        merged = *m;
        ASSERT_EQ(merged, l);
        std::memset(h.base() + l + BLOCK_HEADER_SIZE, 0, 96 - BLOCK_HEADER_SIZE);
        const std::uint32_t one = STATE_ALLOCATED;  // user data that looks like X's old state
        std::memcpy(h.base() + x + hdr::STATE, &one, sizeof one);
    });
    auto r = h->free(x);
    ASSERT_TRUE(Interleave::fired());
    ASSERT_FALSE(r) << "a stale free of reused memory was accepted";
    EXPECT_EQ(r.error().code, Errc::invalid_offset);
    std::uint32_t word = 0;
    std::memcpy(&word, h.base() + x + hdr::STATE, sizeof word);
    EXPECT_EQ(word, STATE_ALLOCATED) << "the user's payload was left changed";
    EXPECT_EQ(h.state_of(l), STATE_ALLOCATED);
    const auto v = h.verify();
    EXPECT_TRUE(v.ok()) << v.to_string();
}

// STALE-STATE (found by the mutant runner's parallel baseline, session 8: example_producer_consumer
// lost a message). A consumer calls transition_state(READY -> TAKEN) through a handle whose message
// another consumer has already taken. Between the call's start and its CAS, that consumer frees the
// block, the producer allocates it again at the same offset and publishes its next message as
// READY. Layout version 2 kept state and generation in two words and compared the generation before
// the CAS: the stale CAS took the new message. The state pair (layout version 3) makes the CAS
// compare the generation: the call is refused with invalid_offset and the new message stays READY.
// Concurrent form: scenario stale_transition (model). Kills ci/mutants/state-cas-any-generation.mutant.
constexpr std::uint32_t READY = 60, TAKEN = 61;

// Frees X (generation old_gen) and allocates it again at the same offset, as another thread would
// between a stale call's start and its CAS; returns the new allocation's generation (0: failed).
std::uint32_t reallocate(TH& h, std::uint32_t x, std::uint32_t old_gen) {
    EXPECT_TRUE(h->free(x, old_gen));
    auto again = h->allocate(16);
    EXPECT_TRUE(again && *again == x) << "X is reused at the same offset (its neighbours are live)";
    const std::uint32_t gen = again ? h->generation(x) : 0;
    EXPECT_NE(gen, old_gen);
    return gen;
}

// A stale call on X (generation old_gen) is refused with invalid_offset, although X was freed and
// allocated again only right before the call's CAS on its state pair (after `other`, another
// thread's step on the old allocation); the new allocation, given `new_state`, keeps it; it is
// freed at the end, and the heap verifies.
template <class Call>
void expect_stale_call_refused(TH& h, std::uint32_t x, std::uint32_t old_gen, std::uint32_t new_state,
                               const std::function<void()>& other, Call call, const char* what) {
    std::uint32_t new_gen = 0;
    Interleave::at(before(Op::cas, x + hdr::STATE_PAIR), [&] {
        if (other) other();
        new_gen = reallocate(h, x, old_gen);
        if (new_state != STATE_ALLOCATED) {
            EXPECT_TRUE(h->set_state(x, new_state, new_gen));  // the next message
        }
    });
    auto r = call();
    ASSERT_TRUE(Interleave::fired());
    ASSERT_NE(new_gen, 0u);
    ASSERT_FALSE(r) << what;
    EXPECT_EQ(r.error().code, Errc::invalid_offset);
    EXPECT_EQ(*h->get_state(x, new_gen), new_state) << "the new allocation's state is untouched";
    ASSERT_TRUE(h->free(x, new_gen));
    const auto v = h.verify();
    EXPECT_TRUE(v.ok()) << v.to_string();
}

TEST(Regression, StaleState_TransitionThroughAStaleHandleDoesNotTakeTheNextMessage) {
    Disarm d;
    TH h(1 << 16);
    const std::uint32_t x = h.allocate_all({16, 16, 16})[1];  // g0 X g1: X is reused in place
    const std::uint32_t old_gen = h->generation(x);
    ASSERT_TRUE(h->set_state(x, READY, old_gen));
    // Before our CAS another consumer takes the message (and frees it: reallocate), and the
    // producer publishes its next message in the same block.
    const auto other_consumer = [&] { EXPECT_TRUE(h->transition_state(x, READY, TAKEN, old_gen)); };
    expect_stale_call_refused(h, x, old_gen, READY, other_consumer,
                              [&] { return h->transition_state(x, READY, TAKEN, old_gen); },
                              "the stale handle took the next allocation's message");
}

// The same race for set_state and for free (whose claim's CAS compares the generation too;
// version 2 re-checked it after the claim).
TEST(Regression, StaleState_SetStateAndFreeThroughAStaleHandleLeaveTheNewOwnersBlock) {
    for (const bool free_it : {false, true}) {
        SCOPED_TRACE(free_it ? "free" : "set_state");
        Disarm d;
        TH h(1 << 16);
        const std::uint32_t x = h.allocate_all({16, 16, 16})[1];
        const std::uint32_t old_gen = h->generation(x);
        const auto stale_call = [&]() -> Result<void> {
            return free_it ? h->free(x, old_gen) : h->set_state(x, READY, old_gen);
        };
        expect_stale_call_refused(h, x, old_gen, STATE_ALLOCATED, {}, stale_call,
                                  "the stale handle changed or freed the new owner's block");
    }
}

// block_at hands out the generation read in the same load as the state it validated (live_block).
// A block freed and allocated again right after that load yields a handle of the old generation,
// which every checked call then refuses, never a handle of the new allocation that skipped its
// validation. (Version 2 read the generation again in a second load, after the check.)
TEST(Regression, StaleState_LiveBlockReportsTheGenerationItValidated) {
    Disarm d;
    TH h(1 << 16);
    const std::uint32_t x = h.allocate_all({16, 64, 16})[1];  // g0 X(96 bytes) g1
    const std::uint32_t old_gen = h->generation(x);
    Interleave::at(after(Op::load, x + hdr::STATE_PAIR), [&] {
        ASSERT_TRUE(h->free(x, old_gen));
        auto again = h->allocate(16);  // 48 bytes at x; the rest of X split off
        ASSERT_TRUE(again);
        ASSERT_EQ(*again, x);
    });
    auto live = h->live_block(x);
    ASSERT_TRUE(Interleave::fired());
    ASSERT_TRUE(live);
    EXPECT_EQ(live->generation, old_gen) << "the generation handed out is the validated allocation's";
    EXPECT_EQ(h->get_state(x, live->generation).error().code, Errc::invalid_offset);
}

}  // namespace
}  // namespace amx::regress
