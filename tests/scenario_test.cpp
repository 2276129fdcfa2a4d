// Runs every scenario of tests/scenarios/ under the production policy with real threads, many
// times, with both the tiny and the default geometry.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "amx/policy/std_policy.hpp"
#include "scenarios/scenarios.hpp"

namespace amx::scenario {
namespace {

template <template <class, class> class S, class G>
void run_many(int rounds) {
    using P = StdAtomicPolicy;
    using L = ControlLayout<G>;
    using Sc = S<P, G>;
    const std::uint32_t cap = L::FIRST_BLOCK + Sc::BLOCKS * L::MIN_BLOCK;
    std::vector<std::uint64_t> buf((cap + 7) / 8);
    for (int r = 0; r < rounds; ++r) {
        P::Memory mem(reinterpret_cast<std::byte*>(buf.data()), cap);
        ASSERT_TRUE((Heap<P, G>::format(mem, FormatParams{static_cast<std::uint64_t>(r + 1), 1, 1})));
        Env<P, G> env(*Heap<P, G>::attach(mem));
        Sc sc;
        sc.setup(env);
        std::vector<std::thread> ts;
        for (int i = 0; i < Sc::THREADS; ++i) ts.emplace_back([&, i] { sc.thread(env, i); });
        for (auto& t : ts) t.join();
        Outcome o;
        sc.check(env, o);
        ASSERT_TRUE(o.ok) << "round " << r << ": " << o.why;
    }
}

TEST(Scenario, FreeFreeAdjacent) { run_many<FreeFreeAdjacent, TinyGeometry>(2000); }
TEST(Scenario, AllocAlloc) { run_many<AllocAlloc, TinyGeometry>(2000); }
TEST(Scenario, AllocVsFreeNeighbour) { run_many<AllocVsFreeNeighbour, TinyGeometry>(2000); }
TEST(Scenario, DoubleFreeRace) { run_many<DoubleFreeRace, TinyGeometry>(2000); }
TEST(Scenario, FreeFreeAdjacentDefaultGeometry) { run_many<FreeFreeAdjacent, DefaultGeometry>(500); }

}  // namespace
}  // namespace amx::scenario
