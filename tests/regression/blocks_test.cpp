// Regression tests for the original's block-geometry defects: sizes, the first block, the search
// class, splits, coalescing direction, arithmetic and the header size (U1-U3, U5, U14, U22, U24,
// U25). Each starts from the smallest trigger in /work/shared/UPSTREAM.md; verify() is the oracle,
// plus the defect's own post-condition.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "amx/handler/handler.hpp"
#include "support/test_heap.hpp"

namespace amx {
namespace {

using test::TestHeap;
using Map = SizeClasses<DefaultGeometry>;
using Lay = ControlLayout<DefaultGeometry>;

std::uint32_t size_of(TestHeap<>& h, std::uint32_t b) { return h->context().size_w(b).load(StdAtomicPolicy::relaxed); }
std::byte* payload(TestHeap<>& h, std::uint32_t b) { return h.base() + b + BLOCK_HEADER_SIZE; }

// U1: the header was not counted in the block size, so a full payload overwrote the next header.
TEST(Regression, U1_FullPayloadDoesNotReachTheNextHeader) {
    for (std::uint32_t n : {16u, 17u, 100u, 1000u}) {
        TestHeap<> h(1 << 16);
        const std::uint32_t a = *h->allocate(n), b = *h->allocate(n);
        EXPECT_GE(*h->live_payload(a), n);
        EXPECT_GE(b, a + BLOCK_HEADER_SIZE + n) << "the second header starts after the first payload";
        test::fill(payload(h, a), n, 1);
        test::fill(payload(h, b), n, 2);
        EXPECT_TRUE(test::check_fill(payload(h, a), n, 1)) << n;
        EXPECT_TRUE(test::check_fill(payload(h, b), n, 2)) << n;
        const auto r = h.verify();
        EXPECT_TRUE(r.ok()) << n << ": " << r.to_string();
        EXPECT_TRUE(h->free(b));
        EXPECT_TRUE(h->free(a));
    }
}

// U2: the first free block was sized from the struct size, not from the first block's offset, and
// ran 16 bytes past the segment.
TEST(Regression, U2_FirstBlockEndsExactlyAtTheSegmentEnd) {
    auto m = MatrixHandler::in_memory(64 * 1024);
    ASSERT_TRUE(m) << m.error().message();
    const auto r = m->verify(VerifyMode::after_heal);
    EXPECT_TRUE(r.ok()) << r.to_string();
    EXPECT_EQ(r.blocks, 1u);
    const std::uint32_t data = m->segment_size() - m->first_block_offset();
    EXPECT_EQ(r.free_bytes, data);
    EXPECT_EQ(m->stats().largest_free, data);
    auto all = m->allocate_raw(data - BLOCK_HEADER_SIZE);
    ASSERT_TRUE(all) << all.error().message();
    test::fill(m->raw_base_ptr() + all->offset, data - BLOCK_HEADER_SIZE, 3);  // up to the last byte
    EXPECT_EQ(all->offset + data - BLOCK_HEADER_SIZE, m->segment_size());
    EXPECT_TRUE(m->verify().ok()) << m->verify().to_string();
    EXPECT_EQ(m->allocate_raw(1).error().code, Errc::out_of_memory);
}

// U3: the search started in the request's own class, which holds smaller blocks. A free 256-byte
// block sits in the class of 256..287; a request needing 272 must not get it.
TEST(Regression, U3_SearchNeverReturnsABlockSmallerThanTheRequest) {
    TestHeap<> h(1 << 16);
    const std::uint32_t a = *h->allocate(256 - BLOCK_HEADER_SIZE);
    const std::uint32_t guard = *h->allocate(16);
    ASSERT_TRUE(h->free(a));
    ASSERT_EQ(size_of(h, a), 256u);
    ASSERT_EQ(Map::mapping_insert(256), Map::mapping_insert(272)) << "the trigger needs both in one class";
    const std::uint32_t n = 272 - BLOCK_HEADER_SIZE;
    const std::uint32_t b = *h->allocate(n);
    EXPECT_NE(b, a);
    EXPECT_GE(*h->live_payload(b), n);
    test::fill(payload(h, b), n, 4);
    EXPECT_TRUE(test::check_fill(payload(h, b), n, 4));
    EXPECT_TRUE(h.verify().ok()) << h.verify().to_string();
    (void)guard;
}

// U5: a split did not update the right neighbour's prev_phys. Split X (allocate a small block from
// a free X), free the left part, free the right neighbour: everything must merge, no overlap.
TEST(Regression, U5_SplitUpdatesTheRightNeighboursBackLink) {
    TestHeap<> h(1 << 16);
    const std::uint32_t x = *h->allocate(1024);
    const std::uint32_t w = *h->allocate(16);  // X's right neighbour
    const std::uint32_t g = *h->allocate(16);  // keeps W's right side allocated
    ASSERT_TRUE(h->free(x));
    const std::uint32_t left = *h->allocate(16);  // split X: left part | remainder
    ASSERT_EQ(left, x);
    const std::uint32_t rem = x + size_of(h, x);
    EXPECT_EQ(h->context().prev_w(w).load(StdAtomicPolicy::relaxed), rem);
    EXPECT_TRUE(h.verify().ok()) << h.verify().to_string();
    ASSERT_TRUE(h->free(left));
    ASSERT_TRUE(h->free(w));
    auto r = h.verify();
    EXPECT_TRUE(r.ok()) << r.to_string();
    ASSERT_TRUE(h->free(g));
    h->heal();
    r = h.verify(VerifyMode::after_heal);
    EXPECT_TRUE(r.ok()) << r.to_string();
    EXPECT_EQ(r.blocks, 1u);
}

// U14: coalescing only went left, so 100 blocks freed in descending order stayed 100 fragments and
// the empty segment reported out of memory.
TEST(Regression, U14_DescendingFreesCoalesceWithoutHeal) {
    TestHeap<> h(1 << 16);
    std::vector<std::uint32_t> blocks = h.allocate_until_full(16);
    ASSERT_GE(blocks.size(), 100u);
    std::reverse(blocks.begin(), blocks.end());
    for (auto b : blocks) ASSERT_TRUE(h->free(b));
    const auto r = h.verify(VerifyMode::after_heal);  // no heal() call: free alone merged them
    EXPECT_TRUE(r.ok()) << r.to_string();
    EXPECT_EQ(r.blocks, 1u);
    EXPECT_TRUE(h->allocate(h.data_bytes() - BLOCK_HEADER_SIZE)) << "the empty segment is one block";
}

// U14, the other half: fragments that free cannot merge (neighbours deep in their lists) are merged
// by the automatic heal before an allocation may report out of memory.
TEST(Regression, U14_AllocationHealsBeforeOutOfMemory) {
    TestHeap<> h(1 << 16);
    std::vector<std::uint32_t> blocks = h.allocate_until_full(16);
    for (std::size_t i = 0; i < blocks.size(); i += 2) ASSERT_TRUE(h->free(blocks[i]));
    for (std::size_t i = 1; i < blocks.size(); i += 2) ASSERT_TRUE(h->free(blocks[i]));
    EXPECT_TRUE(h.verify().ok()) << h.verify().to_string();
    auto all = h->allocate(h.data_bytes() - BLOCK_HEADER_SIZE);
    ASSERT_TRUE(all) << all.error().message();
    EXPECT_TRUE(h.verify().ok()) << h.verify().to_string();
}

// U22: unchecked arithmetic. Requests near 2^32 must not wrap into small blocks; segment sizes
// below the minimum or unaligned are refused.
TEST(Regression, U22_HugeRequestsAndTinySegmentsAreRefused) {
    auto m = MatrixHandler::in_memory(1 << 16);
    ASSERT_TRUE(m);
    const std::uint32_t data = m->segment_size() - m->first_block_offset();
    for (std::uint64_t n : std::vector<std::uint64_t>{0xFFFFFFFFull, 0xFFFFFFF0ull, 0xFFFFFFE1ull, 0x100000010ull, ~0ull, std::uint64_t{data - 31},
                            std::uint64_t{data}, 0ull}) {
        auto r = m->allocate_raw(n);
        ASSERT_FALSE(r) << n;
        EXPECT_EQ(r.error().code, Errc::invalid_size) << n;
    }
    EXPECT_TRUE(m->allocate_raw(data - BLOCK_HEADER_SIZE)) << "the largest request still fits";
    for (std::uint64_t size : std::vector<std::uint64_t>{0ull, 1000ull, std::uint64_t{Lay::MIN_CAPACITY - 16}, std::uint64_t{Lay::MIN_CAPACITY + 8},
                               5ull << 30}) {
        auto s = MatrixHandler::in_memory(size);
        ASSERT_FALSE(s) << size;
        EXPECT_EQ(s.error().code, Errc::invalid_size) << size;
    }
    auto smallest = MatrixHandler::in_memory(Lay::MIN_CAPACITY);
    ASSERT_TRUE(smallest) << smallest.error().message();
    EXPECT_TRUE(smallest->allocate_raw(Lay::MIN_BLOCK - BLOCK_HEADER_SIZE));
    EXPECT_TRUE(smallest->verify().ok());
}

// U24: a split could leave a remainder smaller than a header, even 0 bytes, and write a header over
// the next block. A free 96-byte block serving requests of 96, 80 and 64 bytes leaves remainders
// of 0, 16 and 32: none may be split off.
TEST(Regression, U24_NoRemainderSmallerThanAMinimalBlock) {
    for (std::uint32_t need : {96u, 80u, 64u}) {
        TestHeap<> h(1 << 16);
        const std::uint32_t a = *h->allocate(64), g = *h->allocate(16);
        test::fill(payload(h, g), 16, 9);
        ASSERT_TRUE(h->free(a));
        const std::uint32_t b = *h->allocate(need - BLOCK_HEADER_SIZE);
        ASSERT_EQ(b, a) << need;
        EXPECT_EQ(size_of(h, b), 96u) << "given whole, remainder " << 96 - need;
        test::fill(payload(h, b), 64, 8);
        EXPECT_TRUE(test::check_fill(payload(h, g), 16, 9)) << need;
        EXPECT_EQ(h->context().prev_w(g).load(StdAtomicPolicy::relaxed), a) << need;
        const auto r = h.verify();
        EXPECT_TRUE(r.ok()) << need << ": " << r.to_string();
    }
}

// U25: the 0.3 free() hard-coded a 32-byte header while the core used 48. Here the header size
// comes from sizeof(BlockHeader) everywhere; the handler's free of a Block must free that block.
TEST(Regression, U25_HandlerFreeUsesTheRealHeaderSize) {
    static_assert(BLOCK_HEADER_SIZE == sizeof(BlockHeader));
    auto m = MatrixHandler::in_memory(1 << 16);
    ASSERT_TRUE(m);
    auto a = *m->allocate<std::uint64_t>();
    auto b = *m->allocate<std::uint64_t>();
    EXPECT_EQ(a.header_offset() + sizeof(BlockHeader), a.offset);
    EXPECT_EQ(a.header_offset(), m->first_block_offset());
    m->write(a, std::uint64_t{0x1111});
    ASSERT_TRUE(m->free(b));
    EXPECT_EQ(*m->get_state(a), STATE_ALLOCATED) << "freeing b must not touch a";
    EXPECT_EQ(m->read(a), 0x1111u);
    EXPECT_FALSE(m->block_at<std::uint64_t>(b.offset)) << "b is free";
    ASSERT_TRUE(m->free(a));
    m->heal();
    const auto r = m->verify(VerifyMode::after_heal);
    EXPECT_TRUE(r.ok()) << r.to_string();
    EXPECT_EQ(r.blocks, 1u) << "every free reclaimed its block";
}

}  // namespace
}  // namespace amx
