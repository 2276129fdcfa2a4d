// Runs every scenario of tests/scenarios/ under the production policy with real threads, many
// times, with both the tiny and the default geometry.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "amx/policy/std_policy.hpp"
#include "scenarios/scenarios.hpp"

namespace amx::scenario {
namespace {

template <class Sc>
concept RawScenario = requires { Sc::RAW; };

template <template <class, class> class S, class G>
void run_many(int rounds) {
    using P = StdAtomicPolicy;
    using L = ControlLayout<G>;
    using Sc = S<P, G>;
    const std::uint32_t cap = L::FIRST_BLOCK + Sc::BLOCKS * L::MIN_BLOCK;
    std::vector<std::uint64_t> buf((cap + 7) / 8);
    for (int r = 0; r < rounds; ++r) {
        std::fill(buf.begin(), buf.end(), 0);  // a fresh segment reads as zeros
        P::Memory mem(reinterpret_cast<std::byte*>(buf.data()), cap);
        Sc sc;
        Outcome o;
        std::vector<std::thread> ts;
        if constexpr (RawScenario<Sc>) {
            sc.setup_raw(mem);
            for (int i = 0; i < Sc::THREADS; ++i) ts.emplace_back([&, i] { sc.thread_raw(mem, i); });
            for (auto& t : ts) t.join();
            sc.check_raw(mem, o);
        } else {
            ASSERT_TRUE((Heap<P, G>::format(mem, FormatParams{static_cast<std::uint64_t>(r + 1), 1, 1})));
            Env<P, G> env(*Heap<P, G>::attach(mem));
            sc.setup(env);
            for (int i = 0; i < Sc::THREADS; ++i) ts.emplace_back([&, i] { sc.thread(env, i); });
            for (auto& t : ts) t.join();
            sc.check(env, o);
        }
        ASSERT_TRUE(o.ok) << "round " << r << ": " << o.why;
    }
}

TEST(Scenario, FreeFreeAdjacent) { run_many<FreeFreeAdjacent, TinyGeometry>(2000); }
TEST(Scenario, AllocAlloc) { run_many<AllocAlloc, TinyGeometry>(2000); }
TEST(Scenario, AllocVsFreeNeighbour) { run_many<AllocVsFreeNeighbour, TinyGeometry>(2000); }
TEST(Scenario, DoubleFreeRace) { run_many<DoubleFreeRace, TinyGeometry>(2000); }
TEST(Scenario, AbaThreeThreads) { run_many<AbaThreeThreads, TinyGeometry>(2000); }
TEST(Scenario, BitmapClearVsPush) { run_many<BitmapClearVsPush, TinyGeometry>(2000); }
TEST(Scenario, AllocSplitVsFreeRight) { run_many<AllocSplitVsFreeRight, TinyGeometry>(2000); }
TEST(Scenario, HealVsAllocFree) { run_many<HealVsAllocFree, TinyGeometry>(2000); }
TEST(Scenario, StateVsFree) { run_many<StateVsFree, TinyGeometry>(2000); }
TEST(Scenario, FormatVsAttach) { run_many<FormatVsAttach, TinyGeometry>(2000); }
TEST(Scenario, PushVsPop) { run_many<PushVsPop, TinyGeometry>(2000); }
TEST(Scenario, PopVsPop) { run_many<PopVsPop, TinyGeometry>(2000); }
TEST(Scenario, PopIfHeadVsPop) { run_many<PopIfHeadVsPop, TinyGeometry>(2000); }
TEST(Scenario, AllocHandoffInspect) { run_many<AllocHandoffInspect, TinyGeometry>(2000); }
TEST(Scenario, AllocHandoffFree) { run_many<AllocHandoffFree, TinyGeometry>(2000); }
TEST(Scenario, StateHandoff) { run_many<StateHandoff, TinyGeometry>(2000); }
TEST(Scenario, NoSpuriousOomHeal) { run_many<NoSpuriousOomHeal, TinyGeometry>(2000); }
TEST(Scenario, NoSpuriousOomHeld) { run_many<NoSpuriousOomHeld, TinyGeometry>(2000); }
TEST(Scenario, OomWhileHeld) { run_many<OomWhileHeld, TinyGeometry>(2000); }
TEST(Scenario, OomAfterRelease) { run_many<OomAfterRelease, TinyGeometry>(2000); }
TEST(Scenario, OomChurn) { run_many<OomChurn, TinyGeometry>(500); }
TEST(Scenario, FreeFreeAdjacentDefaultGeometry) { run_many<FreeFreeAdjacent, DefaultGeometry>(500); }

}  // namespace
}  // namespace amx::scenario
