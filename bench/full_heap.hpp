// Target "full heap" of issue 15: a heap filled with 16-byte allocations until one fails, then N
// workers (threads sharing one handler's mapping, or processes each attaching by name) call
// allocate for a fixed time. Every call is timed and counted by its result (ok, out_of_memory,
// contention, other); the bound (0 contention) is judged by ci/bench's report, not here.
// Public handler API only (allocate_raw, stats, verify), so it runs unchanged on any core.
#pragma once
#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "allocators.hpp"
#include "latency.hpp"
#include "runner.hpp"

namespace amxb {

// Results of an allocate call, as the report names them.
inline constexpr std::array<const char*, 4> RESULT_NAMES{"ok", "out_of_memory", "contention", "other"};

inline std::uint32_t result_index(const amx::Result<amx::Block<std::byte>>& r) {
    if (r) return 0;
    if (r.error().code == amx::Errc::out_of_memory) return 1;
    return r.error().code == amx::Errc::contention ? 2 : 3;
}

struct alignas(64) CallerResult {
    LatencyHistogram latency;
    std::uint64_t by_result[RESULT_NAMES.size()] = {};
    std::uint64_t wall_ns = 0, cpu_ns = 0;
    bool attached = false;
};

// Shared by the driver and its workers: MAP_SHARED, so forked workers write into it.
struct CallerBoard {
    static constexpr std::uint32_t MAX_WORKERS = 16;
    Control ctl;
    CallerResult res[MAX_WORKERS];
    static CallerBoard* make() {
        void* p = mmap(nullptr, sizeof(CallerBoard), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? nullptr : new (p) CallerBoard();
    }
    static void unmake(CallerBoard* b) { munmap(b, sizeof(CallerBoard)); }
};

struct FullHeapResult {
    RunConfig cfg;
    std::uint64_t fill_blocks = 0;  // 16-byte allocations that succeeded while filling
    std::string fill_stop;          // the error that ended the fill
    CallerResult sum;               // every worker's calls, merged
    double wall_s = 0, cpu_share = 0;
    std::string loadavg, check;     // check: empty when every worker ran and verify was clean
};

// Allocates `payload` bytes until a call fails; returns how many succeeded, and the failure's name.
inline std::uint64_t fill_until_failure(const amx::HandlerBase& h, std::uint64_t payload, std::string& stop) {
    for (std::uint64_t n = 0;; ++n) {
        const auto b = h.allocate_raw(payload);
        if (!b) {
            stop = amx::errc_name(b.error().code);
            return n;
        }
    }
}

// One worker: allocate `payload` bytes until stop, timing each call (successful blocks are kept).
inline void call_until_stop(const amx::HandlerBase& h, Control& ctl, std::uint64_t payload, CallerResult& r) {
    r.attached = true;
    wait_for_go(ctl);
    const std::uint64_t t0 = now_ns(CLOCK_MONOTONIC), cpu0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    // relaxed: the flag carries no data, the join / waitpid after it does.
    while (ctl.stop.load(std::memory_order_relaxed) == 0) {
        const std::uint64_t a = now_ns(CLOCK_MONOTONIC);
        const auto b = h.allocate_raw(payload);
        r.latency.add(now_ns(CLOCK_MONOTONIC) - a);
        ++r.by_result[result_index(b)];
    }
    r.cpu_ns = now_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    r.wall_ns = now_ns(CLOCK_MONOTONIC) - t0;
}

inline std::string run_callers(const AmxBackend& backend, const std::string& name, const RunConfig& cfg,
                               std::uint64_t payload, CallerBoard& board) {
    if (!cfg.processes) {
        std::vector<std::thread> ts;
        for (std::uint32_t i = 0; i < cfg.workers; ++i) {
            ts.emplace_back([&, i, h = backend.handler().share()] { call_until_stop(h, board.ctl, payload, board.res[i]); });
        }
        drive(board.ctl, cfg);
        for (auto& t : ts) t.join();
        return {};
    }
    const std::vector<pid_t> kids = spawn(cfg.workers, [&](std::uint32_t i) {
        std::string err;
        const auto mine = AmxBackend::attach(name, err);
        if (!mine) return 2;
        call_until_stop(mine->handler(), board.ctl, payload, board.res[i]);
        return 0;
    });
    drive(board.ctl, cfg);
    return reap(kids) + (kids.size() < cfg.workers ? "fork failed; " : "");
}

inline void summarise_callers(const RunConfig& cfg, const CallerBoard& board, FullHeapResult& out) {
    std::uint64_t wall = 0, cpu = 0;
    for (std::uint32_t i = 0; i < cfg.workers; ++i) {
        const CallerResult& r = board.res[i];
        if (!r.attached) out.check += "worker " + std::to_string(i) + " never started; ";
        out.sum.latency.merge(r.latency);
        for (std::size_t k = 0; k < RESULT_NAMES.size(); ++k) out.sum.by_result[k] += r.by_result[k];
        wall = std::max(wall, r.wall_ns);
        cpu += r.cpu_ns;
    }
    out.wall_s = wall / 1e9;
    out.cpu_share = wall > 0 ? double(cpu) / (double(wall) * cfg.workers) : 0;
}

// Creates a segment of cfg.segment_bytes, fills it with 16-byte allocations, runs the callers
// (64 bytes each) for cfg.seconds, verifies and removes it.
inline FullHeapResult full_heap(const RunConfig& cfg) {
    FullHeapResult out;
    out.cfg = cfg;
    const std::string name = run_name("amx-full");
    std::string err;
    const auto backend = AmxBackend::create(name, cfg.segment_bytes, err);
    CallerBoard* board = cfg.workers <= CallerBoard::MAX_WORKERS ? CallerBoard::make() : nullptr;
    if (!backend || board == nullptr) {
        out.check = backend ? "cannot map the results board (or too many workers)" : "cannot create the segment: " + err;
        if (backend) backend->unlink();
        return out;
    }
    out.fill_blocks = fill_until_failure(backend->handler(), 16, out.fill_stop);
    out.loadavg = load_average();
    out.check += run_callers(*backend, name, cfg, 64, *board);
    summarise_callers(cfg, *board, out);
    CallerBoard::unmake(board);
    const auto v = backend->handler().verify(amx::VerifyMode::quiescent);
    if (!v.ok()) out.check += v.to_string();
    backend->unlink();
    return out;
}

}  // namespace amxb
