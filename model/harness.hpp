// Harness: turns a scenario of tests/scenarios/ into a Relacy test suite over the real core
// headers, and runs it with the scheduler a RunSpec asks for.
//
// Per execution Relacy constructs the suite afresh: before() zeroes the segment's words (a new shm
// or memfd segment reads as zeros) and runs the scenario's setup (scenario::Execution, run.hpp: the
// same steps every runner takes), thread(i) its thread i under the scheduler, after() its check,
// whose failure text becomes Relacy's failure description.
#pragma once
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <type_traits>

#include "runner.hpp"
#include "relacy_policy.hpp"  // last: it includes <relacy/relacy.hpp>

namespace amx::model {

// Run-wide state shared by the suite and the runner. Written only outside the simulation or from
// after() (single-threaded), and never read to make a scheduling decision.
struct RunControl {
    std::chrono::steady_clock::time_point deadline{};
    bool has_deadline = false;
    bool expired = false;       // sticky: the replay of the "budget" failure must fail the same way
    char why[1024] = {};        // the scenario's failure text (a static buffer: no leak in-iteration)
};
inline RunControl& control() {
    static RunControl c;
    return c;
}
inline constexpr const char* BUDGET_MARK = "model budget exhausted";

// Relacy runs a TinyGeometry scenario in ModelGeometry: the same classes, a transit word per thread.
template <class G>
using ModelGeometryOf = std::conditional_t<std::is_same_v<G, TinyGeometry>, ModelGeometry, G>;

template <template <class, class> class S, class G>
struct Suite : rl::test_suite<Suite<S, G>, S<RelacyAtomicPolicy, G>::THREADS> {
    using P = RelacyAtomicPolicy;
    using L = ControlLayout<G>;
    static constexpr std::uint32_t CAP = scenario::capacity<S<P, G>, G>();
    static constexpr std::uint64_t NONCE = 0x5EED;

    std::array<rl::atomic<std::uint32_t>, CAP / 4> w32;
    // 64-bit words: the heads, the participant registry, the transit counters and the blocks'
    // state pairs. A 32-bit and a 64-bit word at one offset are different model variables: the core
    // reaches a location at one width at a time (layout/block_header.hpp, scenario fill patterns;
    // the one overlap is a limit in docs/verification/model.md, "Two widths, two variables").
    std::array<rl::atomic<std::uint64_t>, CAP / 8> w64;
    P::Storage storage;
    scenario::Execution<S, P, G> run{P::Memory(&storage)};

    // Checked by Relacy at every scheduling point (reads through debug_value(): no memory-model
    // effect). FL1 at every step, not just at quiescence: a list head names 0 or a genuine header
    // (aligned, inside the data area, with its check word). A block absorbed while still listed
    // (a merge that did not pop its neighbour) breaks it at once.
    void invariant() {
        if (!run.has_heap()) return;
        for (std::uint32_t c = 0; c < SizeClasses<G>::CLASS_COUNT; ++c) {
            const Head h = unpack_head(w64[L::head(c) / 8].debug_value());
            if (h.offset == 0) continue;
            const bool genuine = h.offset >= L::FIRST_BLOCK && h.offset + L::MIN_BLOCK <= CAP &&
                                 h.offset % L::ALIGN == 0 &&
                                 w32[(h.offset + hdr::CHECK) / 4].debug_value() ==
                                     header_check(h.offset, static_cast<std::uint32_t>(NONCE));
            if (!genuine) {
                std::snprintf(control().why, sizeof control().why,
                              "invariant FL1: head of class %u names 0x%x, not a genuine header", c, h.offset);
                rl::ctx().fail_test(control().why, rl::test_result_user_invariant_failed, $);
                return;
            }
        }
    }

    void before() {
        for (auto& w : w32) w.store(0, rl::mo_relaxed, $);
        for (auto& w : w64) w.store(0, rl::mo_relaxed, $);
        storage = P::Storage{w32.data(), w64.data(), CAP};
        run.setup(NONCE);
    }

    void thread(unsigned i) { run.thread(static_cast<int>(i)); }

    void after() {
        const scenario::Outcome o = run.check();
        if (!o.ok) {
            std::snprintf(control().why, sizeof control().why, "%s", o.why.c_str());
            rl::ctx().fail_test(control().why, rl::test_result_user_assert_failed, $);
            return;
        }
        RunControl& c = control();
        if (c.expired || (c.has_deadline && std::chrono::steady_clock::now() > c.deadline)) {
            c.expired = true;
            rl::ctx().fail_test(BUDGET_MARK, rl::test_result_user_assert_failed, $);
        }
    }
};

inline std::string first_line_of(const std::string& s) {
    const auto nl = s.find('\n');
    return nl == std::string::npos ? s : s.substr(0, nl);
}

template <template <class, class> class S, class G>
RunResult run_suite(const RunSpec& spec) {
    RunControl& c = control();
    c = RunControl{};
    c.has_deadline = spec.budget_seconds > 0 && spec.sched != Sched::random;
    const auto start = std::chrono::steady_clock::now();
    if (c.has_deadline) {
        c.deadline = start + std::chrono::milliseconds(static_cast<long long>(spec.budget_seconds * 1000));
    }
    Weakening& w = weakening();
    w = Weakening{spec.weaken_file, spec.weaken_line, order_from_name(spec.weaken_order), 0};
    weaken_acq_rel_to_acquire() = spec.weaken_acq_rel_to_acquire;
    no_spurious_failures() = spec.sched != Sched::random && !spec.spurious;

    std::ofstream log(spec.log_path.empty() ? std::string("/dev/null") : spec.log_path, std::ios::app);
    rl::test_params p;
    p.output_stream = &log;
    p.progress_stream = &log;
    p.execution_depth_limit = spec.depth_limit;
    switch (spec.sched) {
        case Sched::random:
            p.search_type = rl::random_scheduler_type;
            p.initial_state = std::to_string(spec.from);
            p.iteration_count = spec.from + spec.iters - 1;
            break;
        case Sched::full:
            p.search_type = rl::fair_full_search_scheduler_type;
            p.initial_state = spec.state;
            break;
        case Sched::bound:
            p.search_type = rl::fair_context_bound_scheduler_type;
            p.context_bound = spec.bound;
            p.initial_state = spec.state;
            break;
    }
    const std::uint64_t first = spec.sched == Sched::random ? spec.from : 1;
    const bool passed = rl::simulate<Suite<S, G>>(p);
    RunResult r;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.weaken_hits = w.hits;
    r.executions = p.stop_iteration >= first ? p.stop_iteration - first + 1 : 0;
    if (passed) {
        r.ok = true;
        return r;
    }
    if (c.expired) {  // not a failure: the search ran out of time
        r.ok = true;
        r.incomplete = true;
        r.executions = r.executions > 0 ? r.executions - 1 : 0;
        r.replay_state = p.final_state;
        return r;
    }
    r.failed_iteration = p.stop_iteration;
    r.replay_state = p.final_state;
    r.failure = std::string(rl::test_result_str(p.test_result));
    if (c.why[0] != 0) r.failure += std::string(": ") + first_line_of(c.why) + " | " + c.why;
    return r;
}

}  // namespace amx::model
