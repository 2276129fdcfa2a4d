// Google Benchmark micro-benchmarks:
//   BM_AllocFree/<class>   an allocate + free pair whose block lands in that size class
//                          (1 and 2 threads on one shared heap; each pair is checked);
//   BM_Mapping             mapping_insert + mapping_search over a spread of sizes;
//   BM_Verify/<blocks>     verify() on a heap of that many blocks (every other one free);
//   BM_Heal/<blocks>       heal() on the same shape (every free block detached and re-filed).
// A free that is refused, or a heap that does not verify, stops the benchmark with SkipWithError,
// so a figure is only reported for correct work. A failed allocation is not corruption: it is
// counted (counter "failed", and the label names the error) and ci/bench reports it.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <string>
#include <memory>
#include <random>
#include <vector>

#include "amx/handler/handler.hpp"

namespace {

using Map = amx::SizeClasses<amx::DefaultGeometry>;
constexpr std::uint64_t SHARED_HEAP_BYTES = 64ull << 20;
constexpr std::uint64_t LARGEST_CLASS_BENCHED = 4ull << 20;  // block bytes

// One heap for every AllocFree run (both threads use it); created on first use.
const amx::MatrixHandler& shared_heap() {
    static const auto h = [] {
        auto m = amx::MatrixHandler::in_memory(SHARED_HEAP_BYTES);
        if (!m) std::abort();
        return std::make_unique<amx::MatrixHandler>(std::move(*m));
    }();
    return *h;
}

// Payload bytes whose block is exactly class_min(c): filed under class c when freed.
std::uint64_t payload_for_class(std::uint32_t c) { return Map::class_min(c) - amx::BLOCK_HEADER_SIZE; }

void BM_AllocFree(benchmark::State& state) {
    const auto cls = static_cast<std::uint32_t>(state.range(0));
    const std::uint64_t n = payload_for_class(cls);
    const amx::SharedHandler h = shared_heap().share();
    std::map<std::string, std::int64_t> failed;  // failed allocations by error name: reported, not hidden
    for (auto _ : state) {
        auto b = h.allocate_raw(n);
        if (!b) {
            ++failed[amx::errc_name(b.error().code)];
            continue;
        }
        benchmark::DoNotOptimize(b->offset);
        if (!h.free(*b)) {
            state.SkipWithError("free refused a block just allocated");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations());
    std::string label = "block " + std::to_string(Map::class_min(cls)) + " B";
    for (const auto& [code, count] : failed) {
        label += " FAILED " + code;  // counts: counter "failed" (summed over threads)
        state.counters["failed"] += static_cast<double>(count);
    }
    state.SetLabel(label);
    if (state.thread_index() == 0 && state.threads() == 1) {
        const auto r = h.verify();
        if (!r.ok()) state.SkipWithError(r.to_string().c_str());
    }
}

void alloc_free_classes(benchmark::internal::Benchmark* b) {
    for (std::uint32_t c = 0; c < Map::CLASS_COUNT; ++c) {
        const std::uint64_t block = Map::class_min(c);
        if (block >= amx::ControlLayout<amx::DefaultGeometry>::MIN_BLOCK && block <= LARGEST_CLASS_BENCHED) {
            b->Arg(c);
        }
    }
}
BENCHMARK(BM_AllocFree)->Apply(alloc_free_classes)->Threads(1)->Threads(2)->UseRealTime();

void BM_Mapping(benchmark::State& state) {
    std::mt19937 rng(42);
    std::vector<std::uint32_t> sizes(4096);
    for (auto& s : sizes) s = 48 + rng() % (1u << (4 + rng() % 20));
    std::size_t i = 0;
    for (auto _ : state) {
        const std::uint32_t s = sizes[i++ & 4095];
        benchmark::DoNotOptimize(Map::mapping_insert(s));
        benchmark::DoNotOptimize(Map::mapping_search(s));
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Mapping);

// A heap holding `blocks` blocks of 64 bytes, every other one freed (so nothing merges).
struct Fragmented {
    std::unique_ptr<amx::MatrixHandler> m;
    std::string error;
    explicit Fragmented(std::uint32_t blocks) {
        auto h = amx::MatrixHandler::in_memory(std::uint64_t{blocks} * 64 + (1u << 20));
        if (!h) { error = h.error().message(); return; }
        m = std::make_unique<amx::MatrixHandler>(std::move(*h));
        std::vector<amx::Block<std::byte>> bs;
        for (std::uint32_t i = 0; i < blocks; ++i) {
            auto b = m->allocate_raw(32);
            if (!b) { error = b.error().message(); return; }
            bs.push_back(*b);
        }
        for (std::uint32_t i = 0; i < blocks; i += 2) {
            if (!m->free(bs[i])) { error = "free failed"; return; }
        }
    }
};

void BM_Verify(benchmark::State& state) {
    Fragmented f(static_cast<std::uint32_t>(state.range(0)));
    if (!f.error.empty()) return state.SkipWithError(f.error.c_str());
    for (auto _ : state) {
        const auto r = f.m->verify();
        if (!r.ok()) {
            state.SkipWithError(r.to_string().c_str());
            break;
        }
        benchmark::DoNotOptimize(r.blocks);
    }
    state.SetComplexityN(state.range(0));
}
BENCHMARK(BM_Verify)->RangeMultiplier(8)->Range(1 << 9, 1 << 18)->Complexity(benchmark::oN)->Unit(benchmark::kMicrosecond);

void BM_Heal(benchmark::State& state) {
    Fragmented f(static_cast<std::uint32_t>(state.range(0)));
    if (!f.error.empty()) return state.SkipWithError(f.error.c_str());
    for (auto _ : state) {
        const auto r = f.m->heal();
        if (!r || r->corrupt) {
            state.SkipWithError("heal failed or found a corrupt list");
            break;
        }
        benchmark::DoNotOptimize(r->listed);
    }
    const auto v = f.m->verify(amx::VerifyMode::after_heal);
    if (!v.ok()) state.SkipWithError(v.to_string().c_str());
    state.SetComplexityN(state.range(0));
}
BENCHMARK(BM_Heal)->RangeMultiplier(8)->Range(1 << 9, 1 << 18)->Complexity(benchmark::oN)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
