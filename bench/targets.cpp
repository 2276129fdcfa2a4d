// amx_targets: the figures behind issue 15's targets that amx_workload and amx_atomic_count do not
// already produce. It measures and prints; whether a figure meets its bound is decided by
// ci/lib/bench_targets.py from the JSON written here (so a core that misses prints "missed").
//
//   fragmentation  the original's workload (N threads, a fixed time) with stats() sampled by the
//                  driver every 100 ms: free and live blocks per sample; automatic heals during the
//                  run; free blocks once every worker has freed all it holds (before any heal).
//   half-free      one thread fills a heap with the workload's sizes until an allocation fails,
//                  frees a random half; counts the merges free did (see half_free below).
//   full-heap      bench/full_heap.hpp: 2 and 4 threads and 2 processes on a full heap.
//   near-full      2 threads run the workload with 64, 128, 256 KiB and half the heap free.
// Only the handler API and stats() (plus the heal count, allocators.hpp), so it runs on any core.
//
//   amx_targets [--only=fragmentation,half-free,full-heap,near-full] [--json=PATH]
//               [--frag-seconds=10] [--frag-mib=64] [--full-seconds=2] [--near-seconds=2] [--heap-mib=16]
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "allocators.hpp"
#include "full_heap.hpp"
#include "runner.hpp"
#include "support/cli.hpp"

namespace amxb {
namespace {

using nlohmann::json;

struct Options {
    std::vector<std::string> only{"fragmentation", "half-free", "full-heap", "near-full"};
    std::string json_path;
    double frag_seconds = 10, full_seconds = 2, near_seconds = 2;
    std::uint64_t frag_mib = 64, heap_mib = 16;
    std::uint32_t seed = 15;
};

bool wants(const Options& o, const char* t) { return std::find(o.only.begin(), o.only.end(), t) != o.only.end(); }

std::uint64_t live_blocks(const amx::Stats& s) { return s.allocated_blocks + s.user_state_blocks + s.transient_blocks; }

// What every timed figure carries: the load average at its start and the workers' CPU share.
json timing(const RunResult& r) {
    return {{"loadavg", r.loadavg}, {"cpu_share", r.cpu_share}, {"wall_s", r.wall_s}, {"ops", r.ops},
            {"ok_ops", r.ok_ops}, {"ok_per_s", r.ok_per_s()}, {"ops_per_s", r.ops_per_s()}, {"failed", r.failed},
            {"clean", r.clean}, {"check", r.check}};
}

json fragmentation(const Options& o) {
    RunConfig cfg;
    cfg.workers = 2;
    cfg.seconds = o.frag_seconds;
    cfg.segment_bytes = o.frag_mib << 20;
    json samples = json::array();
    RunHooks<AmxBackend> hooks;
    hooks.sample = [&](const AmxBackend& b) {
        const amx::Stats s = b.handler().stats();
        samples.push_back({{"free", s.free_blocks}, {"live", live_blocks(s)}, {"complete", s.complete},
                           {"heals_so_far", AmxBackend::heals_so_far(b.handler())}});
    };
    const RunResult r = run_once<AmxBackend>(cfg, hooks);
    std::printf("fragmentation: %u threads x %.1f s, %llu MiB, %zu stats() samples; free blocks after the drain "
                "%lld, automatic heals %lld; %s\n", cfg.workers, cfg.seconds,
                static_cast<unsigned long long>(o.frag_mib), samples.size(),
                static_cast<long long>(r.end.free_blocks_after_drain), static_cast<long long>(r.end.automatic_heals),
                r.clean ? "clean" : ("NOT CLEAN: " + r.check).c_str());
    return {{"workers", cfg.workers}, {"seconds", cfg.seconds}, {"segment_mib", o.frag_mib},
            {"sample_period_s", cfg.sample_period_s}, {"samples", samples},
            {"free_blocks_after_drain", r.end.free_blocks_after_drain},
            {"automatic_heals", r.end.automatic_heals}, {"timing", timing(r)}};
}

// Merges free did, from block counts (stats() walks the physical chain): with F0 free blocks after
// the fill and k blocks freed there are F0 + k free pieces; a free that merges nothing leaves one
// more free block, each merge one fewer. heal() then merges every adjacent pair that is left
// (verify(after_heal) checks CO1), so the free blocks after heal R are the runs of adjacent free
// pieces: adjacent pairs = F0 + k - R; merged by free = F0 + k - F1 (F1 = free blocks before heal).
json half_free(const Options& o) {
    auto m = amx::MatrixHandler::in_memory(o.heap_mib << 20);
    if (!m) return {{"error", m.error().message()}};
    std::vector<amx::Block<std::byte>> held;
    Lcg rng{1};
    std::string stop;
    for (;;) {
        const auto b = m->allocate_raw(Lcg::size_of(rng.next()));
        if (!b) { stop = amx::errc_name(b.error().code); break; }
        held.push_back(*b);
    }
    const std::uint64_t f0 = m->stats().free_blocks;
    std::mt19937 shuffle(o.seed);
    std::shuffle(held.begin(), held.end(), shuffle);
    const std::uint64_t k = held.size() / 2, heals0 = AmxBackend::heals_so_far(*m);
    std::uint64_t refused = 0;
    for (std::uint64_t i = 0; i < k; ++i) refused += m->free(held[i]) ? 0 : 1;
    const amx::Stats before = m->stats();
    const std::uint64_t heals_during = AmxBackend::heals_so_far(*m) - heals0;
    m->heal();
    const amx::Stats after = m->stats();
    const auto v = m->verify(amx::VerifyMode::after_heal);
    const std::uint64_t pieces = f0 + k, pairs = pieces - after.free_blocks, merged = pieces - before.free_blocks;
    std::printf("half-free: %zu allocations until %s, %llu free blocks then; freed %llu in random order: %llu free "
                "blocks before heal, %llu after; adjacent pairs %llu, merged by free %llu; %s",
                held.size(), stop.c_str(), static_cast<unsigned long long>(f0), static_cast<unsigned long long>(k),
                static_cast<unsigned long long>(before.free_blocks), static_cast<unsigned long long>(after.free_blocks),
                static_cast<unsigned long long>(pairs), static_cast<unsigned long long>(merged), v.to_string().c_str());
    return {{"segment_mib", o.heap_mib}, {"allocations", held.size()}, {"fill_stop", stop},
            {"free_blocks_after_fill", f0}, {"freed", k}, {"frees_refused", refused},
            {"free_blocks_before_heal", before.free_blocks}, {"free_blocks_after_heal", after.free_blocks},
            {"adjacent_pairs", pairs}, {"merged_by_free", merged}, {"heals_during_frees", heals_during},
            {"clean", v.ok() && refused == 0 && before.complete}, {"check", v.to_string()}};
}

json full_heap_all(const Options& o) {
    json out = json::array();
    for (const auto& [workers, processes] : {std::pair{2u, false}, {4u, false}, {2u, true}}) {
        RunConfig cfg;
        cfg.workers = workers;
        cfg.processes = processes;
        cfg.seconds = o.full_seconds;
        cfg.segment_bytes = o.heap_mib << 20;
        const FullHeapResult r = full_heap(cfg);
        const std::string config = std::to_string(workers) + (processes ? " processes" : " threads");
        json results = json::object();
        for (std::size_t i = 0; i < RESULT_NAMES.size(); ++i) results[RESULT_NAMES[i]] = r.sum.by_result[i];
        const auto& lat = r.sum.latency;
        std::printf("full-heap, %s x %.1f s: %llu x 16 B until %s; calls %llu: %s; latency p50 %llu ns, p99 %llu ns, "
                    "max %llu ns; cpu %.0f %%, load %s; %s\n", config.c_str(), cfg.seconds,
                    static_cast<unsigned long long>(r.fill_blocks), r.fill_stop.c_str(),
                    static_cast<unsigned long long>(lat.calls), results.dump().c_str(),
                    static_cast<unsigned long long>(lat.quantile(0.5)), static_cast<unsigned long long>(lat.quantile(0.99)),
                    static_cast<unsigned long long>(lat.max_ns), 100 * r.cpu_share, r.loadavg.c_str(),
                    r.check.empty() ? "clean" : ("NOT CLEAN: " + r.check).c_str());
        out.push_back({{"config", config}, {"workers", workers}, {"processes", processes}, {"seconds", cfg.seconds},
                       {"segment_mib", o.heap_mib}, {"fill_blocks", r.fill_blocks}, {"fill_stop", r.fill_stop},
                       {"results", results}, {"calls", lat.calls}, {"p50_ns", lat.quantile(0.5)},
                       {"p99_ns", lat.quantile(0.99)}, {"max_ns", lat.max_ns},
                       {"timing", {{"loadavg", r.loadavg}, {"cpu_share", r.cpu_share}, {"wall_s", r.wall_s}}},
                       {"clean", r.check.empty()}, {"check", r.check}});
    }
    return out;
}

// Allocations that leave `target` free bytes (stats().free_bytes, headers included) in one
// contiguous free block: chunks of at most 1 MiB, halved when one does not fit; stops within
// 64 bytes of payload rounding above the target.
std::vector<amx::Block<std::byte>> leave_free(const amx::HandlerBase& h, std::uint64_t target) {
    std::vector<amx::Block<std::byte>> held;
    for (std::uint64_t chunk = 1u << 20; chunk > 64;) {
        const amx::Stats s = h.stats();
        if (s.free_bytes <= target + 64 || s.largest_free <= 64) break;
        const std::uint64_t want = std::min<std::uint64_t>({chunk, s.free_bytes - target, s.largest_free});
        const auto b = h.allocate_raw(want - 64);  // want > 64: each of the three is
        if (b) held.push_back(*b);
        else chunk /= 2;
    }
    return held;
}

json near_full(const Options& o) {
    json out = json::array();
    const std::uint64_t heap = o.heap_mib << 20;
    for (const std::uint64_t target : {std::uint64_t{64} << 10, std::uint64_t{128} << 10, std::uint64_t{256} << 10, heap / 2}) {
        RunConfig cfg;
        cfg.workers = 2;
        cfg.seconds = o.near_seconds;
        cfg.segment_bytes = heap;
        std::vector<amx::Block<std::byte>> fillers;
        std::uint64_t free_at_start = 0;
        RunHooks<AmxBackend> hooks;
        hooks.create = [&](const std::string& name, std::uint64_t bytes, std::string& err) {
            auto b = AmxBackend::create(name, bytes, err);
            if (b) fillers = leave_free(b->handler(), target);
            if (b) free_at_start = b->handler().stats().free_bytes;
            return b;
        };
        hooks.before_check = [&](const AmxBackend& b) {
            for (const auto& f : fillers) (void)b.handler().free(f);
        };
        const RunResult r = run_once<AmxBackend>(cfg, hooks);
        const std::string label = target == heap / 2 ? "50 %" : std::to_string(target >> 10) + " KiB";
        std::printf("near-full, %s free (%llu bytes at start): ok %.0f op/s, all %.0f op/s, failed %s; cpu %.0f %%, "
                    "load %s; %s\n", label.c_str(), static_cast<unsigned long long>(free_at_start), r.ok_per_s(),
                    r.ops_per_s(), json(r.failed).dump().c_str(), 100 * r.cpu_share, r.loadavg.c_str(),
                    r.clean ? "clean" : ("NOT CLEAN: " + r.check).c_str());
        out.push_back({{"label", label}, {"target_free_bytes", target}, {"free_bytes_at_start", free_at_start},
                       {"segment_mib", o.heap_mib}, {"workers", cfg.workers}, {"timing", timing(r)}});
    }
    return out;
}

int targets_main(const Options& o) {
    std::printf("amx_targets: load average at start %s\n", load_average().c_str());
    json doc = {{"loadavg_at_start", load_average()}};
    if (wants(o, "fragmentation")) doc["fragmentation"] = fragmentation(o);
    if (wants(o, "half-free")) doc["half_free"] = half_free(o);
    if (wants(o, "full-heap")) doc["full_heap"] = full_heap_all(o);
    if (wants(o, "near-full")) doc["near_full"] = near_full(o);
    doc["loadavg_at_end"] = load_average();
    if (o.json_path.empty()) return 0;
    std::ofstream out(o.json_path, std::ios::trunc);
    out << doc.dump(2) << "\n";
    if (!out.flush()) return std::fprintf(stderr, "cannot write %s\n", o.json_path.c_str()), 1;
    return 0;
}

}  // namespace
}  // namespace amxb

int main(int argc, char** argv) {
    amxb::Options o;
    CLI::App app{"Issue 15's target figures: fragmentation, half free, full heap, near-full curve.", "amx_targets"};
    app.add_option("--only", o.only, "targets to measure")
        ->delimiter(',')
        ->check(CLI::IsMember({"fragmentation", "half-free", "full-heap", "near-full"}));
    app.add_option("--json", o.json_path, "write the figures to this file");
    app.add_option("--frag-seconds", o.frag_seconds, "fragmentation run time")->check(CLI::PositiveNumber);
    app.add_option("--frag-mib", o.frag_mib, "fragmentation segment size")->check(CLI::PositiveNumber);
    app.add_option("--full-seconds", o.full_seconds, "full-heap run time per configuration")->check(CLI::PositiveNumber);
    app.add_option("--near-seconds", o.near_seconds, "near-full run time per point")->check(CLI::PositiveNumber);
    app.add_option("--heap-mib", o.heap_mib, "heap of half-free, full-heap and near-full")->check(CLI::PositiveNumber);
    app.add_option("--seed", o.seed, "seed of the half-free shuffle");
    if (const auto rc = amx::test::parse_cli(app, argc, argv)) return *rc;
    return amxb::targets_main(o);
}
