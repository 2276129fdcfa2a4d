// Model-based test of the handler (rc::state): random command programs against the model of
// model.hpp, with the per-command properties of sut.hpp. Cases per run: RC_PARAMS max_success
// (2000 in ci/test, 100000 in ci/gate); a failure prints the shrunk program and its RC_PARAMS
// reproduce line.
//
// Coverage: every command kind (and every outcome of it) must have run at least once over the
// whole run, otherwise the test fails: a property that never ran proves nothing.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/state.h>

#include <bit>
#include <cstdio>

#include "commands_state.hpp"
#include "support/figures.hpp"

namespace amx::prop {
namespace {

Model initial_model() {
    Model m;
    m.data_bytes = MODEL_CAPACITY - ControlLayout<DefaultGeometry>::FIRST_BLOCK;
    return m;
}

TEST(ModelBased, HandlerMatchesTheModel) {
    g_coverage = {};
    const bool ok = rc::check("handler matches the model (P1-P4, P6, P7, P9-P11, CO1, TG1)", [] {
        amx::test::count_figure("cases");
        Sut sut;
        g_case_kinds = 0;
        rc::state::check(initial_model(), sut,
                         rc::state::gen::execOneOfWithArgs<Alloc, Alloc, Alloc, Free, Free, FreeAt, Write,
                                                           Check, SetState, Transition, Heal, StatsCmd,
                                                           Reattach, Unlink>());
        // One tag per case: how many of the command outcomes it exercised (the distribution shows
        // whether cases are rich enough to interleave them).
        const int kinds = std::popcount(g_case_kinds);
        RC_TAG(kinds < 5 ? "0-4 kinds" : kinds < 10 ? "5-9 kinds" : kinds < 15 ? "10-14 kinds" : "15+ kinds");
    });
    EXPECT_TRUE(ok);
    if (!ok) return;  // a failing case stops the run early: coverage then means nothing
    for (int k = 0; k < K_COUNT; ++k) {
        std::printf("  coverage %-22s %llu\n", KIND_NAMES[k], static_cast<unsigned long long>(g_coverage[k]));
        EXPECT_GT(g_coverage[k], 0u) << "command kind never ran: " << KIND_NAMES[k];
    }
}

}  // namespace
}  // namespace amx::prop
