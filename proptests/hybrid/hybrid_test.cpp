// The hybrid: RapidCheck generates small concurrent programs (2-3 threads, 1-3 operations each),
// each case is model-checked under Relacy with context bound 2 (every interleaving with at most two
// preemptions), and a failing program is shrunk by RapidCheck to a smaller concurrent program.
// Property id: P13 (docs/verification/prop.md).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <string>

#include "hybrid/program.hpp"
#include "support/figures.hpp"

namespace rc {
template <>
struct Arbitrary<amx::prop::Op> {
    static Gen<amx::prop::Op> arbitrary() {
        using amx::prop::Op;
        return gen::element(Op::pop, Op::push, Op::cycle2, Op::alloc_small, Op::alloc_large, Op::free_mine,
                            Op::free_setup, Op::heal);
    }
};
}  // namespace rc

namespace amx::prop {

// RapidCheck prints a shrunk program through this (found by ADL).
inline void showValue(const Program& p, std::ostream& os) { os << show(p); }

namespace {

// Per-case budget for the bounded search (seconds); a search cut short is counted, not failed.
double case_budget() {
    const char* s = std::getenv("AMX_HYBRID_BUDGET");
    return s ? std::atof(s) : 5.0;
}

// AMX_HYBRID_OPS=list restricts programs to the list operations (pop, push, cycle2): the search per
// case is then short enough to find and shrink the ABA mutant (docs/verification/prop.md).
rc::Gen<Op> gen_op() {
    const char* only = std::getenv("AMX_HYBRID_OPS");
    if (only != nullptr && std::string(only) == "list") return rc::gen::element(Op::pop, Op::push, Op::cycle2);
    return rc::gen::arbitrary<Op>();
}

rc::Gen<Program> gen_program() {
    auto thread = rc::gen::resize(3, rc::gen::nonEmpty(rc::gen::container<std::vector<Op>>(gen_op())));
    return rc::gen::map(rc::gen::mapcat(rc::gen::inRange(2, 4),
                                        [thread](int n) { return rc::gen::container<std::vector<std::vector<Op>>>(static_cast<std::size_t>(n), thread); }),
                        [](std::vector<std::vector<Op>> t) { return Program{std::move(t)}; });
}

std::uint64_t g_execs = 0, g_cases = 0, g_incomplete = 0;

TEST(Hybrid, P13_GeneratedConcurrentProgramsPassUnderRelacy) {
    const auto start = std::chrono::steady_clock::now();
    const bool ok = rc::check("P13: concurrent programs under Relacy, context bound 2", [] {
        const Program p = *gen_program();
        for (const auto& t : p.threads) RC_PRE(t.size() >= 1u && t.size() <= 3u);
        const HybridResult r = run_under_relacy(p, 2, case_budget());
        ++g_cases;
        amx::test::count_figure("cases");
        g_execs += r.executions;
        if (r.incomplete) ++g_incomplete;
        RC_TAG(p.threads.size() == 2 ? "2 threads" : "3 threads");
        if (!r.ok) RC_FAIL(show(p) + "\n  " + r.failure);
    });
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("  hybrid: %llu cases, %llu Relacy executions, %llu searches cut by the budget, %.1f s\n",
                static_cast<unsigned long long>(g_cases), static_cast<unsigned long long>(g_execs),
                static_cast<unsigned long long>(g_incomplete), secs);
    EXPECT_TRUE(ok);
    EXPECT_GT(g_execs, g_cases) << "Relacy explored no interleavings";
}

// Replays one program given as AMX_HYBRID_PROGRAM (threads separated by '|', operations by ',':
// s = alloc(16), l = alloc(64), f = free_mine, r = free_setup, h = heal, p = pop, u = push,
// c = cycle2), e.g. "s|s,f|s" or "p|c", with
// the search budget of AMX_HYBRID_BUDGET: to measure one shrunk program (docs/verification/prop.md).
Program parse_program(const std::string& text) {
    Program p;
    p.threads.emplace_back();
    for (char c : text) {
        switch (c) {
            case '|': p.threads.emplace_back(); break;
            case 's': p.threads.back().push_back(Op::alloc_small); break;
            case 'l': p.threads.back().push_back(Op::alloc_large); break;
            case 'f': p.threads.back().push_back(Op::free_mine); break;
            case 'r': p.threads.back().push_back(Op::free_setup); break;
            case 'h': p.threads.back().push_back(Op::heal); break;
            case 'p': p.threads.back().push_back(Op::pop); break;
            case 'u': p.threads.back().push_back(Op::push); break;
            case 'c': p.threads.back().push_back(Op::cycle2); break;
            default: break;
        }
    }
    return p;
}

// A tool, not a check: disabled, so it is never a skipped test in a run. Replay with
//   AMX_HYBRID_PROGRAM="s|s,f|s" prop_hybrid_test --gtest_also_run_disabled_tests --gtest_filter='*Replay*'
TEST(Hybrid, DISABLED_ReplayOneProgram) {
    const char* text = std::getenv("AMX_HYBRID_PROGRAM");
    ASSERT_NE(text, nullptr) << "set AMX_HYBRID_PROGRAM to the program to replay";
    const Program p = parse_program(text);
    ASSERT_TRUE(p.threads.size() == 2 || p.threads.size() == 3) << "2 or 3 threads";
    const HybridResult r = run_under_relacy(p, 2, case_budget());
    std::printf("  %s: %s, %llu executions%s, %.1f s\n", show(p).c_str(), r.ok ? "passed" : r.failure.c_str(),
                static_cast<unsigned long long>(r.executions), r.incomplete ? " (cut by the budget)" : "", r.seconds);
    EXPECT_TRUE(r.ok) << r.failure;
}

}  // namespace
}  // namespace amx::prop
