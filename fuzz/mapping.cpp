// Fuzz target `mapping`: differential check of SizeClasses<G> against its definition, for several
// geometries (the default, the tiny model one, and two that stretch SL_LOG2 and ALIGN_LOG2).
//   - indices in range: mapping_insert(s), mapping_search(s) < CLASS_COUNT;
//   - mapping_insert rounds down: class_min(mapping_insert(s)) <= s < class_min(mapping_insert(s) + 1) (below the overflow class);
//   - mapping_search rounds up: every block filed at or above mapping_search(s) holds s, i.e. class_min(mapping_search(s)) >= s
//     unless mapping_search(s) is the overflow class; and it is the first such class;
//   - both are monotone: s1 <= s2 implies mapping_insert(s1) <= mapping_insert(s2), mapping_search(s1) <= mapping_search(s2).
#include <cstdint>
#include <string>
#include <utility>

#include "amx/core/mapping.hpp"
#include "amx/layout/segment_header.hpp"
#include "support/input.hpp"
#include "support/known_bugs.hpp"

namespace amx::fuzz::mapping {
namespace {

struct WideGeometry {  // 32 second-level classes, 32-byte alignment
    static constexpr std::uint32_t ALIGN_LOG2 = 5, SL_LOG2 = 5, FL_COUNT = 22, TAG_BITS = 8;
    static constexpr std::uint32_t MIN_PAYLOAD = 32, SETTLE_SPINS = 1;
};
struct NarrowGeometry {  // 2 second-level classes, 16-byte alignment, few first levels
    static constexpr std::uint32_t ALIGN_LOG2 = 4, SL_LOG2 = 1, FL_COUNT = 9, TAG_BITS = 4;
    static constexpr std::uint32_t MIN_PAYLOAD = 16, SETTLE_SPINS = 1;
};

template <Geometry G>
void check_one(std::uint64_t s, const char* name) {
    using M = SizeClasses<G>;
    auto bad = [&](const char* what, std::uint64_t v) {
        fail("mapping", strf("geometry %s, size %llu\n", name, static_cast<unsigned long long>(s)),
             strf("%s (value %llu)", what, static_cast<unsigned long long>(v)));
    };
    // MAP-1 (fixed; regressions/mapping/map-1-*): mapping_search(s) used to wrap for s near 2^64.
    const std::uint32_t ins = M::mapping_insert(s), srch = M::mapping_search(s);
    if (ins >= M::CLASS_COUNT) bad("insert index out of range", ins);
    if (srch >= M::CLASS_COUNT) bad("search index out of range", srch);
    if (M::class_min(ins) > s) bad("mapping_insert: class_min(mapping_insert(s)) > s", M::class_min(ins));
    if (ins != M::OVERFLOW_CLASS && M::class_min(ins + 1) <= s) bad("mapping_insert: s belongs to a higher class", M::class_min(ins + 1));
    if (srch != M::OVERFLOW_CLASS) {
        if (M::class_min(srch) < s) bad("mapping_search: a block of class mapping_search(s) may not hold s", M::class_min(srch));
        if (srch > 0 && M::class_min(srch - 1) >= s) bad("mapping_search: a lower class already holds s", srch - 1);
    } else if (M::OVERFLOW_CLASS > 0 && M::class_min(M::OVERFLOW_CLASS - 1) >= s) {
        bad("mapping_search: overflow chosen although a lower class holds s", srch);
    }
    if (srch < ins) bad("search below insert", srch);
}

template <Geometry G>
void check_pair(std::uint64_t a, std::uint64_t b, const char* name) {
    using M = SizeClasses<G>;
    if (a > b) std::swap(a, b);
    check_one<G>(a, name);
    check_one<G>(b, name);
    if (M::mapping_insert(a) > M::mapping_insert(b) || M::mapping_search(a) > M::mapping_search(b)) {
        fail("mapping", strf("geometry %s, sizes %llu <= %llu\n", name, static_cast<unsigned long long>(a),
                             static_cast<unsigned long long>(b)), "mapping not monotone");
    }
}

// Sizes: raw 64-bit values, block-like sizes (aligned, 32-bit) and values near powers of two.
std::uint64_t decode_size(ByteReader& in) {
    const std::uint8_t kind = in.u8() % 4;
    if (kind == 0) return in.u64() >> (in.u8() % 64);
    if (kind == 1) return std::uint64_t{in.u32()} & ~std::uint64_t{15};
    if (kind == 2) return (std::uint64_t{1} << (in.u8() % 40)) + static_cast<std::int8_t>(in.u8());
    return in.u16();
}

}  // namespace
}  // namespace amx::fuzz::mapping

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace amx::fuzz::mapping;
    amx::fuzz::ByteReader in(data, size);
    while (!in.empty()) {
        const std::uint8_t g = in.u8() % 4;
        const std::uint64_t a = decode_size(in), b = decode_size(in);
        switch (g) {
            case 0: check_pair<amx::DefaultGeometry>(a, b, "default"); break;
            case 1: check_pair<amx::TinyGeometry>(a, b, "tiny"); break;
            case 2: check_pair<WideGeometry>(a, b, "wide"); break;
            default: check_pair<NarrowGeometry>(a, b, "narrow"); break;
        }
    }
    return 0;
}
