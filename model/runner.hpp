// The model runner's plain interface: no Relacy here, so main.cpp never sees Relacy's macros.
// Each scenario lives in its own translation unit (model/scenario_tu.cpp, compiled once per entry of
// tests/scenarios/registry.def) that includes Relacy and registers one run function here at
// static-initialisation time.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace amx::model {

enum class Sched { random, full, bound };

struct RunSpec {
    Sched sched = Sched::random;
    unsigned bound = 2;               // context bound (Sched::bound)
    std::uint64_t from = 1;           // first iteration (Sched::random): shards start here
    std::uint64_t iters = 1000;       // iterations (Sched::random)
    std::string state;                // resume/replay state printed by a failed full/bound run
    double budget_seconds = 0;        // 0 = none; full/bound searches stop (and say so) past it
    unsigned depth_limit = 4000;      // Relacy execution_depth_limit (steps per execution)
    std::string log_path;             // Relacy's own output (histories) goes to this file
    std::string weaken_file;          // ordering site to weaken: file suffix ...
    unsigned weaken_line = 0;         // ... and line (see relacy_policy.hpp) ...
    std::string weaken_order;         // ... and only operations asking for this ordering
    bool weaken_acq_rel_to_acquire = false;
    bool spurious = false;            // full search: keep spurious cas_weak failures (never finishes)
};

struct RunResult {
    bool ok = false;
    bool incomplete = false;          // the search hit its time budget before finishing
    std::uint64_t executions = 0;     // executions explored
    double seconds = 0;
    std::string failure;              // Relacy's verdict and the scenario's own reason
    std::string replay_state;         // for Sched::full / Sched::bound replays
    std::uint64_t failed_iteration = 0;
    unsigned weaken_hits = 0;         // how often the weakened site executed
};

using RunFn = RunResult (*)(const RunSpec&);

struct ScenarioInfo {
    const char* name;
    int threads;
    const char* ops;  // what each thread does, for the cost table
    RunFn run;
};

bool register_scenario(const ScenarioInfo& s);
const std::vector<ScenarioInfo>& scenarios();

}  // namespace amx::model
