// model_runner: runs the Relacy scenarios (model/scenario_tu.cpp, one object per entry of
// tests/scenarios/registry.def) with a scheduler or a tier preset.
// Plain main, no gtest and no Relacy in this translation unit (Relacy's macros break both).
//
//   model_runner --list                                  the registered scenarios, one name a line
//   model_runner --tier quick|full|random [--scenario a,b] [--part K/N] [--shard-file F] [--log DIR]
//   model_runner --scenario NAME --sched random|full|bound [--bound N] [--from N] [--iters N]
//                [--state S] [--budget SEC] [--weaken FILE:LINE [--weaken-acquire]]
//
// Every run prints one line: scenario, scheduler, bound, threads x ops, executions explored,
// seconds, verdict. A failure adds a one-line replay command. Exit status 1 if anything failed.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "runner.hpp"
#include "support/cli.hpp"
#include "support/figures.hpp"

namespace amx::model {

std::vector<ScenarioInfo>& registry() {
    static std::vector<ScenarioInfo> r;
    return r;
}
// Kept sorted by name: the order of static initialisation follows the link order, which differs
// between builds (CMake, the mutant runner).
bool register_scenario(const ScenarioInfo& s) {
    auto& r = registry();
    const auto at = std::find_if(r.begin(), r.end(), [&](const ScenarioInfo& x) { return std::string_view(s.name) < x.name; });
    r.insert(at, s);
    return true;
}
const std::vector<ScenarioInfo>& scenarios() { return registry(); }

namespace {

struct Options {
    std::string tier;             // empty: a single run described by spec
    std::vector<std::string> only;
    unsigned part = 0, parts = 1;  // --part K/N: every N-th selected scenario from the K-th (0-based)
    RunSpec spec;
    std::string shard_file;
    std::string log_dir = "model-logs";
    std::uint64_t quick_iters = 20000;
    double budget_full = 0;        // full/bound tier: seconds per scenario (0 = unbounded)
    std::string self = "model_runner";
};

const char* sched_name(Sched s) {
    return s == Sched::random ? "random" : s == Sched::full ? "full" : "bound";
}

std::string replay_command(const Options& o, const ScenarioInfo& sc, const RunSpec& s, const RunResult& r) {
    std::ostringstream cmd;
    cmd << o.self << " --scenario " << sc.name << " --sched " << sched_name(s.sched);
    if (s.sched == Sched::random) {
        cmd << " --from " << r.failed_iteration << " --iters 1";
    } else {
        if (s.sched == Sched::bound) cmd << " --bound " << s.bound;
        cmd << " --state '" << r.replay_state << "'";
    }
    if (!s.weaken_file.empty()) {
        cmd << " --weaken " << s.weaken_file << ":" << s.weaken_line;
        if (!s.weaken_order.empty()) cmd << ":" << s.weaken_order;
        if (s.weaken_acq_rel_to_acquire) cmd << " --weaken-acquire";
    }
    return cmd.str();
}

RunResult run_one(const Options& o, const ScenarioInfo& sc, RunSpec s) {
    s.log_path = o.log_dir + "/" + sc.name + "." + sched_name(s.sched) + ".log";
    const RunResult r = sc.run(s);
    std::string bound = "-";
    if (s.sched == Sched::bound) bound = std::to_string(s.bound);
    if (s.sched == Sched::random) bound = "iters " + std::to_string(s.from) + ".." + std::to_string(s.from + s.iters - 1);
    amx::test::figure("executions", r.executions, sc.name);
    const char* verdict = !r.ok ? "FAIL" : r.incomplete ? "INCOMPLETE(budget)" : "pass";
    std::printf("model: %-26s sched=%-6s bound=%-18s threads x ops=%d x %-34s executions=%-10llu seconds=%.2f %s",
                sc.name, sched_name(s.sched), bound.c_str(), sc.threads, sc.ops,
                static_cast<unsigned long long>(r.executions), r.seconds, verdict);
    if (!s.weaken_file.empty()) std::printf(" weakened=%s:%u hits=%u", s.weaken_file.c_str(), s.weaken_line, r.weaken_hits);
    std::printf("\n");
    if (r.incomplete) {
        std::printf("  note: search stopped by its %.0f s budget after %llu executions; resume with --state '%s'\n",
                    s.budget_seconds, static_cast<unsigned long long>(r.executions), r.replay_state.c_str());
    }
    if (!r.ok) {
        std::string why = r.failure;  // "verdict: first line | full text": print verdict and full text
        const auto bar = why.find(" | ");
        if (bar != std::string::npos) why = why.substr(0, why.find(": ") + 2) + why.substr(bar + 3);
        for (auto& ch : why) if (ch == '\n') ch = ';';
        std::printf("  failure: %s\n  history: %s\n  replay: %s\n", why.c_str(), s.log_path.c_str(),
                    replay_command(o, sc, s, r).c_str());
    }
    std::fflush(stdout);
    return r;
}

bool selected(const Options& o, const ScenarioInfo& sc) {
    if (o.only.empty()) return true;
    for (const auto& n : o.only) if (n == sc.name) return true;
    return false;
}

// Next first iteration per scenario, so successive random-tier runs explore new schedules.
std::map<std::string, std::uint64_t> read_shards(const std::string& path) {
    std::map<std::string, std::uint64_t> m;
    std::ifstream in(path);
    std::string name;
    std::uint64_t from = 0;
    while (in >> name >> from) m[name] = from;
    return m;
}
void write_shards(const std::string& path, const std::map<std::string, std::uint64_t>& m) {
    std::ofstream out(path, std::ios::trunc);
    for (const auto& [n, f] : m) out << n << " " << f << "\n";
}

// Full tier for one scenario: exhaustive search for 2 threads, context bound 2 for 3 threads. A
// search that cannot finish within the budget is not dropped: it is reported with the executions it
// explored, and the bound is lowered (or, for 2 threads, raised from 1) to the largest that finishes.
bool run_full(const Options& o, const ScenarioInfo& sc, RunSpec s) {
    s.budget_seconds = o.budget_full;
    bool ok = true;
    bool finished = false;
    if (sc.threads <= 2) {
        s.sched = Sched::full;
        const RunResult r = run_one(o, sc, s);
        ok = r.ok;
        finished = r.ok && !r.incomplete;
        // Exhaustive search out of budget: raise the context bound while searches still finish.
        for (unsigned b = 1; ok && !finished && b <= 8; ++b) {
            s.sched = Sched::bound;
            s.bound = b;
            const RunResult rb = run_one(o, sc, s);
            ok = rb.ok;
            if (!rb.ok || rb.incomplete) {
                if (b > 1) std::printf("  largest context bound that finished: %u\n", b - 1);
                else std::printf("  no context bound finished within %.0f s (bound 1 explored %llu executions)\n",
                                 s.budget_seconds, static_cast<unsigned long long>(rb.executions));
                break;
            }
        }
    } else {
        s.sched = Sched::bound;
        for (unsigned b = 2; b >= 1; --b) {
            s.bound = b;
            const RunResult r = run_one(o, sc, s);
            ok = r.ok;
            if (!r.ok || !r.incomplete) break;
            if (b == 1) std::printf("  no context bound finished within %.0f s\n", s.budget_seconds);
            else std::printf("  context bound %u did not finish: trying %u\n", b, b - 1);
        }
    }
    return ok;
}

bool run_tier(const Options& o) {
    bool ok = true;
    auto shards = o.shard_file.empty() ? std::map<std::string, std::uint64_t>{} : read_shards(o.shard_file);
    unsigned index = 0;  // among the selected scenarios, in registry (name) order
    for (const auto& sc : scenarios()) {
        if (!selected(o, sc)) continue;
        if (index++ % o.parts != o.part) continue;  // another --part runs it
        RunSpec s = o.spec;
        if (o.tier == "quick") {
            s.sched = Sched::random;
            s.from = 1;
            s.iters = o.quick_iters;
            ok = run_one(o, sc, s).ok && ok;
        } else if (o.tier == "full") {
            ok = run_full(o, sc, s) && ok;
        } else if (o.tier == "random") {
            // Sharded: each run continues where the previous one stopped (--shard-file).
            s.sched = Sched::random;
            s.from = shards.count(sc.name) ? shards[sc.name] : 1;
            s.iters = o.spec.iters;
            ok = run_one(o, sc, s).ok && ok;
            shards[sc.name] = s.from + s.iters;
            if (!o.shard_file.empty()) write_shards(o.shard_file, shards);
        }
    }
    return ok;
}

std::vector<std::string> split(const std::string& s, char c) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string part; std::getline(ss, part, c);) if (!part.empty()) out.push_back(part);
    return out;
}

// FILE:LINE or FILE:LINE:ORDER into spec (CLI11 has already checked the shape).
void set_weaken(RunSpec& spec, const std::string& v) {
    const auto parts = split(v, ':');
    spec.weaken_file = parts[0];
    spec.weaken_line = static_cast<unsigned>(std::stoul(parts[1]));
    if (parts.size() == 3) spec.weaken_order = parts[2];
}

// A decimal number of 1 to max_digits digits (std::stoul takes it without throwing).
bool is_number(const std::string& x, std::size_t max_digits) {
    return !x.empty() && x.size() <= max_digits && x.find_first_not_of("0123456789") == std::string::npos;
}

// --part K/N: N > 0 parts, K < N.
std::string check_part(const std::string& v) {
    const auto parts = split(v, '/');
    if (parts.size() != 2 || !is_number(parts[0], 4) || !is_number(parts[1], 4)) return "want K/N";
    if (std::stoul(parts[1]) == 0 || std::stoul(parts[0]) >= std::stoul(parts[1])) return "want 0 <= K < N";
    return {};
}

// The shape --weaken accepts: a file, a line number, optionally a memory order.
std::string check_weaken(const std::string& v) {
    const auto parts = split(v, ':');
    if (parts.size() != 2 && parts.size() != 3) return "want FILE:LINE or FILE:LINE:ORDER";
    if (!is_number(parts[1], 9)) return "LINE must be a number";
    return {};
}

void add_options(CLI::App& app, Options& o, bool& list) {
    const std::map<std::string, Sched> scheds{{"random", Sched::random}, {"full", Sched::full}, {"bound", Sched::bound}};
    app.add_flag("--list", list, "print the registered scenarios, one name a line, and exit");
    app.add_option("--tier", o.tier, "run a preset over the selected scenarios")
        ->check(CLI::IsMember({"quick", "full", "random"}));
    app.add_option_function<std::string>("--scenario", [&o](const std::string& v) { o.only = split(v, ','); },
                                         "comma-separated scenario names (default with --tier: all)");
    app.add_option_function<std::string>("--part", [&o](const std::string& v) {
        const auto kn = split(v, '/');
        o.part = static_cast<unsigned>(std::stoul(kn[0]));
        o.parts = static_cast<unsigned>(std::stoul(kn[1]));
    }, "with --tier: run only every N-th selected scenario from the K-th (0-based), so N runners share a tier")
        ->check(check_part, "K/N");
    app.add_option_function<std::string>("--sched", [&o, scheds](const std::string& v) { o.spec.sched = scheds.at(v); },
                                         "scheduler of a single run")
        ->check(CLI::IsMember({"random", "full", "bound"}));
    app.add_option("--bound", o.spec.bound, "context bound (--sched bound)")->check(CLI::NonNegativeNumber);
    app.add_option("--from", o.spec.from, "first random iteration")->check(CLI::NonNegativeNumber);
    app.add_option("--iters", o.spec.iters, "random iterations (single run, random tier)")->check(CLI::NonNegativeNumber);
    app.add_option("--quick-iters", o.quick_iters, "random iterations per scenario of the quick tier")->check(CLI::NonNegativeNumber);
    app.add_option("--state", o.spec.state, "resume or replay a full/bound search from this state");
    app.add_option_function<double>("--budget", [&o](double v) { o.spec.budget_seconds = v; o.budget_full = v; },
                                    "seconds per search (0 = unbounded)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--depth", o.spec.depth_limit, "execution depth limit")->check(CLI::NonNegativeNumber);
    app.add_option("--shard-file", o.shard_file, "random tier: where each scenario's next iteration is kept");
    app.add_option("--log", o.log_dir, "directory of the per-run history logs");
    app.add_option_function<std::string>("--weaken", [&o](const std::string& v) { set_weaken(o.spec, v); },
                                         "run with the atomic at FILE:LINE[:ORDER] weakened")
        ->check(check_weaken, "FILE:LINE[:ORDER]");
    app.add_flag("--weaken-acquire", o.spec.weaken_acq_rel_to_acquire, "weaken acq_rel to acquire (default: release)");
    app.add_flag("--spurious", o.spec.spurious, "let compare_exchange_weak fail spuriously");
}

}  // namespace
}  // namespace amx::model

int main(int argc, char** argv) {
    using namespace amx::model;
    Options o;
    o.self = argv[0];
    bool list = false;
    CLI::App app{"Runs the Relacy model-checking scenarios with a scheduler or a tier preset.", "model_runner"};
    add_options(app, o, list);
    if (const auto rc = amx::test::parse_cli(app, argc, argv)) return *rc;
    if (list) {
        for (const auto& s : scenarios()) std::printf("%s\n", s.name);
        return 0;
    }
    if (o.tier.empty() && o.only.empty()) {
        std::fprintf(stderr, "model_runner: give --tier, --scenario or --list (see --help)\n");
        return amx::test::USAGE_EXIT;
    }
    std::system(("mkdir -p '" + o.log_dir + "'").c_str());
    bool ok = true;
    if (!o.tier.empty()) {
        ok = run_tier(o);
    } else {
        for (const auto& sc : scenarios()) if (selected(o, sc)) ok = run_one(o, sc, o.spec).ok && ok;
    }
    return ok ? 0 : 1;
}
