#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <type_traits>
#include <vector>

#include "support/test_heap.hpp"

namespace amx {
namespace {

using test::TestHeap;

TEST(Heap, FreshSegmentIsOneFreeBlock) {
    TestHeap<> h(1 << 16);
    const auto r = h.verify(VerifyMode::after_heal);
    EXPECT_TRUE(r.ok()) << r.to_string();
    EXPECT_EQ(r.blocks, 1u);
    EXPECT_EQ(r.free_bytes, h.data_bytes());
}

TEST(Heap, AllocationHoldsTheRequestAndTheHeader) {
    TestHeap<> h(1 << 16);
    for (std::uint64_t n : {1u, 15u, 16u, 17u, 100u, 1000u}) {
        auto b = h->allocate(n);
        ASSERT_TRUE(b) << n;
        auto cap = h->live_payload(*b);
        ASSERT_TRUE(cap);
        EXPECT_GE(*cap, n);
        EXPECT_EQ((*b + BLOCK_HEADER_SIZE) % 16, 0u) << "payload 16-aligned";
    }
    EXPECT_TRUE(h.verify().ok()) << h.verify().to_string();
}

TEST(Heap, InvalidSizesAreRefused) {
    TestHeap<> h(1 << 16);
    EXPECT_EQ(h->allocate(0).error().code, Errc::invalid_size);
    EXPECT_EQ(h->allocate(1 << 16).error().code, Errc::invalid_size);
    EXPECT_EQ(h->allocate(0xFFFFFFFFull).error().code, Errc::invalid_size);
    EXPECT_EQ(h->allocate(~0ull).error().code, Errc::invalid_size);
    EXPECT_TRUE(h.verify().ok());
}

TEST(Heap, FillingTheSegmentEndsInOutOfMemoryNotContention) {
    TestHeap<> h(1 << 16);
    std::vector<std::uint32_t> blocks;
    for (;;) {
        auto b = h->allocate(100);
        if (!b) {
            EXPECT_EQ(b.error().code, Errc::out_of_memory);
            break;
        }
        blocks.push_back(*b);
    }
    EXPECT_EQ(blocks.size(), h.data_bytes() / h->block_size_for(100)) << "the segment is used up to the last whole block";
    EXPECT_TRUE(h.verify().ok()) << h.verify().to_string();
    for (auto b : blocks) ASSERT_TRUE(h->free(b));
    h->heal();
    const auto r = h.verify(VerifyMode::after_heal);
    EXPECT_TRUE(r.ok()) << r.to_string();
    EXPECT_EQ(r.blocks, 1u);
}

TEST(Heap, FreeInAnyOrderThenHealLeavesOneBlock) {
    TestHeap<> h(1 << 20);
    std::mt19937 rng(42);
    std::vector<std::uint32_t> blocks;
    for (int i = 0; i < 2000; ++i) {
        auto b = h->allocate(16 + rng() % 600);
        ASSERT_TRUE(b);
        blocks.push_back(*b);
    }
    std::shuffle(blocks.begin(), blocks.end(), rng);
    for (auto b : blocks) ASSERT_TRUE(h->free(b));
    EXPECT_TRUE(h.verify().ok()) << h.verify().to_string();
    h->heal();
    const auto r = h.verify(VerifyMode::after_heal);
    EXPECT_TRUE(r.ok()) << r.to_string();
    EXPECT_EQ(r.blocks, 1u);
    EXPECT_EQ(r.free_bytes, h.data_bytes());
}

TEST(Heap, FreeInAddressOrderCoalescesWithoutHeal) {
    for (bool descending : {false, true}) {
        TestHeap<> h(1 << 16);
        std::vector<std::uint32_t> blocks;
        for (int i = 0; i < 100; ++i) blocks.push_back(*h->allocate(48));
        if (descending) std::reverse(blocks.begin(), blocks.end());
        for (auto b : blocks) ASSERT_TRUE(h->free(b));
        const auto r = h.verify(VerifyMode::after_heal);
        EXPECT_TRUE(r.ok()) << r.to_string();
        EXPECT_EQ(r.blocks, 1u) << (descending ? "descending" : "ascending");
    }
}

// Free takes a free neighbour that is listed below the head of its class (core/unlink.hpp) if it is
// within MERGE_WALK blocks of the list (TinyGeometry: 2), on either side, and leaves a deeper one
// to heal. Ten minimal blocks b0..b9: the neighbour n is freed first, then `depth - 1` blocks that
// touch nothing free (same class, pushed above n), then the block next to n.
TEST(Heap, FreeTakesANeighbourFromInsideItsListUpToTheWalkBound) {
    using L = ControlLayout<TinyGeometry>;
    constexpr std::uint32_t WALK = Unlinker<TestHeap<TinyGeometry>::H::Ctx>::MERGE_WALK;
    static_assert(WALK == TinyGeometry::MERGE_WALK);
    for (const bool left : {true, false}) {
        for (std::uint32_t depth = 1; depth <= WALK + 1; ++depth) {
            TestHeap<TinyGeometry> h(L::FIRST_BLOCK + 10 * L::MIN_BLOCK);
            const auto b = h.allocate_until_full(16);
            ASSERT_EQ(b.size(), 10u);
            const std::uint32_t n = left ? b[0] : b[2];
            ASSERT_TRUE(h->free(n));
            for (std::uint32_t k = 1; k < depth; ++k) ASSERT_TRUE(h->free(b[2 + 2 * k]));  // b4, b6, ...
            ASSERT_TRUE(h->free(b[1]));
            const auto r = h.verify();
            ASSERT_TRUE(r.ok()) << r.to_string();
            const std::uint32_t survivor = left ? b[0] : b[1];
            const bool merged = h->context().size_w(survivor).load(StdAtomicPolicy::relaxed) == 2 * L::MIN_BLOCK;
            EXPECT_EQ(merged, depth <= WALK) << (left ? "left" : "right") << " neighbour at depth " << depth;
            EXPECT_EQ(r.free_blocks, merged ? depth : depth + 1);
        }
    }
}

// Allocation heals before it says out_of_memory (U14): b0 and b1 are left adjacent and unmerged
// (b0 sits at depth 3 of its list when b1 is freed, beyond TinyGeometry's MERGE_WALK of 2), every
// other free block is a minimal one, and a request for two minimal blocks fits only once heal has
// merged them.
TEST(Heap, AllocationHealsFragmentsBeforeOutOfMemory) {
    using L = ControlLayout<TinyGeometry>;
    static_assert(TinyGeometry::MERGE_WALK == 2);
    TestHeap<TinyGeometry> h(L::FIRST_BLOCK + 10 * L::MIN_BLOCK);
    const auto b = h.allocate_until_full(16);
    ASSERT_EQ(b.size(), 10u);
    for (const std::uint32_t k : {0u, 4u, 6u, 1u}) ASSERT_TRUE(h->free(b[k]));
    const auto before = h.verify();
    ASSERT_TRUE(before.ok()) << before.to_string();
    ASSERT_EQ(before.free_blocks, 4u) << "b0 and b1 must be left unmerged for this test to mean anything";
    auto r = h->allocate(2 * L::MIN_BLOCK - BLOCK_HEADER_SIZE);
    ASSERT_TRUE(r) << errc_name(r.error().code);
    EXPECT_EQ(*r, b[0]);
    EXPECT_TRUE(h.verify().ok());
}

// The decisive scans of one transit slot's hold word made before the first heal began
// (Heap.AVetoedMissWaitsBeforeItHeals). Static: a hook has static callbacks only.
struct HealOrderHook {
    static inline std::uint32_t watched = 0;  // the hold word of the planted slot
    static inline int scans = 0;
    static inline int scans_before_heal = -1;
    static void after(const WordAccess& a, std::uint64_t, bool) {
        if (a.op == WordOp::load && a.offset == watched) ++scans;
        if (a.op == WordOp::fetch_add && a.offset == seg::HEAL_SERIAL && scans_before_heal < 0) scans_before_heal = scans;
    }
};

// A miss while another live participant announces a block that would fit is waited for, not
// healed around (PROTOCOL.md section 6): the heal comes only once half the retry budget is spent.
// On a full heap with one planted announcement (slot owned by an unregistered, so trusted, user)
// every attempt misses cleanly and every decision is vetoed: the decisions of attempts 0 to
// MAX_ALLOC_ATTEMPTS / 2 scan that slot before the heal, which follows the last of them. Healing at
// the first clean miss (the rule before session 7) scans it 0 times first.
TEST(Heap, AVetoedMissWaitsBeforeItHeals) {
    using P = HookedPolicy<HealOrderHook>;
    using H = Heap<P, TinyGeometry>;
    using L = ControlLayout<TinyGeometry>;
    using T = Transit<H::Ctx>;
    std::vector<std::uint64_t> buf((L::FIRST_BLOCK + 16 * L::MIN_BLOCK) / 8);
    const P::Memory mem(reinterpret_cast<std::byte*>(buf.data()), static_cast<std::uint32_t>(buf.size() * 8));
    ASSERT_TRUE(H::format(mem, {1, 1, 1}));
    H heap = *H::attach(mem);
    while (heap.allocate(16)) {
    }
    const std::uint32_t other = (heap.thread_slot() + 1) % L::TRANSIT_SLOTS;
    T::owner_w(heap.context(), other).store(1, P::relaxed);  // participant 0: an unregistered user
    T::hold_w(heap.context(), other).store(0xFFFF, P::relaxed);  // holds up to 64 KiB
    HealOrderHook::watched = L::TRANSIT + 64 * other + 8;
    HealOrderHook::scans = 0;
    HealOrderHook::scans_before_heal = -1;
    auto r = heap.allocate(16);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::contention) << "the announced block never comes back";
    EXPECT_EQ(HealOrderHook::scans_before_heal, H::MAX_ALLOC_ATTEMPTS / 2 + 1)
        << "vetoed decisions before the heal (" << HealOrderHook::scans << " in all)";
    T::hold_w(heap.context(), other).store(0, P::relaxed);
    T::owner_w(heap.context(), other).store(0, P::relaxed);
    auto again = heap.allocate(16);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, Errc::out_of_memory);
    EXPECT_TRUE(verify(heap).ok()) << verify(heap).to_string();
}

TEST(Heap, FreeOfAnythingButALiveBlockIsInvalidOffsetAndChangesNothing) {
    TestHeap<> h(1 << 16);
    auto a = *h->allocate(64);
    auto b = *h->allocate(64);
    const auto before = h.verify();
    for (std::uint32_t off : {0u, 1u, 16u, a + 16, a + 32, a + BLOCK_HEADER_SIZE, b + 48, 0xFFFFFFF0u,
                              h->capacity(), h->capacity() - 16}) {
        auto r = h->free(off);
        ASSERT_FALSE(r) << off;
        EXPECT_EQ(r.error().code, Errc::invalid_offset) << off;
    }
    ASSERT_TRUE(h->free(a));
    auto again = h->free(a);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, Errc::invalid_offset);
    EXPECT_TRUE(h.verify().ok()) << h.verify().to_string();
    EXPECT_TRUE(h->live_payload(b));
    (void)before;
}

TEST(Heap, UserStatesAreKeptAndFreeable) {
    TestHeap<> h(1 << 16);
    auto a = *h->allocate(64);
    EXPECT_EQ(h->set_state(a, 3).error().code, Errc::reserved_status);
    EXPECT_EQ(h->set_state(a, 48).error().code, Errc::reserved_status);
    ASSERT_TRUE(h->set_state(a, 49));
    EXPECT_EQ(*h->get_state(a, StdAtomicPolicy::acquire), 49u);
    EXPECT_EQ(*h->transition_state(a, 49, 77, StdAtomicPolicy::acq_rel), 49u);
    auto f = h->transition_state(a, 49, 78, StdAtomicPolicy::acq_rel);
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().code, Errc::transition_failed);
    EXPECT_EQ(f.error().found, 77u);
    h->heal();
    EXPECT_EQ(*h->get_state(a, StdAtomicPolicy::acquire), 77u) << "heal never reclaims user states";
    ASSERT_TRUE(h->free(a));
    EXPECT_TRUE(h.verify().ok());
}

// U23: set_state on a free block clobbered allocator state in the original.
TEST(Heap, U23_SetStateOnAFreeBlockIsRefused) {
    TestHeap<> h(1 << 16);
    auto a = *h->allocate(64);
    auto keep = *h->allocate(64);
    ASSERT_TRUE(h->free(a));
    EXPECT_EQ(h->set_state(a, 50).error().code, Errc::invalid_offset);
    EXPECT_EQ(h->transition_state(a, STATE_FREE, 50, StdAtomicPolicy::acq_rel).error().code,
              Errc::reserved_status);
    EXPECT_TRUE(h.verify().ok()) << h.verify().to_string();
    (void)keep;
}

TEST(Heap, TinyGeometryWorksEndToEnd) {
    using L = ControlLayout<TinyGeometry>;
    TestHeap<TinyGeometry> h(L::FIRST_BLOCK + 8 * L::MIN_BLOCK);
    std::vector<std::uint32_t> blocks;
    for (;;) {
        auto b = h->allocate(16);
        if (!b) {
            EXPECT_EQ(b.error().code, Errc::out_of_memory);
            break;
        }
        blocks.push_back(*b);
    }
    EXPECT_EQ(blocks.size(), 8u);
    for (std::size_t i = 0; i < blocks.size(); i += 2) ASSERT_TRUE(h->free(blocks[i]));
    EXPECT_EQ(h->allocate(100).error().code, Errc::out_of_memory) << "no two adjacent free blocks";
    for (std::size_t i = 1; i < blocks.size(); i += 2) ASSERT_TRUE(h->free(blocks[i]));
    h->heal();
    const auto r = h.verify(VerifyMode::after_heal);
    EXPECT_TRUE(r.ok()) << r.to_string();
    EXPECT_EQ(r.blocks, 1u);
    EXPECT_TRUE(h->allocate(8 * L::MIN_BLOCK - BLOCK_HEADER_SIZE));
}

}  // namespace
}  // namespace amx

namespace amx {
namespace {

// The last-resort scan of the request's own class pops blocks that do not fit and holds them; they
// must all be listed again (FL6). Kills ci/mutants/held-blocks-dropped.mutant.
TEST(Heap, BlocksHeldByTheOwnClassScanAreListedAgain) {
    TestHeap<> h(1 << 16);
    const auto a = h->allocate(256 - BLOCK_HEADER_SIZE);  // a 256-byte block, class [256, 288)
    ASSERT_TRUE(a);
    ASSERT_TRUE(h->allocate(16));                         // guard: a stays apart from the rest
    while (h->allocate(16)) {}                            // fill everything else
    ASSERT_TRUE(h->free(*a));                             // the only free block: 256 bytes
    const auto r = h->allocate(272 - BLOCK_HEADER_SIZE);  // needs 272: scans [256, 288), holds a
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::out_of_memory);
    const auto rep = h.verify();
    EXPECT_TRUE(rep.ok()) << rep.to_string();
    EXPECT_EQ(rep.free_blocks, 1u);
    EXPECT_EQ(rep.listed, 1u);
    EXPECT_TRUE(h->allocate(256 - BLOCK_HEADER_SIZE)) << "the held block is allocatable again";
}

}  // namespace
}  // namespace amx

namespace amx {
namespace {

// A listed block whose link points outside the segment, or a head at a misaligned offset: the pop
// refuses to follow it (typed error, nothing installed). Kills ci/mutants/plausible-link-any.mutant
// and plausible-block-no-align.mutant.
TEST(Heap, CorruptedLinkIsNeverFollowed) {
    TestHeap<> h(1 << 16);
    const auto a = *h->allocate(16);
    ASSERT_TRUE(h->allocate(16));  // guard
    while (h->allocate(16)) {}
    ASSERT_TRUE(h->free(a));       // the only free block, alone on its list
    const auto& c = h->context();
    c.next_w(a).store(0x7FFFFFF0u, StdAtomicPolicy::relaxed);  // link far past the end
    const auto r = h->allocate(16);
    ASSERT_FALSE(r) << "allocated 0x" << std::hex << *r;
    EXPECT_EQ(r.error().code, Errc::corrupted);
    const auto cls = SizeClasses<DefaultGeometry>::mapping_insert(c.size_w(a).load(StdAtomicPolicy::relaxed));
    EXPECT_EQ(unpack_head(c.head_w(cls).load(StdAtomicPolicy::relaxed)).offset, a) << "head unchanged";
}

TEST(Heap, MisalignedHeadIsNeverFollowed) {
    TestHeap<> h(1 << 16);
    const auto a = *h->allocate(16);
    ASSERT_TRUE(h->allocate(16));
    while (h->allocate(16)) {}
    ASSERT_TRUE(h->free(a));
    const auto& c = h->context();
    const auto cls = SizeClasses<DefaultGeometry>::mapping_insert(c.size_w(a).load(StdAtomicPolicy::relaxed));
    const Head old = unpack_head(c.head_w(cls).load(StdAtomicPolicy::relaxed));
    // Make the words a misaligned "block" at a + 4 would use look plausible, so that only the
    // alignment check can refuse it: its size is a's prev_phys word (a minimal block), its state is
    // a's generation (0: FREE), its next_free is a's check word (0: end of list). Without the
    // alignment check the allocation would hand out a + 4 (mutant plausible-block-no-align).
    static_assert(hdr::SIZE + 4 == hdr::PREV_PHYS && hdr::STATE + 4 == hdr::GENERATION &&
                  hdr::NEXT_FREE + 4 == hdr::CHECK);
    c.prev_w(a).store(ControlLayout<DefaultGeometry>::MIN_BLOCK, StdAtomicPolicy::relaxed);
    c.pair_w(a).store(pack_pair({STATE_FREE, 0}), StdAtomicPolicy::relaxed);
    c.check_w(a).store(0, StdAtomicPolicy::relaxed);
    c.head_w(cls).store(pack_head({a + 4, old.tag}), StdAtomicPolicy::relaxed);  // misaligned head
    const auto r = h->allocate(16);
    ASSERT_FALSE(r) << "allocated 0x" << std::hex << *r;
    EXPECT_EQ(r.error().code, Errc::corrupted);
}

// TG1 for heal's detach (free_list.hpp @FL.detach): taking a whole list is a head CAS like every
// other and advances the tag, so the empty head it leaves is a value the head has not had before.
// Kills ci/mutants/detach-keeps-tag.mutant every run (the model test kills it only when its random
// program heals a list that then stays empty).
TEST(Heap, DetachAdvancesTheTagLikeEveryHeadCas) {
    using P = StdAtomicPolicy;
    TestHeap<> h(1 << 16);
    const auto a = *h->allocate(16);
    ASSERT_TRUE(h->allocate(16));  // guard: a stays alone on its list
    ASSERT_TRUE(h->free(a));
    const auto& c = h->context();
    const auto cls = SizeClasses<DefaultGeometry>::mapping_insert(c.size_w(a).load(P::relaxed));
    const Head before = unpack_head(c.head_w(cls).load(P::relaxed));
    ASSERT_EQ(before.offset, a);
    FreeLists<std::decay_t<decltype(c)>> lists(c);
    ASSERT_EQ(lists.detach(cls), a);
    const Head after = unpack_head(c.head_w(cls).load(P::relaxed));
    EXPECT_EQ(after.offset, 0u);
    EXPECT_EQ(after.tag, next_tag<DefaultGeometry>(before.tag)) << "detach kept tag " << before.tag;
    ASSERT_TRUE(lists.push(cls, a));  // a is still FREE: list it again
    const auto rep = h.verify();
    EXPECT_TRUE(rep.ok()) << rep.to_string();
}

}  // namespace
}  // namespace amx
