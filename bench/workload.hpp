// The original's endurance loop, checked while it runs. One worker:
//   rng (u32) = rng * 1103515245 + 12345, seeded with worker id + 1, one step per iteration;
//   if rng % 10 < 7 and fewer than 200 blocks are held: allocate rng % 512 + 32 bytes;
//   else free the held block at rng % held (swap-remove); with nothing held the iteration idles.
// Every iteration counts as one operation (the original counted failed and idle ones too), so we
// also count successful operations separately. Workers stop on a shared flag (one relaxed load per
// iteration, no clock read).
//
// Checking: each allocated payload is filled with a pattern derived from (worker, sequence number)
// and checked before it is freed, so a block handed out twice, or overlapping another, breaks a
// pattern. The allocator is a template parameter (A: see allocators.hpp), so the baseline runs the
// identical loop.
#pragma once
#include <sched.h>
#include <time.h>

#include <atomic>
#include <cstdint>
#include <cstring>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_TOGGLE_COLLECT
#endif

namespace amxb {

inline constexpr std::uint32_t MAX_HELD = 200;
inline constexpr int MAX_CODES = 64;  // failed allocations are counted per error code below this

// Shared between the driver and its workers (threads, or processes through a MAP_SHARED page).
// go and stop sit on their own cache line, read-only for workers during the run.
struct alignas(64) Control {
    std::atomic<std::uint32_t> ready{0};  // workers that reached the start line
    std::atomic<std::uint32_t> go{0};
    std::atomic<std::uint32_t> stop{0};
};

struct alignas(64) WorkerResult {
    std::uint64_t ops = 0, allocs = 0, frees = 0, idle = 0;
    std::uint64_t ok_ops = 0;              // allocs + frees that succeeded inside the loop
    std::uint64_t failed[MAX_CODES] = {};  // failed allocations by error code
    std::uint64_t broken = 0;              // patterns found damaged, or frees refused
    std::uint32_t first_broken_offset = 0, first_broken_size = 0;
    std::int32_t first_free_error = 0;
    std::uint64_t wall_ns = 0, cpu_ns = 0;  // loop only (the final drain is excluded)
    std::uint64_t start_ns = 0, end_ns = 0;
    bool attached = false;  // for processes: the worker attached and reported
};

// The original's generator and size rule: one step per iteration; an allocation asks for
// next() % 512 + 32 bytes (32..543).
struct Lcg {
    std::uint32_t state;
    std::uint32_t next() { return state = state * 1103515245u + 12345u; }
    static std::uint32_t size_of(std::uint32_t r) { return r % 512 + 32; }
};

// A worker reports at the start line and waits for the driver's go (before its clocks start).
inline void wait_for_go(Control& ctl) {
    ctl.ready.fetch_add(1, std::memory_order_relaxed);
    // acquire: pairs with the driver's release store of go (segment set up before we start).
    while (ctl.go.load(std::memory_order_acquire) == 0) sched_yield();
}

inline std::uint64_t now_ns(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

// A held block: where it is (allocator-specific handle), how big, and the key its pattern derives from.
template <class Handle>
struct Held {
    Handle h;
    std::uint32_t size;
    std::uint64_t key;
};

// Pattern: 8-byte words key + i * golden, then tail bytes from the key. Cheap and position
// dependent, so a shifted or swapped block is caught as well as an overwritten one.
inline constexpr std::uint64_t GOLDEN = 0x9E3779B97F4A7C15ull;

inline void fill(std::byte* p, std::uint32_t n, std::uint64_t key) {
    std::uint32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const std::uint64_t w = key + i * GOLDEN;
        std::memcpy(p + i, &w, 8);
    }
    for (; i < n; ++i) p[i] = static_cast<std::byte>(key >> (8 * (i & 7)));
}

inline bool check(const std::byte* p, std::uint32_t n, std::uint64_t key) {
    std::uint32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        if (w != key + i * GOLDEN) return false;
    }
    for (; i < n; ++i) {
        if (p[i] != static_cast<std::byte>(key >> (8 * (i & 7)))) return false;
    }
    return true;
}

template <class A>
class Worker {
public:
    using H = Held<typename A::Handle>;
    Worker(A& a, std::uint32_t id, WorkerResult& r) : a_(a), id_(id), r_(r) {}

    // Runs until ctl.stop (max_ops == 0) or for exactly max_ops iterations (callgrind runs).
    void run(Control& ctl, std::uint64_t max_ops) {
        wait_for_go(ctl);
        r_.start_ns = now_ns(CLOCK_MONOTONIC);
        const std::uint64_t cpu0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
        CALLGRIND_TOGGLE_COLLECT;
        if (max_ops != 0) {
            for (std::uint64_t i = 0; i < max_ops; ++i) step();
        } else {
            // relaxed: the flag carries no data, the join / waitpid after it does.
            while (ctl.stop.load(std::memory_order_relaxed) == 0) step();
        }
        CALLGRIND_TOGGLE_COLLECT;
        r_.cpu_ns = now_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
        r_.end_ns = now_ns(CLOCK_MONOTONIC);
        r_.wall_ns = r_.end_ns - r_.start_ns;
        r_.ok_ops = r_.allocs + r_.frees;
        drain();
    }

private:
    void step() {
        const std::uint32_t r = rng_.next();
        ++r_.ops;
        if (r % 10 < 7 && n_ < MAX_HELD) {
            allocate(Lcg::size_of(r));
        } else if (n_ > 0) {
            const std::uint32_t i = r % n_;
            release(held_[i]);
            held_[i] = held_[--n_];
        } else {
            ++r_.idle;
        }
    }

    void allocate(std::uint32_t size) {
        H& slot = held_[n_];
        const int err = a_.allocate(size, slot.h);
        if (err != 0) {
            ++r_.failed[err < MAX_CODES ? err : MAX_CODES - 1];
            return;
        }
        slot.size = size;
        slot.key = (std::uint64_t{id_ + 1} << 48) ^ ++seq_;
        fill(a_.payload(slot.h), size, slot.key);
        ++n_;
        ++r_.allocs;
    }

    void release(const H& b) {
        if (!check(a_.payload(b.h), b.size, b.key)) note_broken(b, 0);
        const int err = a_.free(b.h);
        if (err != 0) note_broken(b, err);
        else ++r_.frees;
    }

    void note_broken(const H& b, int err) {
        if (r_.broken++ == 0) {
            r_.first_broken_offset = a_.offset(b.h);
            r_.first_broken_size = b.size;
            r_.first_free_error = err;
        }
    }

    // Frees what is still held so the end-of-run check can demand an empty heap.
    void drain() {
        while (n_ > 0) release(held_[--n_]);
    }

    A& a_;
    std::uint32_t id_;
    WorkerResult& r_;
    Lcg rng_{id_ + 1};
    std::uint32_t n_ = 0;
    std::uint64_t seq_ = 0;
    H held_[MAX_HELD];
};

}  // namespace amxb
