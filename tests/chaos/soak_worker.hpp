// The kill -9 soak's worker processes and the control area they share with the parent.
//
// The control area is an anonymous MAP_SHARED mapping created before any fork, outside the
// segment (so it survives whatever the segment goes through). Per worker index it holds:
//   - the journal: the header offsets of the blocks the worker owns, with their fill tags. A worker
//     respawned at the same index adopts its predecessor's journal, so a kill loses only what was in
//     flight: an allocation made but not yet journaled, or a block unjournaled but not yet freed.
//     Journal order: allocate, then journal; unjournal, then free. At most one block per kill.
//   - the call in flight (start time) for the parent's watchdog, and a latency histogram.
#pragma once
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <random>

#include "amx/handler/handler.hpp"
#include "support/test_heap.hpp"

namespace amx::chaos {

inline constexpr std::uint32_t MAX_WORKERS = 8;
inline constexpr std::uint32_t JOURNAL = 256;      // blocks a worker holds at most
inline constexpr std::uint32_t BUCKETS = 8 * 40;   // latency: 8 buckets per power of two of ns
inline constexpr std::uint32_t FILL_BYTES = 64;    // pattern bytes written at the payload's start

inline std::uint64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

// CPU time of this process: a call that is slow in wall time but not in CPU time was preempted
// (2 cores shared by every worker), not waiting for anyone.
inline std::uint64_t cpu_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

inline std::uint32_t bucket_of(std::uint64_t ns) {
    if (ns < 2) return 0;
    const auto b = static_cast<std::uint32_t>(std::log2(static_cast<double>(ns)) * 8.0);
    return b < BUCKETS ? b : BUCKETS - 1;
}
inline double bucket_upper_ns(std::uint32_t b) { return std::exp2((b + 1) / 8.0); }

struct WorkerSlot {
    std::atomic<std::uint64_t> call_start{0};  // ns; 0 = not inside a call
    std::atomic<std::uint64_t> ops{0}, allocs{0}, frees{0}, transitions{0};
    std::atomic<std::uint64_t> oom{0}, contention{0}, other_errors{0}, broken{0};
    std::atomic<std::uint64_t> max_ns{0};
    std::atomic<std::uint64_t> max_cpu_ns{0};   // the most CPU time one call used
    std::atomic<std::uint32_t> max_op{0};       // 0 allocate, 1 free, 2 transition: the slowest call's kind
    std::atomic<std::uint32_t> max_size{0};     // its request size (allocate)
    std::atomic<std::uint32_t> held[JOURNAL];  // header offsets; 0 = empty
    std::atomic<std::uint32_t> tag[JOURNAL];
    std::atomic<std::uint64_t> hist[BUCKETS];
};

struct Control {
    std::atomic<std::uint32_t> stop{0};
    WorkerSlot w[MAX_WORKERS];
};

inline Control* map_control() {
    void* p = ::mmap(nullptr, sizeof(Control), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : new (p) Control();  // zero pages: every atomic starts at 0
}

class Worker {
public:
    Worker(const MatrixHandler& h, WorkerSlot& slot, std::uint64_t seed) : h_(h), s_(slot), rng_(seed) {}

    [[noreturn]] void run(const std::atomic<std::uint32_t>& stop) {
        std::uniform_int_distribution<int> pct(0, 99);
        while (stop.load(std::memory_order_relaxed) == 0) {
            const int r = pct(rng_);
            if (r < 45) try_allocate();
            else if (r < 90) try_free();
            else try_transition();
            s_.ops.fetch_add(1, std::memory_order_relaxed);
        }
        ::_exit(0);
    }

private:
    // Log-uniform payload size in [16 B, 64 KiB].
    std::uint32_t next_size() {
        std::uniform_real_distribution<double> d(std::log(16.0), std::log(65536.0));
        return static_cast<std::uint32_t>(std::exp(d(rng_)));
    }
    std::uint32_t pick(bool occupied) {
        std::uniform_int_distribution<std::uint32_t> d(0, JOURNAL - 1);
        const std::uint32_t start = d(rng_);
        for (std::uint32_t i = 0; i < JOURNAL; ++i) {
            const std::uint32_t j = (start + i) % JOURNAL;
            if ((s_.held[j].load(std::memory_order_relaxed) != 0) == occupied) return j;
        }
        return JOURNAL;
    }
    // Pattern length: the payload's first FILL_BYTES bytes (its capacity, not the request, so the
    // adopting successor checks exactly what the allocator wrote); 0 if h is not a live block.
    std::uint32_t fill_len(std::uint32_t h) const {
        const std::uint32_t cap = h_.raw_matrix().live_payload(h).value_or(0);
        return cap < FILL_BYTES ? cap : FILL_BYTES;
    }
    template <class F>
    auto timed(std::uint32_t op, std::uint32_t size, F&& f) {
        const std::uint64_t t0 = now_ns(), c0 = cpu_ns();
        s_.call_start.store(t0, std::memory_order_relaxed);
        auto r = f();
        const std::uint64_t dt = now_ns() - t0, dc = cpu_ns() - c0;
        if (dc > s_.max_cpu_ns.load(std::memory_order_relaxed)) s_.max_cpu_ns.store(dc, std::memory_order_relaxed);
        s_.call_start.store(0, std::memory_order_relaxed);
        s_.hist[bucket_of(dt)].fetch_add(1, std::memory_order_relaxed);
        if (dt > s_.max_ns.load(std::memory_order_relaxed)) {
            s_.max_ns.store(dt, std::memory_order_relaxed);
            s_.max_op.store(op, std::memory_order_relaxed);
            s_.max_size.store(size, std::memory_order_relaxed);
        }
        return r;
    }
    void count_error(const Error& e) {
        if (e.code == Errc::out_of_memory) s_.oom.fetch_add(1, std::memory_order_relaxed);
        else if (e.code == Errc::contention) s_.contention.fetch_add(1, std::memory_order_relaxed);
        else s_.other_errors.fetch_add(1, std::memory_order_relaxed);
    }

    void try_allocate() {
        const std::uint32_t j = pick(false);
        if (j == JOURNAL) return try_free();
        const std::uint32_t n = next_size();
        auto b = timed(0, n, [&] { return h_.allocate_raw(n); });
        if (!b) return count_error(b.error());
        const std::uint32_t tag = static_cast<std::uint32_t>(rng_());
        test::fill(h_.raw_base_ptr() + b->offset, fill_len(b->header_offset()), tag);
        s_.tag[j].store(tag, std::memory_order_relaxed);
        s_.held[j].store(b->header_offset(), std::memory_order_release);  // journaled: adopted if we die
        s_.allocs.fetch_add(1, std::memory_order_relaxed);
    }

    void try_free() {
        const std::uint32_t j = pick(true);
        if (j == JOURNAL) return;
        const std::uint32_t h = s_.held[j].load(std::memory_order_acquire);
        const std::uint32_t len = fill_len(h);
        if (len == 0 || !test::check_fill(h_.raw_base_ptr() + h + BLOCK_HEADER_SIZE, len, s_.tag[j].load(std::memory_order_relaxed))) {
            s_.broken.fetch_add(1, std::memory_order_relaxed);  // a block we own changed under us
        }
        s_.held[j].store(0, std::memory_order_release);  // unjournaled: a kill from here leaks it
        auto r = timed(1, 0, [&] { return h_.free_at(h); });
        if (!r) return count_error(r.error());
        s_.frees.fetch_add(1, std::memory_order_relaxed);
    }

    void try_transition() {
        const std::uint32_t j = pick(true);
        if (j == JOURNAL) return try_allocate();
        const std::uint32_t h = s_.held[j].load(std::memory_order_acquire);
        const ProductionHeap& heap = h_.raw_matrix();
        const std::uint32_t cur = heap.get_state(h, StdAtomicPolicy::acquire).value_or(STATE_ALLOCATED);
        const std::uint32_t next = USER_STATE_MIN + static_cast<std::uint32_t>(rng_() % 16);
        auto r = timed(2, 0, [&] { return heap.transition_state(h, cur, next, StdAtomicPolicy::acq_rel); });
        if (!r) return count_error(r.error());
        s_.transitions.fetch_add(1, std::memory_order_relaxed);
    }

    const MatrixHandler& h_;
    WorkerSlot& s_;
    std::mt19937_64 rng_;
};

}  // namespace amx::chaos
