// Call latencies as a log-linear histogram: fixed size (so it fits in a MAP_SHARED board that forked
// workers write), 1/32 relative resolution (a quantile is reported as the upper edge of its
// bucket, at most 1/32 = 3.1 % above the true value), the maximum kept exactly.
//
// Bucket of v ns: v < 32 -> v itself; otherwise (msb(v) - 4) * 32 + the 5 bits below the msb.
#pragma once
#include <algorithm>
#include <bit>
#include <cstdint>

namespace amxb {

struct LatencyHistogram {
    static constexpr std::uint32_t SUB = 32;       // buckets per power of two
    static constexpr std::uint32_t MAX_MSB = 40;   // 2^40 ns = 18 minutes: beyond is clamped
    static constexpr std::uint32_t BUCKETS = (MAX_MSB - 4) * SUB + SUB;

    std::uint64_t count[BUCKETS] = {};
    std::uint64_t calls = 0, max_ns = 0;

    static std::uint32_t bucket(std::uint64_t ns) {
        if (ns < SUB) return static_cast<std::uint32_t>(ns);
        const std::uint32_t msb = std::min<std::uint32_t>(63 - std::countl_zero(ns), MAX_MSB);
        const auto sub = static_cast<std::uint32_t>((ns >> (msb - 5)) & (SUB - 1));
        return std::min((msb - 4) * SUB + sub, BUCKETS - 1);
    }
    // The largest value that lands in bucket b.
    static std::uint64_t upper_edge(std::uint32_t b) {
        if (b < SUB) return b;
        const std::uint32_t msb = b / SUB + 4, sub = b % SUB;
        return ((std::uint64_t{SUB} + sub + 1) << (msb - 5)) - 1;
    }

    void add(std::uint64_t ns) {
        ++count[bucket(ns)];
        ++calls;
        max_ns = std::max(max_ns, ns);
    }
    void merge(const LatencyHistogram& o) {
        for (std::uint32_t b = 0; b < BUCKETS; ++b) count[b] += o.count[b];
        calls += o.calls;
        max_ns = std::max(max_ns, o.max_ns);
    }
    // The q-quantile (0 < q <= 1), as its bucket's upper edge, never above the maximum seen.
    std::uint64_t quantile(double q) const {
        const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(calls) + 0.999999);
        std::uint64_t seen = 0;
        for (std::uint32_t b = 0; b < BUCKETS; ++b) {
            seen += count[b];
            if (seen >= rank && seen > 0) return std::min(upper_edge(b), max_ns);
        }
        return max_ns;
    }
};

}  // namespace amxb
