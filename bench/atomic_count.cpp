// amx_atomic_count: the endurance workload on a heap instantiated with CountingPolicy, reporting
// per allocate and per free: serialising atomics (RMWs) by core call site, acquire loads and release
// stores, and which control-area cache lines are RMW'd (the lines every participant writes, which
// bounce between cores). Counts, not times: stable on a loaded machine. With one thread also which
// free neighbours each freed block had, and the fewest RMWs per free that mix allows a design that
// claims, coalesces on every free and publishes on shared list heads (free_census.hpp).
//
//   amx_atomic_count [--ops=1000000] [--threads=1] [--segment-mib=64] [--json=PATH]
// --json writes the per-call figures (nlohmann-json) for ci/bench's targets report.
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "amx/check/verify.hpp"
#include "amx/core/heap.hpp"
#include "counting_policy.hpp"
#include "free_census.hpp"
#include "support/cli.hpp"
#include "workload.hpp"

namespace amxb {
namespace {

using CHeap = amx::Heap<CountingPolicy, amx::DefaultGeometry>;
using Layout = amx::ControlLayout<amx::DefaultGeometry>;

struct OpTally {
    Tally t;
    std::uint64_t calls = 0;
    std::map<std::uint32_t, std::uint64_t> ops_writing_line;  // control line -> ops that RMW'd it
};

// Worker adapter: switches the thread's tally to the operation in progress. `census`: counts each
// freed block's free neighbours before the free (null unless the thread runs alone).
class CountingAlloc {
public:
    using Handle = std::uint32_t;  // header offset
    CountingAlloc(const CHeap& h, std::byte* base, OpTally& a, OpTally& f, FreeCensus* census)
        : h_(h), base_(base), a_(a), f_(f), census_(census) {}
    int allocate(std::uint32_t n, Handle& out) const {
        begin(a_);
        auto r = h_.allocate(n);
        end(a_);
        if (!r) return static_cast<int>(r.error().code);
        out = *r;
        return 0;
    }
    int free(Handle h) const {
        if (census_ != nullptr) census_->count(h_.context(), h);  // outside the tally: not counted
        begin(f_);
        auto r = h_.free(h);
        end(f_);
        return r ? 0 : static_cast<int>(r.error().code);
    }
    std::byte* payload(Handle h) const { return base_ + h + amx::BLOCK_HEADER_SIZE; }
    static std::uint32_t offset(Handle h) { return h; }

private:
    static void begin(OpTally& o) {
        o.t.control_end = Layout::FIRST_BLOCK;
        o.t.on = true;
        o.t.lines_this_op.clear();
        CountingHook::tally = &o.t;
    }
    static void end(OpTally& o) {
        o.t.on = false;
        ++o.calls;
        for (auto l : o.t.lines_this_op) ++o.ops_writing_line[l];
    }
    const CHeap& h_;
    std::byte* base_;
    OpTally& a_;
    OpTally& f_;
    FreeCensus* census_;
};

std::string line_name(std::uint32_t line) {
    const std::uint32_t lo = line * 64, hi = lo + 64;
    std::string s;
    if (lo < Layout::HEADS && hi > Layout::FL_BITMAP) s += "fl/sl bitmaps ";
    if (lo < Layout::END && hi > Layout::HEADS) {
        const std::uint32_t c0 = (std::max(lo, Layout::HEADS) - Layout::HEADS) / 8;
        const std::uint32_t c1 = (std::min(hi, Layout::END) - Layout::HEADS) / 8 - 1;
        s += "heads of classes " + std::to_string(c0) + ".." + std::to_string(c1) + " ";
    }
    if (s.empty()) s = lo < Layout::FL_BITMAP ? "segment header " : "control area after the heads ";
    return s;
}

void print(const char* what, const OpTally& o) {
    const double n = o.calls ? double(o.calls) : 1.0;
    std::printf("\n%s: %llu calls; per call: %.2f RMW (serialising), %.2f acquire loads, %.2f release stores\n", what,
                static_cast<unsigned long long>(o.calls), o.t.rmw / n, o.t.acquire_loads / n, o.t.release_stores / n);
    std::printf("  RMWs by core call site (per call):\n");
    for (const auto& [site, c] : o.t.rmw_by_site) std::printf("    %-32s %.3f\n", site.c_str(), c / n);
    std::printf("  control-area cache lines RMW'd (share of calls writing the line):\n");
    for (const auto& [line, c] : o.ops_writing_line) {
        if (c / n >= 0.01) std::printf("    +0x%04x %-30s %5.1f %%\n", line * 64, line_name(line).c_str(), 100 * c / n);
    }
}

nlohmann::json tally_json(const OpTally& o) {
    const double n = o.calls ? double(o.calls) : 1.0;
    nlohmann::json sites = nlohmann::json::object();
    for (const auto& [site, c] : o.t.rmw_by_site) sites[site] = c / n;
    return {{"calls", o.calls}, {"rmw_per_call", o.t.rmw / n}, {"acquire_loads_per_call", o.t.acquire_loads / n},
            {"release_stores_per_call", o.t.release_stores / n}, {"rmw_by_site_per_call", sites}};
}

void print_census(const FreeCensus& c) {
    const double n = c.frees ? double(c.frees) : 1.0;
    std::printf("\nfree neighbours (1 thread, read before each free): none %.1f %%, left only %.1f %%, right only "
                "%.1f %% (heading its list, merged block in its class: %.1f %%), both %.1f %%\n",
                100 * c.none / n, 100 * c.left_only / n, 100 * (c.right_only_replaceable + c.right_only_other) / n,
                100 * c.right_only_replaceable / n, 100 * c.both / n);
    std::printf("  fewest RMW per free for this mix, any design that claims, coalesces on every free and "
                "publishes on shared list heads (bench/free_census.hpp): %.3f\n", c.rmw_lower_bound());
}

nlohmann::json census_json(const FreeCensus& c) {
    return {{"frees", c.frees}, {"none", c.none}, {"left_only", c.left_only},
            {"right_only_replaceable", c.right_only_replaceable}, {"right_only_other", c.right_only_other},
            {"both", c.both}, {"rmw_per_free_lower_bound", c.rmw_lower_bound()}};
}

void merge(OpTally& into, const OpTally& from) {
    into.calls += from.calls;
    into.t.rmw += from.t.rmw;
    into.t.acquire_loads += from.t.acquire_loads;
    into.t.release_stores += from.t.release_stores;
    for (const auto& [k, v] : from.t.rmw_by_site) into.t.rmw_by_site[k] += v;
    for (const auto& [k, v] : from.ops_writing_line) into.ops_writing_line[k] += v;
}

int run(std::uint64_t ops, std::uint32_t threads, std::uint64_t mib, const std::string& json) {
    std::vector<std::uint64_t> buf((mib << 20) / 8);
    const CountingPolicy::Memory mem(reinterpret_cast<std::byte*>(buf.data()), mib << 20);
    if (!CHeap::format(mem, {0x5eed, 1, 1})) return std::fprintf(stderr, "format failed\n"), 1;
    const auto heap = CHeap::attach(mem);
    if (!heap) return std::fprintf(stderr, "attach failed: %s\n", heap.error().message().c_str()), 1;
    Control ctl;
    std::vector<WorkerResult> res(threads);
    std::vector<OpTally> allocs(threads), frees(threads);
    FreeCensus census;
    FreeCensus* const alone = threads == 1 ? &census : nullptr;  // exact only without other threads
    std::vector<std::thread> ts;
    for (std::uint32_t i = 0; i < threads; ++i) {
        ts.emplace_back([&, i] {
            CountingAlloc a(*heap, mem.base(), allocs[i], frees[i], alone);
            Worker<CountingAlloc> w(a, i, res[i]);
            w.run(ctl, ops);
        });
    }
    while (ctl.ready.load() < threads) std::this_thread::yield();
    ctl.go.store(1, std::memory_order_release);
    for (auto& t : ts) t.join();
    OpTally a, f;
    std::uint64_t broken = 0, failed = 0;
    for (std::uint32_t i = 0; i < threads; ++i) {
        merge(a, allocs[i]);
        merge(f, frees[i]);
        broken += res[i].broken;
        for (auto x : res[i].failed) failed += x;
    }
    const auto rep = amx::verify(*heap, amx::VerifyMode::quiescent);
    std::printf("amx_atomic_count: %u thread(s) x %llu iterations, %llu MiB heap; %llu failed allocations, "
                "%llu broken blocks; %s", threads, static_cast<unsigned long long>(ops),
                static_cast<unsigned long long>(mib), static_cast<unsigned long long>(failed),
                static_cast<unsigned long long>(broken), rep.to_string().c_str());
    print("allocate", a);
    print("free", f);
    if (alone) print_census(census);
    const bool clean = rep.ok() && broken == 0;
    if (!json.empty()) {
        nlohmann::json doc = {{"threads", threads}, {"iterations_per_thread", ops}, {"segment_mib", mib},
                              {"failed_allocations", failed}, {"broken_blocks", broken}, {"clean", clean},
                              {"allocate", tally_json(a)}, {"free", tally_json(f)}};
        if (alone) doc["free_neighbours"] = census_json(census);
        std::ofstream out(json, std::ios::trunc);
        out << doc.dump(2) << "\n";
        if (!out.flush()) return std::fprintf(stderr, "cannot write %s\n", json.c_str()), 1;
    }
    return clean ? 0 : 1;
}

}  // namespace
}  // namespace amxb

int main(int argc, char** argv) {
    std::uint64_t ops = 1000000, mib = 64;
    std::uint32_t threads = 1;
    std::string json;
    CLI::App app{"Serialising atomics per allocate and free, by core call site (CountingPolicy).", "amx_atomic_count"};
    app.add_option("--ops", ops, "iterations per thread")->check(CLI::NonNegativeNumber);
    app.add_option("--threads", threads, "threads sharing the heap")->check(CLI::PositiveNumber);
    app.add_option("--segment-mib", mib, "heap size in MiB")->check(CLI::PositiveNumber);
    app.add_option("--json", json, "write the per-call figures to this file");
    if (const auto rc = amx::test::parse_cli(app, argc, argv)) return *rc;
    return amxb::run(ops, threads, mib, json);
}
