// Size geometry: the TLSF class grid, alignment and tag width the core is instantiated with.
//
// A geometry is a struct of constants. DefaultGeometry covers every block size below 4 GiB with
// 26 x 8 classes. TinyGeometry is for the model checker (docs/PROTOCOL.md H8): a handful of classes
// and a 2-bit tag so that class exhaustion, the overflow class and tag wrap happen within a few
// operations.
#pragma once
#include <concepts>
#include <cstdint>

namespace amx {

struct DefaultGeometry {
    static constexpr std::uint32_t ALIGN_LOG2 = 4;  // 16-byte blocks and payloads
    static constexpr std::uint32_t SL_LOG2 = 3;     // 8 second-level classes per first level
    static constexpr std::uint32_t FL_COUNT = 26;   // first levels: enough for sizes < 2^32
    static constexpr std::uint32_t TAG_BITS = 32;   // ABA tag width of a free-list head
    static constexpr std::uint32_t MIN_PAYLOAD = 16;
    // Cap of the spin-hint backoff between allocation attempts, and the number of attempts.
    static constexpr std::uint32_t SETTLE_SPINS = 512;
    static constexpr std::uint32_t MAX_ALLOC_ATTEMPTS = 1024;
    // Blocks of a class list free looks at for a free neighbour that is not the head (unlink.hpp);
    // beyond them the neighbour is left to heal. Chosen by measurement (docs/PROTOCOL.md §7).
    static constexpr std::uint32_t MERGE_WALK = 2048;
};

// 3 x 2 classes; with 48-byte minimal blocks the reachable ones are {48}, {64..95} and the
// overflow class {96..}. The tag is 16 bits; model scenarios that study tag wrap narrow it.
struct TinyGeometry {
    static constexpr std::uint32_t ALIGN_LOG2 = 4;
    static constexpr std::uint32_t SL_LOG2 = 1;
    static constexpr std::uint32_t FL_COUNT = 3;
    static constexpr std::uint32_t TAG_BITS = 16;
    static constexpr std::uint32_t MIN_PAYLOAD = 16;
    static constexpr std::uint32_t SETTLE_SPINS = 1;
    // Two: a neighbour at depth 2 is taken, one at depth 3 is left to heal (both reachable).
    static constexpr std::uint32_t MERGE_WALK = 2;
};

// The model checker's geometry: TinyGeometry with a transit slot per simulated thread (up to 4,
// named by the policy's thread_slot()).
struct ModelGeometry : TinyGeometry {
    static constexpr std::uint32_t TRANSIT_SLOTS = 4;
};

template <class G>
concept Geometry = requires {
    { G::ALIGN_LOG2 } -> std::convertible_to<std::uint32_t>;
    { G::SL_LOG2 } -> std::convertible_to<std::uint32_t>;
    { G::FL_COUNT } -> std::convertible_to<std::uint32_t>;
    { G::TAG_BITS } -> std::convertible_to<std::uint32_t>;
    { G::MIN_PAYLOAD } -> std::convertible_to<std::uint32_t>;
    { G::SETTLE_SPINS } -> std::convertible_to<std::uint32_t>;
} && (G::ALIGN_LOG2 >= 4) && (G::SL_LOG2 >= 1) && (G::SL_LOG2 <= 5) && (G::FL_COUNT >= 1) &&
    (G::FL_COUNT <= 32) && (G::TAG_BITS >= 1) && (G::TAG_BITS <= 32);

}  // namespace amx
