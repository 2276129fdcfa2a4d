// FreeCensus (free_census.hpp): each neighbour case on a laid-out heap, and the bound's arithmetic.
// amx_atomic_count prints the census beside the measured RMWs per free; this is what makes its
// classification a check that can fail.
#include <gtest/gtest.h>

#include <vector>

#include "free_census.hpp"
#include "support/test_heap.hpp"

namespace amxb {
namespace {

using amx::test::TestHeap;

// The one counter a census of one free of `block` sets, by name.
const char* case_of(TestHeap<>& h, std::uint32_t block) {
    FreeCensus c;
    c.count(h->context(), block);
    EXPECT_EQ(c.frees, 1u);
    EXPECT_EQ(c.none + c.left_only + c.right_only_replaceable + c.right_only_other + c.both, 1u);
    if (c.none) return "none";
    if (c.left_only) return "left_only";
    if (c.right_only_replaceable) return "right_only_replaceable";
    if (c.right_only_other) return "right_only_other";
    return c.both ? "both" : "nothing";
}

// Five blocks of one size at the start of a fresh heap, the rest one free block W after them.
struct Laid {
    TestHeap<> h{1 << 16};
    std::vector<std::uint32_t> b;
    Laid() {
        for (int i = 0; i < 5; ++i) b.push_back(h->allocate(100).value());
    }
    const char* case_at(int i) { return case_of(h, b[i]); }
    void free(int i) { ASSERT_TRUE(h->free(b[i])); }
};

TEST(FreeCensus, NoFreeNeighbour) {
    Laid l;
    EXPECT_STREQ(l.case_at(2), "none");
}

TEST(FreeCensus, LeftNeighbourFree) {
    Laid l;
    l.free(1);
    EXPECT_STREQ(l.case_at(2), "left_only");
}

TEST(FreeCensus, BothNeighboursFree) {
    Laid l;
    l.free(1);
    l.free(3);
    EXPECT_STREQ(l.case_at(2), "both");
    EXPECT_STREQ(l.case_at(4), "both") << "d on the left, the rest of the heap on the right";
}

TEST(FreeCensus, RightNeighbourHeadingItsListButMergedIntoAnotherClass) {
    Laid l;
    l.free(1);  // b heads its class list; a + b is twice b's size, filed one class or more higher
    const auto& c = l.h->context();
    using Map = amx::SizeClasses<amx::DefaultGeometry>;
    const std::uint32_t size = c.size_w(l.b[1]).load(std::memory_order_relaxed);
    ASSERT_NE(Map::mapping_insert(2 * size), Map::mapping_insert(size));
    EXPECT_STREQ(l.case_at(0), "right_only_other");
}

TEST(FreeCensus, RightNeighbourBelowTheHeadOfItsList) {
    Laid l;
    l.free(1);
    l.free(3);  // pushed after b, to the same list: d heads it, b is below
    const auto& c = l.h->context();
    using Map = amx::SizeClasses<amx::DefaultGeometry>;
    const std::uint32_t cls = Map::mapping_insert(c.size_w(l.b[1]).load(std::memory_order_relaxed));
    ASSERT_EQ(amx::unpack_head(c.head_w(cls).load(std::memory_order_relaxed)).offset, l.b[3]);
    EXPECT_STREQ(l.case_at(0), "right_only_other");
}

// A payload size whose block, grown by a minimal block, stays in its class: then a small block
// freed left of it would be filed with it.
std::uint32_t wide_payload(const TestHeap<>& h) {
    using Map = amx::SizeClasses<amx::DefaultGeometry>;
    const std::uint32_t small = h.heap->block_size_for(1);
    for (std::uint32_t n = 1000; n < 8000; n += 16) {
        const std::uint32_t size = h.heap->block_size_for(n);
        if (Map::mapping_insert(size + small) == Map::mapping_insert(size)) return n;
    }
    return 0;
}

// a | B | c | D | e: small blocks between two big ones of one class.
struct Wide {
    TestHeap<> h{1 << 16};
    std::uint32_t a = 0, big1 = 0, big2 = 0;
    Wide() {
        const std::uint32_t n = wide_payload(h);
        if (n == 0) return;
        a = h->allocate(1).value();
        big1 = h->allocate(n).value();
        (void)h->allocate(1).value();
        big2 = h->allocate(n).value();
        (void)h->allocate(1).value();
    }
    const char* case_of_a() { return case_of(h, a); }
};

TEST(FreeCensus, RightNeighbourHeadingItsListAndMergedIntoTheSameClass) {
    Wide w;
    ASSERT_NE(w.a, 0u) << "no payload size found whose class has room for a small block more";
    ASSERT_TRUE(w.h->free(w.big1));
    EXPECT_STREQ(w.case_of_a(), "right_only_replaceable");
}

TEST(FreeCensus, RightNeighbourOfTheSameClassBelowTheHead) {
    Wide w;
    ASSERT_NE(w.a, 0u);
    ASSERT_TRUE(w.h->free(w.big1));
    ASSERT_TRUE(w.h->free(w.big2));  // same list, pushed later: heads it
    EXPECT_STREQ(w.case_of_a(), "right_only_other");
}

TEST(FreeCensus, RightNeighbourReplaceableAtTheHead) {
    Laid l;
    const auto& c = l.h->context();
    using Map = amx::SizeClasses<amx::DefaultGeometry>;
    const std::uint32_t e = l.b[4];
    const std::uint32_t w = e + c.size_w(e).load(std::memory_order_relaxed);
    const std::uint32_t wsize = c.size_w(w).load(std::memory_order_relaxed);
    // The rest of the heap heads its (only) list, and e + W falls in W's class.
    ASSERT_EQ(amx::unpack_head(c.head_w(Map::mapping_insert(wsize)).load(std::memory_order_relaxed)).offset, w);
    ASSERT_EQ(Map::mapping_insert(wsize + c.size_w(e).load(std::memory_order_relaxed)), Map::mapping_insert(wsize));
    EXPECT_STREQ(case_of(l.h, e), "right_only_replaceable");
}

TEST(FreeCensus, BoundIsTwoPerFreePlusOneForEachRightOrBothMerge) {
    FreeCensus c;
    EXPECT_EQ(c.rmw_lower_bound(), 0.0) << "nothing counted";
    c.frees = 5;
    c.none = c.left_only = c.right_only_replaceable = c.right_only_other = c.both = 1;
    EXPECT_DOUBLE_EQ(c.rmw_lower_bound(), (2.0 * 3 + 3.0 * 2) / 5);
    c = FreeCensus{};
    c.frees = 4;
    c.none = 4;
    EXPECT_DOUBLE_EQ(c.rmw_lower_bound(), 2.0);
    c = FreeCensus{};
    c.frees = 2;
    c.right_only_other = 1;
    c.both = 1;
    EXPECT_DOUBLE_EQ(c.rmw_lower_bound(), 3.0);
}

}  // namespace
}  // namespace amxb
