// Tables (fmt) and bench.json (nlohmann-json) for the workload driver. A figure is printed only for a series whose every run
// was clean; otherwise the cell says UNCLEAN and the failure is printed under the table.
#pragma once
#include <fmt/core.h>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runner.hpp"

namespace amxb {

// The runs of one allocator in one configuration.
struct Series {
    std::string alloc;
    std::vector<RunResult> runs;

    bool present() const { return !runs.empty(); }
    bool clean() const {
        return present() && std::all_of(runs.begin(), runs.end(), [](const RunResult& r) { return r.clean; });
    }
    double median(const std::function<double(const RunResult&)>& f) const {
        std::vector<double> v;
        for (const auto& r : runs) v.push_back(f(r));
        if (v.empty()) return 0;
        std::sort(v.begin(), v.end());
        return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
    }
    double ok_per_s() const { return median([](const RunResult& r) { return r.ok_per_s(); }); }
    double ops_per_s() const { return median([](const RunResult& r) { return r.ops_per_s(); }); }
    double cpu_share() const { return median([](const RunResult& r) { return r.cpu_share; }); }
    double ns_per_op(std::uint32_t w) const { return median([w](const RunResult& r) { return r.ns_per_op(w); }); }
    double cpu_ns_per_op() const { return median([](const RunResult& r) { return r.cpu_ns_per_op(); }); }

    // Failed allocations over all runs, by error name: "none" or "out_of_memory:3 contention:1".
    std::string failed() const {
        std::map<std::string, std::uint64_t> sum;
        for (const auto& r : runs) {
            for (const auto& [k, v] : r.failed) sum[k] += v;
        }
        if (sum.empty()) return "none";
        std::string s;
        for (const auto& [k, v] : sum) s += (s.empty() ? "" : " ") + k + ":" + std::to_string(v);
        return s;
    }
    std::string failures() const {
        std::string s;
        for (std::size_t i = 0; i < runs.size(); ++i) {
            if (!runs[i].clean) s += "  " + alloc + " run " + std::to_string(i + 1) + ": " + runs[i].check + "\n";
        }
        return s;
    }
};

struct Row {
    std::string config;  // "1 thread", "2 processes", "1 MiB"...
    RunConfig cfg;
    Series amx{"amx", {}}, boost{"boost", {}};
};

inline std::string cell_mops(const Series& s, double v) {
    if (!s.present()) return "-";
    return s.clean() ? fmt::format("{:.2f}", v / 1e6) : "UNCLEAN";
}

inline std::string ratio(const Row& r, double ours, double theirs) {
    if (!r.amx.clean() || !r.boost.clean() || theirs <= 0) return "-";
    return fmt::format("{:.2f}x", ours / theirs);
}

inline std::string cpu_cell(const Series& s) {
    return s.clean() ? fmt::format("{:.0f}%", 100 * s.cpu_share()) : "-";
}

inline void print_throughput(const std::vector<Row>& rows, double seconds, std::size_t runs) {
    fmt::print("\nThroughput: median of {} run(s) of {:.1f} s; ok = successful allocations + frees,\n"
               "all = every loop iteration (the original's metric); ratio = amx ok / boost ok.\n",
               runs, seconds);
    constexpr auto line = "{:<13} {:>10} {:>10} {:>8} {:>10} {:>8} {:>8}  {:<22} {}\n";
    fmt::print(line, "config", "amx ok", "amx all", "amx cpu", "boost ok", "boost cpu", "ratio", "amx failed allocs",
               "check");
    fmt::print("{:<13} {:>10} {:>10} {:>8} {:>10} {:>8} {:>8}\n", "", "Mop/s", "Mop/s", "", "Mop/s", "", "");
    for (const auto& r : rows) {
        const bool all_clean = (!r.amx.present() || r.amx.clean()) && (!r.boost.present() || r.boost.clean());
        fmt::print(line, r.config, cell_mops(r.amx, r.amx.ok_per_s()), cell_mops(r.amx, r.amx.ops_per_s()),
                   cpu_cell(r.amx), cell_mops(r.boost, r.boost.ok_per_s()), cpu_cell(r.boost),
                   ratio(r, r.amx.ok_per_s(), r.boost.ok_per_s()), r.amx.failed(), all_clean ? "clean" : "NOT CLEAN");
    }
    for (const auto& r : rows) {
        for (const Series* s : {&r.amx, &r.boost}) {
            if (s->clean()) fmt::print("  {}, {}, last run: {}\n", r.config, s->alloc, s->runs.back().check);
        }
    }
    for (const auto& r : rows) {
        const std::string f = r.amx.failures() + r.boost.failures();
        if (!f.empty()) fmt::print("UNCLEAN in {}:\n{}", r.config, f);
    }
}

struct IrResult {
    std::string alloc;
    std::uint64_t segment_bytes = 0, ops = 0, instructions = 0;
    bool ok = false;
    std::string error;
    double per_op() const { return ops ? double(instructions) / ops : 0; }
};

inline const IrResult* find_ir(const std::vector<IrResult>& v, const std::string& a, std::uint64_t seg) {
    for (const auto& x : v) {
        if (x.alloc == a && x.segment_bytes == seg) return &x;
    }
    return nullptr;
}

inline std::string ir_cell(const IrResult* x) {
    if (x == nullptr) return "-";
    return x->ok ? fmt::format("{:.0f}", x->per_op()) : "FAILED";
}

// Cost per operation as the segment grows: the O(1) claim says it stays flat. Wall ns/op is what a
// quiet machine shows; CPU ns/op (thread CPU time per iteration) is less hurt by other load; Ir/op
// (callgrind) does not depend on load at all.
struct Spread {
    double lo = 1e300, hi = 0;
    void add(double v) { lo = std::min(lo, v); hi = std::max(hi, v); }
    void print(const char* what) const {
        if (hi > 0) fmt::print("amx {} spread (max/min - 1): {:.1f} % (limit 20 %)\n", what, 100 * (hi / lo - 1));
    }
};

inline void print_scaling(const std::vector<Row>& rows, const std::vector<IrResult>& ir) {
    fmt::print("\nScaling (1 thread): cost per iteration as the segment grows\n");
    constexpr auto line = "{:<10} {:>10} {:>10} {:>8} {:>10} {:>10} {:>10} {:>10}\n";
    fmt::print(line, "segment", "amx ns", "boost ns", "ratio", "amx cpu-ns", "boost cpu-ns", "amx Ir", "boost Ir");
    Spread wall, cpu, ins;
    for (const auto& r : rows) {
        const bool a_ok = r.amx.clean(), b_ok = r.boost.clean();
        const IrResult* ia = find_ir(ir, "amx", r.cfg.segment_bytes);
        if (a_ok) { wall.add(r.amx.ns_per_op(1)); cpu.add(r.amx.cpu_ns_per_op()); }
        if (ia && ia->ok) ins.add(ia->per_op());
        auto cell = [](const Series& s, bool ok, double v) {
            return ok ? fmt::format("{:.1f}", v) : std::string(s.present() ? "UNCLEAN" : "-");
        };
        fmt::print(line, r.config, cell(r.amx, a_ok, r.amx.ns_per_op(1)), cell(r.boost, b_ok, r.boost.ns_per_op(1)),
                   ratio(r, r.boost.ns_per_op(1), r.amx.ns_per_op(1)), cell(r.amx, a_ok, r.amx.cpu_ns_per_op()),
                   cell(r.boost, b_ok, r.boost.cpu_ns_per_op()), ir_cell(ia),
                   ir_cell(find_ir(ir, "boost", r.cfg.segment_bytes)));
    }
    wall.print("wall ns/op");
    cpu.print("cpu ns/op");
    ins.print("Ir/op");
}

// bench.json: every run's raw figures (not only the medians), the callgrind counts, the machine and
// the build, so a later invocation can be compared figure by figure.
struct Machine {
    std::string cpu, loadavg, compiler;
    unsigned cores = 0;
    bool optimised = false, ndebug = false;
};

inline nlohmann::json series_json(const Series& s, std::uint32_t workers) {
    if (!s.present()) return nullptr;
    nlohmann::json runs = nlohmann::json::array();
    for (const RunResult& r : s.runs) {
        runs.push_back({{"clean", r.clean}, {"ops", r.ops}, {"ok_ops", r.ok_ops}, {"idle", r.idle},
                        {"wall_s", r.wall_s}, {"cpu_share", r.cpu_share}, {"loadavg", r.loadavg}, {"check", r.check}});
    }
    return {{"clean", s.clean()}, {"median_ok_per_s", s.ok_per_s()}, {"median_ops_per_s", s.ops_per_s()},
            {"median_cpu_share", s.cpu_share()}, {"median_ns_per_op", s.ns_per_op(workers)},
            {"median_cpu_ns_per_op", s.cpu_ns_per_op()}, {"failed", s.failed()}, {"runs", runs}};
}

inline nlohmann::json rows_json(const std::vector<Row>& rows) {
    nlohmann::json out = nlohmann::json::array();
    for (const Row& r : rows) {
        const bool comparable = r.amx.clean() && r.boost.clean() && r.boost.ok_per_s() > 0;
        out.push_back({{"config", r.config}, {"processes", r.cfg.processes}, {"workers", r.cfg.workers},
                       {"segment_bytes", r.cfg.segment_bytes},
                       {"ratio_ok", comparable ? r.amx.ok_per_s() / r.boost.ok_per_s() : 0.0},
                       {"amx", series_json(r.amx, r.cfg.workers)}, {"boost", series_json(r.boost, r.cfg.workers)}});
    }
    return out;
}

inline nlohmann::json bench_json(const Machine& m, double seconds, std::size_t runs, const std::vector<Row>& rows,
                                 const std::vector<Row>& scaling, const std::vector<IrResult>& ir) {
    nlohmann::json cg = nlohmann::json::array();
    for (const IrResult& x : ir) {
        cg.push_back({{"alloc", x.alloc}, {"segment_bytes", x.segment_bytes}, {"ops", x.ops},
                      {"instructions", x.instructions}, {"per_op", x.per_op()}, {"ok", x.ok}, {"error", x.error}});
    }
    return {{"machine", {{"cpu", m.cpu}, {"cores", m.cores}, {"loadavg_at_start", m.loadavg}}},
            {"build", {{"compiler", m.compiler}, {"optimised", m.optimised}, {"ndebug", m.ndebug}}},
            {"seconds_per_run", seconds}, {"runs", runs}, {"throughput", rows_json(rows)},
            {"scaling", rows_json(scaling)}, {"callgrind", cg}};
}

}  // namespace amxb
