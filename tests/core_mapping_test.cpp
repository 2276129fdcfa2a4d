#include <gtest/gtest.h>

#include "amx/core/mapping.hpp"

namespace amx {
namespace {

template <class G>
void check_mapping(std::uint64_t max_size) {
    using M = SizeClasses<G>;
    std::uint32_t last = 0;
    for (std::uint64_t s = 16; s <= max_size; s += (s < 4096 ? 1 : s / 97)) {
        const std::uint32_t ins = M::mapping_insert(s);
        ASSERT_LT(ins, M::CLASS_COUNT) << s;
        ASSERT_GE(ins, last) << "insert is monotone at " << s;
        last = ins;
        if (ins != M::OVERFLOW_CLASS) ASSERT_LE(M::class_min(ins), s) << "insert rounds down at " << s;
        const std::uint32_t srch = M::mapping_search(s);
        ASSERT_GE(srch, ins) << s;
        if (srch != M::OVERFLOW_CLASS) {
            ASSERT_GE(M::class_min(srch), s) << "every block of the search class fits " << s;
        }
    }
}

TEST(Mapping, DefaultGeometryRoundsUpForSearchAndDownForInsert) {
    check_mapping<DefaultGeometry>(0xFFFFFFF0ull);
}

TEST(Mapping, TinyGeometryClampsToTheOverflowClass) {
    check_mapping<TinyGeometry>(4096);
    using M = SizeClasses<TinyGeometry>;
    EXPECT_EQ(M::mapping_insert(48), 3u);
    EXPECT_EQ(M::mapping_insert(64), 4u);
    EXPECT_EQ(M::mapping_insert(96), M::OVERFLOW_CLASS);
    EXPECT_EQ(M::mapping_insert(100000), M::OVERFLOW_CLASS);
}

// DefaultGeometry clamps no size into its last class, but mapping_search returns it, without a
// guaranteed fit, for block sizes above 15 x 2^28 bytes (mapping.hpp, PROTOCOL.md section 6).
TEST(Mapping, DefaultGeometrySearchesItsLastClassAboveFifteenTimesTwoToThe28) {
    using M = SizeClasses<DefaultGeometry>;
    constexpr std::uint64_t last_min = std::uint64_t{15} << 28;
    EXPECT_EQ(M::class_min(M::OVERFLOW_CLASS), last_min);
    EXPECT_EQ(M::mapping_insert(0xFFFFFFF0ull), M::OVERFLOW_CLASS);
    EXPECT_EQ(M::mapping_insert(last_min - 16), M::OVERFLOW_CLASS - 1);
    EXPECT_EQ(M::mapping_search(last_min), M::OVERFLOW_CLASS);       // every block there (>= last_min) fits
    EXPECT_EQ(M::mapping_search(last_min + 16), M::OVERFLOW_CLASS);  // a block of last_min there does not
}

// U3: the original searched the request's own class, which holds smaller blocks.
TEST(Mapping, U3_SearchClassNeverHoldsSmallerBlocks) {
    using M = SizeClasses<DefaultGeometry>;
    // A 272-byte block request: its own class [256, 288) holds 256-byte blocks.
    EXPECT_LT(M::class_min(M::mapping_insert(272)), 272u);
    EXPECT_GE(M::class_min(M::mapping_search(272)), 272u);
}

}  // namespace
}  // namespace amx
