// docs/BAD_INPUT.md rows R55-R73: offsets, states and requests a caller may pass by mistake or
// malice. Each is refused with its error and leaves every byte of the segment as it was (except
// R72, whose allocation heals before reporting out_of_memory: there the live data is checked).
#include <string>

#include "badinput/support.hpp"

namespace amx::testing_support {
namespace {

class Offsets : public LiveSegment {
protected:
    void expect_bad_offset(std::uint32_t h) {
        EXPECT_ERRC(h_->free_at(h), Errc::invalid_offset);
        EXPECT_ERRC(h_->raw_matrix().get_state(h, order::acquire), Errc::invalid_offset);
        EXPECT_ERRC(h_->raw_matrix().set_state(h, USER_STATE), Errc::invalid_offset);
        EXPECT_ERRC(h_->raw_matrix().transition_state(h, STATE_ALLOCATED, USER_STATE, order::acq_rel),
                    Errc::invalid_offset);
        if (h <= UINT32_MAX - BLOCK_HEADER_SIZE) {
            EXPECT_ERRC(h_->block_at<std::byte>(h + BLOCK_HEADER_SIZE), Errc::invalid_offset);
        }
    }
};

TEST_F(Offsets, R55_Zero) {
    expect_bad_offset(0);
    expect_untouched();
}
TEST_F(Offsets, R56_OutOfRange) {
    for (std::uint32_t h : {CAPACITY, CAPACITY + 16, CAPACITY - 16, 0xFFFFFFF0u, 0xFFFFFFFFu}) expect_bad_offset(h);
    expect_untouched();
}
TEST_F(Offsets, R57_Misaligned) {
    for (std::uint32_t d : {1u, 4u, 8u, 12u}) expect_bad_offset(header_of(0) + d);
    expect_untouched();
}
TEST_F(Offsets, R58_InsideABlock) {
    const std::uint32_t h = header_of(6);  // 640-byte payload
    for (std::uint32_t d : {16u, 32u, 64u, 320u}) expect_bad_offset(h + d);
    expect_untouched();
}
TEST_F(Offsets, R59_ControlArea) {
    for (std::uint32_t h : {16u, static_cast<std::uint32_t>(sizeof(SegmentHeader)), h_->first_block_offset() - 16}) {
        expect_bad_offset(h);
    }
    expect_untouched();
}
TEST_F(Offsets, R60_AlreadyFree) {
    const auto r = h_->free(freed_);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::invalid_offset);
    EXPECT_EQ(r.error().expected, STATE_FREE) << "detail carries the state found";
    EXPECT_ERRC(h_->set_state(freed_, USER_STATE), Errc::invalid_offset);
    EXPECT_ERRC(h_->block_at<std::byte>(freed_.offset), Errc::invalid_offset);
    expect_untouched();
}
// A payload that contains a header-shaped record (plausible size and state) at an aligned
// offset: without the header check word derived from the segment's nonce it is not a block.
TEST_F(Offsets, R61_ForgedHeaderInPayload) {
    auto extra = h_->allocate_raw(512);
    ASSERT_TRUE(extra);
    const std::uint32_t fake = extra->offset + 64;
    BlockHeader forged{128, STATE_ALLOCATED, extra->header_offset(), 0, 0x12345679u, 0, 0, 0};
    poke(base(), fake, forged);
    snapshot();
    expect_bad_offset(fake);
    expect_untouched();
}
// A stale handle: the block was freed and merged into its free left neighbour (its header is gone).
TEST_F(Offsets, R62_StaleHandleAfterMerge) {
    auto a = h_->allocate_raw(200);
    auto b = h_->allocate_raw(200);
    ASSERT_TRUE(a && b);
    const auto [left, right] = a->offset < b->offset ? std::pair{*a, *b} : std::pair{*b, *a};
    ASSERT_TRUE(h_->free(right));
    ASSERT_TRUE(h_->free(left));
    snapshot();
    for (const Block<std::byte> stale : {right, left}) {
        EXPECT_ERRC(h_->free(stale), Errc::invalid_offset);
        EXPECT_ERRC(h_->set_state(stale, USER_STATE), Errc::invalid_offset);
        EXPECT_ERRC(h_->block_at<std::byte>(stale.offset), Errc::invalid_offset);
        // get_state reads any genuine header, free ones included (the seed's contract).
        const auto s = h_->get_state(stale);
        EXPECT_TRUE(!s || *s == STATE_FREE);
    }
    expect_untouched();
}
TEST_F(Offsets, R63_BlockAtBelowHeader) {
    for (std::uint32_t p : {0u, 1u, 16u, 31u}) EXPECT_ERRC(h_->block_at<std::byte>(p), Errc::invalid_offset);
    expect_untouched();
}
TEST_F(Offsets, R64_TypeLargerThanBlock) {
    struct Big {
        std::byte b[4096];
    };
    const auto r = h_->block_at<Big>(blocks_[0].block.offset);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::type_too_large);
    EXPECT_EQ(r.error().found, sizeof(Big));
    EXPECT_LT(r.error().expected, sizeof(Big));
    EXPECT_GE(r.error().expected, blocks_[0].size) << "expected = the block's payload capacity";
    expect_untouched();
}

class States : public LiveSegment {};

TEST_F(States, R65_SetReservedState) {
    for (std::uint32_t s = 0; s < USER_STATE_MIN; ++s) {
        const auto r = h_->set_state(blocks_[0].block, s);
        ASSERT_FALSE(r) << s;
        EXPECT_EQ(r.error().code, Errc::reserved_status);
        EXPECT_EQ(r.error().found, s);
        EXPECT_EQ(r.error().expected, USER_STATE_MIN);
    }
    expect_untouched();
}
TEST_F(States, R66_SetStateOnFreeBlock) {
    EXPECT_ERRC(h_->set_state(freed_, USER_STATE), Errc::invalid_offset);
    expect_untouched();
}
TEST_F(States, R67_TransitionReserved) {
    for (std::uint32_t s = 0; s < USER_STATE_MIN; ++s) {
        EXPECT_ERRC(h_->transition_state(blocks_[3].block, USER_STATE, s), Errc::reserved_status);
        if (s != STATE_ALLOCATED) EXPECT_ERRC(h_->transition_state(blocks_[0].block, s, 70), Errc::reserved_status);
    }
    expect_untouched();
}
TEST_F(States, R68_TransitionFromWrongState) {
    const auto r = h_->transition_state(blocks_[0].block, USER_STATE, 61);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::transition_failed);
    EXPECT_EQ(r.error().found, STATE_ALLOCATED) << "found = the state the block is in";
    EXPECT_EQ(r.error().expected, USER_STATE);
    EXPECT_ERRC(h_->transition_state(freed_, STATE_ALLOCATED, 61), Errc::transition_failed);
    expect_untouched();
}

class Requests : public LiveSegment {};

TEST_F(Requests, R69_ZeroBytes) {
    const auto r = h_->allocate_raw(0);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::invalid_size);
    EXPECT_EQ(r.error().found, 0u);
    expect_untouched();
}
TEST_F(Requests, R70_LargerThanTheSegment) {
    for (std::uint64_t n : {std::uint64_t{CAPACITY}, std::uint64_t{0xFFFFFFE0u}, std::uint64_t{0xFFFFFFFFu},
                            std::uint64_t{1} << 32, std::uint64_t{1} << 40, ~std::uint64_t{0}}) {
        const auto r = h_->allocate_raw(n);
        ASSERT_FALSE(r) << n;
        EXPECT_EQ(r.error().code, Errc::invalid_size) << n;
        EXPECT_EQ(r.error().found, n);
    }
    expect_untouched();
}
TEST_F(Requests, R71_TypedTooLarge) {
    struct Huge {
        std::byte b[2 * CAPACITY];
    };
    EXPECT_ERRC(h_->allocate<Huge>(), Errc::invalid_size);
    expect_untouched();
}
// CORE BUG (deep tier only, see CMakeLists.txt): on a quiescent segment this returns contention.
// Heap::decisive_miss compares the heads before and after an exhaustive try_fit, but that try_fit
// pops (and holds) the too-small free block of the request's insert class, which moves that
// head's tag: the miss is never "decisive", and all MAX_ALLOC_ATTEMPTS end in contention.
TEST_F(Requests, R72_MoreThanIsFree) {
    const std::uint32_t data = CAPACITY - h_->first_block_offset();
    const auto r = h_->allocate_raw(data - 2 * BLOCK_HEADER_SIZE);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::out_of_memory) << r.error().message();
    expect_intact();
    EXPECT_TRUE(h_->allocate_raw(1000)) << "smaller requests still succeed";
}

// R73: alignment above 16 and non-trivially-copyable types are refused at compile time.
struct alignas(16) A16 {
    std::byte b[16];
};
struct alignas(32) A32 {
    std::byte b[32];
};
struct alignas(64) A64 {
    std::byte b[64];
};
template <class T>
constexpr bool can_allocate = requires(const MatrixHandler& h) { h.template allocate<T>(); };
template <class T>
constexpr bool can_block_at = requires(const MatrixHandler& h) { h.template block_at<T>(0u); };

TEST(CompileTime, R73_AlignmentAbove16AndNonTrivialTypes) {
    EXPECT_TRUE(can_allocate<A16>);
    EXPECT_TRUE(can_allocate<std::uint64_t>);
    EXPECT_FALSE(can_allocate<A32>);
    EXPECT_FALSE(can_allocate<A64>);
    EXPECT_FALSE(can_allocate<std::string>);
    EXPECT_TRUE(can_block_at<A16>);
    EXPECT_FALSE(can_block_at<A32>);
    EXPECT_FALSE(can_block_at<std::string>);
    static_assert(!can_allocate<A32> && !can_block_at<A64>);
}

}  // namespace
}  // namespace amx::testing_support
