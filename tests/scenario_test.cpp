// Runs every scenario of tests/scenarios/registry.def under the production policy with real
// threads, as many rounds as its entry says (Scenario.<TypeName>), plus FreeFreeAdjacent once more
// in the default geometry.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "amx/policy/std_policy.hpp"
#include "scenarios/run.hpp"
#include "scenarios/scenarios.hpp"

namespace amx::scenario {
namespace {

// Starts the scenario's threads as OS threads and joins them.
struct RealThreads {
    template <class Body>
    void operator()(int n, const Body& body) const {
        std::vector<std::thread> ts;
        for (int i = 0; i < n; ++i) ts.emplace_back(body, i);
        for (auto& t : ts) t.join();
    }
};

template <template <class, class> class S, class G>
void run_many(int rounds) {
    using P = StdAtomicPolicy;
    ZeroedBytes seg(capacity<S<P, G>, G>());
    for (int r = 0; r < rounds; ++r) {
        seg.zero();  // a fresh segment reads as zeros
        const Outcome o = run<S, P, G>(P::Memory(seg.data(), seg.size()), static_cast<std::uint64_t>(r + 1), RealThreads{});
        ASSERT_TRUE(o.ok) << "round " << r << ": " << o.why;
    }
}

#define AMX_SCENARIO(NAME, TYPE, GEOMETRY, ROUNDS, OPS) \
    TEST(Scenario, TYPE) { run_many<TYPE, GEOMETRY>(ROUNDS); }
#include "scenarios/registry.def"
#undef AMX_SCENARIO

TEST(Scenario, FreeFreeAdjacentDefaultGeometry) { run_many<FreeFreeAdjacent, DefaultGeometry>(500); }

}  // namespace
}  // namespace amx::scenario
