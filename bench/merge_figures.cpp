// amx_merge_figures: how much free() coalesces without heal (issue 15 item 1). Prints figures, asserts
// nothing about them (it fails only if a heap does not verify clean).
//
//   (i)  half free: a 16 MiB heap (with --only=half: --segment-mib) filled with blocks of the workload's sizes (32..543 B, LCG), then
//        half of them freed in random order: frees, merges, free blocks left before heal, and the
//        adjacent free pairs merged (%): pairs of physically adjacent freed blocks, against the
//        pairs of adjacent FREE blocks left;
//   (ii) the original's workload (bench/workload.hpp), T threads x S s on M MiB, stats() sampled
//        every 100 ms (free blocks against 2 x (live blocks + 1)), then the drain: free blocks left;
//   cost: list blocks walked by the unlink (unlink.hpp) per free, and splices per free, counted by
//        a hook on the core's call sites (function names `unlink` and `splice`).
//
//   amx_merge_figures [--seconds=3] [--threads=2] [--segment-mib=64] [--only=half|workload]
//                     [--walk=N]  (MERGE_WALK: 0 = DefaultGeometry's, or 4, 64, 256, 1024, 2048, 4096, 2^20)
//                     [--ops=N]   (workload: N iterations per thread, no sampling; for callgrind)
//                     [--plain]   (production policy, no hook: for callgrind; the walk counts are 0)
// Under callgrind (--plain, --only=half) collection is toggled around the frees of (i) only.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "amx/check/verify.hpp"
#include "amx/check/walker.hpp"
#include "amx/core/chain.hpp"
#include "amx/core/heap.hpp"
#include "amx/policy/std_policy.hpp"
#include "support/cli.hpp"
#include "workload.hpp"

namespace amxb {
namespace {

// Counts the unlink's chain steps and the splices, by the core function that makes the access.
struct WalkHook {
    static inline std::atomic<std::uint64_t> walked{0}, splices{0};
    static void before(const amx::WordAccess& a, const amx::Site& s) {
        const std::string_view f = s.function;
        if (f == "unlink" && a.op == amx::WordOp::load) walked.fetch_add(1, std::memory_order_relaxed);
        if (f == "splice" && a.op == amx::WordOp::load) splices.fetch_add(1, std::memory_order_relaxed);
    }
};

// DefaultGeometry with another walk bound (not part of the layout: a peer may use any).
template <std::uint32_t W>
struct WalkGeometry : amx::DefaultGeometry {
    static constexpr std::uint32_t MERGE_WALK = W;
};

template <class P, class G>
struct Bench {
    using H = amx::Heap<P, G>;
    std::vector<std::uint64_t> buf;
    std::byte* base;
    H heap;

    explicit Bench(std::uint32_t bytes) : buf(bytes / 8), base(reinterpret_cast<std::byte*>(buf.data())), heap(make(base, bytes)) {}
    static H make(std::byte* base, std::uint32_t bytes) {
        typename P::Memory mem(base, bytes);
        if (!H::format(mem, {0x5eed, 1, 1})) throw std::runtime_error("format failed");
        return *H::attach(mem);
    }
    // Adjacent pairs of FREE blocks, walking the chain (quiescent).
    std::uint32_t adjacent_free_pairs() const {
        std::uint32_t pairs = 0;
        bool prev_free = false;
        amx::walk_chain(heap.context(), [&](const amx::ChainBlock& b) {
            const bool f = b.state == amx::STATE_FREE;
            if (f && prev_free) ++pairs;
            prev_free = f;
        });
        return pairs;
    }
    // Heals run so far: the segment's heal_serial counts one per heal (core/heal.hpp).
    std::uint32_t heals() const { return heap.context().seg_w(amx::seg::HEAL_SERIAL).load(P::relaxed); }
    void expect_clean(const char* when) const {
        const auto r = amx::verify(heap);
        if (!r.ok()) {
            std::fprintf(stderr, "NOT CLEAN %s: %s\n", when, r.to_string().c_str());
            std::exit(1);
        }
    }
};

template <class P, class G>
std::uint64_t half_free(std::uint32_t mib) {
    Bench<P, G> b(mib << 20);
    std::vector<std::uint32_t> blocks;
    std::uint32_t rng = 1;
    for (;;) {
        rng = rng * 1103515245u + 12345u;
        auto r = b.heap.allocate(rng % 512 + 32);
        if (!r) break;
        blocks.push_back(*r);
    }
    std::sort(blocks.begin(), blocks.end());
    std::vector<std::uint32_t> order(blocks.size());
    for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), std::mt19937(42));
    order.resize(order.size() / 2);
    std::vector<bool> freed(blocks.size());
    for (auto i : order) freed[i] = true;
    std::uint32_t pairs0 = 0;
    for (std::size_t i = 0; i + 1 < blocks.size(); ++i) pairs0 += freed[i] && freed[i + 1];
    const std::uint32_t free0 = amx::stats(b.heap).free_blocks;
    CALLGRIND_TOGGLE_COLLECT;
    for (auto i : order) b.heap.free(blocks[i]);
    CALLGRIND_TOGGLE_COLLECT;
    b.expect_clean("after the frees");
    const std::uint32_t left = amx::stats(b.heap).free_blocks;
    const std::uint32_t pairs1 = b.adjacent_free_pairs();
    const auto frees = static_cast<std::uint32_t>(order.size());
    const std::uint32_t merges = free0 + frees - left;
    std::printf("half free (%u MiB, %zu blocks): %u frees, %u merges (%.3f per free), %u free blocks "
                "left before heal\n", mib, blocks.size(), frees, merges, double(merges) / frees, left);
    std::printf("  adjacent freed pairs %u, adjacent free pairs left %u: %.1f %% merged\n", pairs0, pairs1,
                pairs0 ? 100.0 * (pairs0 - std::min(pairs0, pairs1)) / pairs0 : 100.0);
    b.heap.heal();
    std::printf("  after heal: %u free blocks\n", amx::stats(b.heap).free_blocks);
    return frees;
}

template <class H>
class HeapAlloc {
public:
    using Handle = std::uint32_t;  // header offset
    HeapAlloc(const H& h, std::byte* base) : h_(h), base_(base) {}
    int allocate(std::uint32_t n, Handle& out) const {
        auto r = h_.allocate(n);
        if (!r) return static_cast<int>(r.error().code);
        out = *r;
        return 0;
    }
    int free(Handle h) const { return h_.free(h) ? 0 : 1; }
    std::byte* payload(Handle h) const { return base_ + h + amx::BLOCK_HEADER_SIZE; }
    static std::uint32_t offset(Handle h) { return h; }

private:
    const H& h_;
    std::byte* base_;
};

template <class P, class G>
std::uint64_t workload(double seconds, int threads, std::uint32_t mib, std::uint64_t max_ops) {
    using B = Bench<P, G>;
    B b(mib << 20);
    HeapAlloc<typename B::H> a(b.heap, b.base);
    Control ctl;
    std::vector<WorkerResult> res(threads);
    std::vector<std::thread> ts;
    for (int i = 0; i < threads; ++i) {
        ts.emplace_back([&, i] { Worker<HeapAlloc<typename B::H>>(a, i, res[i]).run(ctl, max_ops); });
    }
    while (ctl.ready.load() < static_cast<std::uint32_t>(threads)) std::this_thread::yield();
    ctl.go.store(1, std::memory_order_release);
    if (max_ops != 0) {  // callgrind: a fixed number of iterations (Worker toggles collection), no sampling
        for (auto& t : ts) t.join();
        std::printf("workload (%d threads x %llu iterations, %u MiB): %llu ops, %u free blocks after the drain\n", threads,
                    static_cast<unsigned long long>(max_ops), mib, static_cast<unsigned long long>(res[0].ok_ops),
                    amx::stats(b.heap).free_blocks);
        return res[0].frees;
    }
    std::uint32_t samples = 0, over = 0, worst_free = 0, worst_live = 0;
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        const auto s = amx::stats(b.heap);
        const std::uint32_t live = s.allocated_blocks + s.user_state_blocks;
        ++samples;
        if (s.free_blocks > 2 * (live + 1)) ++over;
        if (s.free_blocks > worst_free) { worst_free = s.free_blocks; worst_live = live; }
    }
    ctl.stop.store(1);
    for (auto& t : ts) t.join();
    std::uint64_t ops = 0, frees = 0, broken = 0;
    for (auto& r : res) { ops += r.ok_ops; frees += r.frees; broken += r.broken; }
    b.expect_clean("after the drain");
    const std::uint32_t left = amx::stats(b.heap).free_blocks;
    std::printf("workload (%d threads x %.1f s, %u MiB): %llu ops, %u samples, %u with free > 2 x (live + 1) "
                "(worst %u free, %u live); after the drain %u free blocks (before heal)%s\n", threads, seconds, mib,
                static_cast<unsigned long long>(ops), samples, over, worst_free, worst_live, left,
                broken ? ", BROKEN patterns" : "");
    std::printf("  heals run during the workload (automatic, before an allocation gives up): %u\n", b.heals());
    return frees;
}

void print_walks(std::uint64_t frees_hint) {
    const double f = frees_hint ? double(frees_hint) : 1.0;
    std::printf("  %llu frees; unlink: %llu list blocks walked (%.3f per free), %llu splices (%.3f per free)\n",
                static_cast<unsigned long long>(frees_hint), static_cast<unsigned long long>(WalkHook::walked.load()),
                double(WalkHook::walked.load()) / f, static_cast<unsigned long long>(WalkHook::splices.load()),
                double(WalkHook::splices.load()) / f);
    WalkHook::walked = 0;
    WalkHook::splices = 0;
}

template <class P, class G>
void run_all(const std::string& only, double seconds, int threads, std::uint32_t mib, std::uint64_t ops) {
    if (only.empty() || only == "half") print_walks(half_free<P, G>(only.empty() ? 16 : mib));
    if (only.empty() || only == "workload") print_walks(workload<P, G>(seconds, threads, mib, ops));
}

template <class P>
int run_walk(std::uint32_t walk, const std::string& only, double seconds, int threads, std::uint32_t mib,
             std::uint64_t ops) {
    switch (walk) {
        case 0: run_all<P, amx::DefaultGeometry>(only, seconds, threads, mib, ops); return 0;
        case 4: run_all<P, WalkGeometry<4>>(only, seconds, threads, mib, ops); return 0;
        case 64: run_all<P, WalkGeometry<64>>(only, seconds, threads, mib, ops); return 0;
        case 256: run_all<P, WalkGeometry<256>>(only, seconds, threads, mib, ops); return 0;
        case 1024: run_all<P, WalkGeometry<1024>>(only, seconds, threads, mib, ops); return 0;
        case 2048: run_all<P, WalkGeometry<2048>>(only, seconds, threads, mib, ops); return 0;
        case 4096: run_all<P, WalkGeometry<4096>>(only, seconds, threads, mib, ops); return 0;
        case 1u << 20: run_all<P, WalkGeometry<1u << 20>>(only, seconds, threads, mib, ops); return 0;
    }
    std::fprintf(stderr, "--walk: one of 0 (the geometry's), 4, 64, 256, 1024, 2048, 4096, 1048576\n");
    return 2;
}

}  // namespace
}  // namespace amxb

int main(int argc, char** argv) {
    double seconds = 3;
    int threads = 2;
    std::uint32_t mib = 64;
    std::string only;
    bool plain = false;
    std::uint32_t walk = 0;
    std::uint64_t ops = 0;
    CLI::App app{"amx_merge_figures: coalescing without heal"};
    app.add_option("--seconds", seconds);
    app.add_option("--threads", threads);
    app.add_option("--segment-mib", mib);
    app.add_option("--only", only);
    app.add_flag("--plain", plain);
    app.add_option("--ops", ops, "workload: this many iterations per thread instead of --seconds (callgrind)");
    app.add_option("--walk", walk, "MERGE_WALK: 0 = DefaultGeometry's, or 4, 64, 256, 1024, 2048, 4096, 1048576");
    if (const auto rc = amx::test::parse_cli(app, argc, argv)) return *rc;
    if (plain) return amxb::run_walk<amx::StdAtomicPolicy>(walk, only, seconds, threads, mib, ops);
    return amxb::run_walk<amx::HookedPolicy<amxb::WalkHook>>(walk, only, seconds, threads, mib, ops);
}
