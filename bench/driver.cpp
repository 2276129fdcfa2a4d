// amx_workload: the original's endurance loop on atomic-matrix and, in the same invocation, on
// Boost.Interprocess managed_shared_memory (the baseline). Every run is checked (fill patterns,
// end-of-run verify / Boost sanity); a run that is not clean prints its failure, never a figure,
// and makes the exit status 1.
//
//   amx_workload [--alloc=amx|boost|both] [--configs=t1,t2,p2] [--seconds=5] [--runs=3]
//                [--segment-mib=64] [--scaling=1,16,256,1024] [--callgrind-ops=200000]
//                [--json=PATH]
//   tN = N threads sharing one segment; pN = N processes, each attaching by name.
//   --callgrind-ops: also run each allocator under valgrind --tool=callgrind for a fixed number of
//   iterations (1 thread) and report instructions per iteration (the loop only: collection is
//   toggled around it), stable where wall time is noisy.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "allocators.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "support/cli.hpp"

namespace amxb {
namespace {

struct Options {
    std::string alloc = "both";
    std::vector<std::string> configs{"t1", "t2", "p2"};
    double seconds = 5;
    std::size_t runs = 3;
    std::uint64_t segment_mib = 64;
    std::vector<std::uint64_t> scaling_mib;
    std::uint64_t callgrind_ops = 0;
    std::string json;
    bool child = false;         // internal: one fixed-op run (under callgrind)
    std::uint64_t child_ops = 0;
};

void add_options(CLI::App& app, Options& o) {
    app.add_option("--alloc", o.alloc, "allocators to run (null: the bare harness, with --child only)")
        ->check(CLI::IsMember({"amx", "boost", "both", "null"}));
    app.add_option("--configs", o.configs, "tN = N threads sharing one segment, pN = N processes")->delimiter(',');
    app.add_option("--seconds", o.seconds, "seconds per run")->check(CLI::PositiveNumber);
    app.add_option("--runs", o.runs, "runs per configuration and allocator")->check(CLI::PositiveNumber);
    app.add_option("--segment-mib", o.segment_mib, "segment size in MiB")->check(CLI::PositiveNumber);
    app.add_option("--scaling", o.scaling_mib, "segment sizes in MiB for the 1-thread scaling table")
        ->delimiter(',')
        ->check(CLI::PositiveNumber);
    app.add_option("--callgrind-ops", o.callgrind_ops, "iterations per allocator under callgrind (0: none)")->check(CLI::NonNegativeNumber);
    app.add_option("--json", o.json, "write every run's figures to this file");
    app.add_flag("--child", o.child, "internal: one fixed-op run (under callgrind)");
    app.add_option("--ops", o.child_ops, "internal: iterations of the --child run")->check(CLI::NonNegativeNumber);
}

bool wants(const Options& o, const char* a) { return o.alloc == "both" || o.alloc == a; }

bool parse_config(const std::string& c, RunConfig& cfg, std::string& label) {
    if (c.size() < 2 || (c[0] != 't' && c[0] != 'p')) return false;
    cfg.processes = c[0] == 'p';
    cfg.workers = static_cast<std::uint32_t>(std::stoul(c.substr(1)));
    if (cfg.workers == 0) return false;
    const bool many = cfg.workers > 1;
    label = std::to_string(cfg.workers) +
            (cfg.processes ? (many ? " processes" : " process") : (many ? " threads" : " thread"));
    return true;
}

// Runs both allocators alternately, so slow phases of a loaded machine hit both.
void measure(const Options& o, Row& row) {
    for (std::size_t i = 0; i < o.runs; ++i) {
        if (wants(o, "amx")) row.amx.runs.push_back(run_once<AmxBackend>(row.cfg));
        if (wants(o, "boost")) row.boost.runs.push_back(run_once<BoostBackend>(row.cfg));
        std::fprintf(stderr, "  %s: run %zu/%zu done\n", row.config.c_str(), i + 1, o.runs);
    }
}

std::string self_exe() {
    char buf[4096];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

// Instructions in the loop for `ops` iterations, one thread, counted by callgrind in a child.
IrResult callgrind(const std::string& alloc, std::uint64_t ops, std::uint64_t seg_mib) {
    IrResult r{alloc, seg_mib << 20, ops, 0, false, {}};
    const std::string out = "/tmp/amxbench-cg-" + std::to_string(getpid()) + "-" + alloc + "-" + std::to_string(seg_mib);
    const std::string cmd = "valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file=" + out + " " +
                            self_exe() + " --child --alloc=" + alloc + " --ops=" + std::to_string(ops) +
                            " --segment-mib=" + std::to_string(seg_mib) + " >" + out + ".log 2>&1";
    const int rc = std::system(cmd.c_str());
    std::ifstream in(out);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("totals:", 0) == 0 || line.rfind("summary:", 0) == 0) {
            r.instructions = std::stoull(line.substr(line.find(':') + 1));
        }
    }
    r.ok = rc == 0 && r.instructions > 0;
    if (!r.ok) r.error = "callgrind run failed (status " + std::to_string(rc) + "), see " + out + ".log";
    else std::remove((out + ".log").c_str());
    std::remove(out.c_str());
    return r;
}

int child_main(const Options& o) {
    RunConfig cfg;
    cfg.fixed_ops = o.child_ops;
    cfg.segment_bytes = o.segment_mib << 20;
    const RunResult r = o.alloc == "boost" ? run_once<BoostBackend>(cfg)
                        : o.alloc == "null" ? run_once<NullBackend>(cfg)
                                            : run_once<AmxBackend>(cfg);
    std::fprintf(stderr, "%s: %s\n", r.clean ? "clean" : "UNCLEAN", r.check.c_str());
    return r.clean ? 0 : 1;
}

Machine machine() {
    Machine m;
    std::ifstream cpu("/proc/cpuinfo");
    for (std::string line; std::getline(cpu, line);) {
        if (line.rfind("model name", 0) == 0) { m.cpu = line.substr(line.find(':') + 2); break; }
    }
    m.loadavg = load_average();
    m.cores = std::thread::hardware_concurrency();
    m.compiler = __VERSION__;
#ifdef __OPTIMIZE__
    m.optimised = true;
#endif
#ifdef NDEBUG
    m.ndebug = true;
#endif
    return m;
}

void print_ir(const std::vector<IrResult>& ir, std::uint64_t seg) {
    const IrResult* a = find_ir(ir, "amx", seg);
    const IrResult* b = find_ir(ir, "boost", seg);
    const IrResult* h = find_ir(ir, "null", seg);
    std::printf("\nInstructions per iteration (callgrind, 1 thread, %llu iterations, %llu MiB segment;\n"
                "harness = the same loop on a trivial slot stack: rng, fill, check, bookkeeping):\n",
                static_cast<unsigned long long>(a ? a->ops : b ? b->ops : 0), static_cast<unsigned long long>(seg >> 20));
    std::printf("  amx %s   boost %s   harness %s", ir_cell(a).c_str(), ir_cell(b).c_str(), ir_cell(h).c_str());
    if (a && b && a->ok && b->ok) std::printf("   ratio boost/amx %.2fx", b->per_op() / a->per_op());
    std::printf("\n");
    if (a && b && h && a->ok && b->ok && h->ok) {
        const double ao = a->per_op() - h->per_op(), bo = b->per_op() - h->per_op();
        std::printf("  allocator only (minus harness): amx %.0f   boost %.0f   ratio boost/amx %.2fx\n", ao, bo, bo / ao);
    }
    for (const auto* x : {a, b, h}) {
        if (x && !x->ok) std::printf("  %s: %s\n", x->alloc.c_str(), x->error.c_str());
    }
}

bool all_clean(const std::vector<Row>& rows) {
    for (const auto& r : rows) {
        if ((r.amx.present() && !r.amx.clean()) || (r.boost.present() && !r.boost.clean())) return false;
    }
    return true;
}

int driver_main(const Options& o) {
    const Machine m = machine();
    std::printf("amx_workload: %s, %u cores, load average at start: %s\n", m.cpu.c_str(), m.cores, m.loadavg.c_str());
    std::printf("build: %s, %s, %s\n", m.compiler.c_str(), m.optimised ? "optimised" : "NOT optimised",
                m.ndebug ? "NDEBUG" : "assertions on");
    std::vector<Row> rows, scaling;
    for (const auto& c : o.configs) {
        Row row;
        if (!parse_config(c, row.cfg, row.config)) {
            std::fprintf(stderr, "bad config %s (want tN or pN)\n", c.c_str());
            return 2;
        }
        row.cfg.seconds = o.seconds;
        row.cfg.segment_bytes = o.segment_mib << 20;
        measure(o, row);
        rows.push_back(std::move(row));
    }
    for (const auto mib : o.scaling_mib) {
        Row row;
        row.config = std::to_string(mib) + " MiB";
        row.cfg.seconds = o.seconds;
        row.cfg.segment_bytes = mib << 20;
        measure(o, row);
        scaling.push_back(std::move(row));
    }
    std::vector<IrResult> ir;
    if (o.callgrind_ops > 0) {
        std::vector<std::uint64_t> sizes{o.segment_mib};
        for (const auto mib : o.scaling_mib) {
            if (mib != o.segment_mib) sizes.push_back(mib);
        }
        for (const auto mib : sizes) {
            for (const char* a : {"amx", "boost"}) {
                if (wants(o, a)) ir.push_back(callgrind(a, o.callgrind_ops, mib));
            }
            if (mib == o.segment_mib) ir.push_back(callgrind("null", o.callgrind_ops, mib));
        }
    }
    if (!rows.empty()) print_throughput(rows, o.seconds, o.runs);
    if (!scaling.empty()) print_scaling(scaling, ir);
    if (!ir.empty()) print_ir(ir, o.segment_mib << 20);
    bool ok = all_clean(rows) && all_clean(scaling);
    for (const auto& x : ir) ok = ok && x.ok;
    std::printf("\n%s\n", ok ? "all runs verify clean" : "SOME RUNS WERE NOT CLEAN (see above)");
    if (!o.json.empty()) {
        std::ofstream out(o.json, std::ios::trunc);
        out << bench_json(m, o.seconds, o.runs, rows, scaling, ir).dump(2) << "\n";
        if (!out.flush()) {
            std::fprintf(stderr, "cannot write %s\n", o.json.c_str());
            return 1;
        }
    }
    return ok ? 0 : 1;
}

}  // namespace
}  // namespace amxb

int main(int argc, char** argv) {
    amxb::Options o;
    CLI::App app{"The endurance workload on atomic-matrix and on Boost.Interprocess, every run checked.",
                 "amx_workload"};
    amxb::add_options(app, o);
    if (const auto rc = amx::test::parse_cli(app, argc, argv)) return *rc;
    if (o.alloc == "null" && !o.child) {
        std::fprintf(stderr, "amx_workload: --alloc=null needs --child\n");
        return amx::test::USAGE_EXIT;
    }
    return o.child ? amxb::child_main(o) : amxb::driver_main(o);
}
