// The bound on `contention` that the multi-threaded allocation tests check (docs/PROTOCOL.md §6,
// README "Guarantees"). These tests run a small live set in a mostly free segment, so a fitting
// free block always exists; a thread can miss it only while another thread holds it in transit
// (popped, not yet pushed back). Hence:
//   - `out_of_memory` is never correct here (the decisive miss is exact), nor is any other error:
//     the tests count those as failures.
//   - `contention` is correct only when the holder is stopped or starved for longer than the retry
//     budget. The budget ends with at least (MAX_ALLOC_ATTEMPTS / 2 - 1) attempts, each after a
//     sleep of StdAtomicPolicy::BRIEF_SLEEP (one of them may run heal instead): that is SLEEP_FLOOR.
//     During those late attempts the caller looks at the lists at least once per BRIEF_SLEEP, and
//     a holder that runs gives the block back within one operation (microseconds). So a
//     `contention` result is within the bound only if
//       (a) the call lasted at least SLEEP_FLOOR (the budget was really used up), and
//       (b) some other thread got less CPU time during the call than the call's wall time minus
//           SLEEP_FLOOR / 2: it was off the CPU (descheduled; the tests' threads never block while
//           holding a block) for at least half the sleep floor.
//     A `contention` outside (a) or (b) is a violation: the core gave up while the holder ran.
// The tests print how many `contention` results they saw (0 on an idle machine) and fail on any
// violation. Each thread's CPU clock is read by the others, so threads stay alive until all are
// done (arrive() at the end).
#pragma once
#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "amx/handler/handler.hpp"

namespace amx::test {

class ContentionBound {
public:
    static constexpr std::chrono::nanoseconds SLEEP_FLOOR =
        (ProductionHeap::MAX_ALLOC_ATTEMPTS / 2 - 1) * StdAtomicPolicy::BRIEF_SLEEP;

    explicit ContentionBound(int threads)
        : slots_(static_cast<std::size_t>(threads)), started_(threads), done_(threads) {
        if (slots_.size() > MAX_THREADS) throw std::invalid_argument("ContentionBound: too many threads");
    }

    // Each thread calls this first, with its index; returns once every thread's clock is known.
    void start(int self) {
        Slot& me = slots_[static_cast<std::size_t>(self)];
        pthread_getcpuclockid(pthread_self(), &me.clock);
        me.published.store(cpu_ns(me.clock), std::memory_order_relaxed);
        started_.arrive_and_wait();
    }
    // Each thread calls this last: its CPU clock must stay readable until nobody can need it.
    void arrive() { done_.arrive_and_wait(); }

    // One allocation call of thread `self`; a `contention` result is recorded with the call's wall
    // time and, for the other thread that ran least during it, an upper bound of its CPU time in
    // the call. Reading another thread's CPU clock is a system call, too slow for every call of a
    // stress loop, so each thread publishes its own CPU time every PUBLISH_EVERY of its calls and
    // a call starts from the others' published values: taken before the call, so the CPU time
    // charged to the call is too high by at most what the other thread ran since it published
    // (PUBLISH_EVERY allocations and the frees between them, well under a millisecond). Too high
    // only makes (b) stricter.
    template <class F>
    auto call(int self, F&& allocate) {
        Slot& me = slots_[static_cast<std::size_t>(self)];
        if (++me.calls % PUBLISH_EVERY == 0) me.published.store(cpu_ns(me.clock), std::memory_order_relaxed);
        const auto w0 = std::chrono::steady_clock::now();
        std::int64_t c0[MAX_THREADS];
        for (std::size_t i = 0; i < slots_.size(); ++i) c0[i] = slots_[i].published.load(std::memory_order_relaxed);
        auto r = allocate();
        if (!r && r.error().code == Errc::contention) {
            const std::int64_t wall = (std::chrono::steady_clock::now() - w0).count();
            std::int64_t least = wall;
            for (std::size_t i = 0; i < slots_.size(); ++i) {
                if (static_cast<int>(i) != self) least = std::min(least, cpu_ns(slots_[i].clock) - c0[i]);
            }
            const std::lock_guard<std::mutex> g(m_);
            events_.push_back({wall, least});
        }
        return r;
    }

    // Error results other than contention (out_of_memory included) are the caller's to count.
    static bool is_contention(const Error& e) { return e.code == Errc::contention; }

    std::size_t contention() const { return events_.size(); }
    // One line per contention result outside the bound (the first MAX_LINES); empty if all are
    // within it.
    std::string violations() const {
        std::string out;
        std::size_t n = 0;
        for (const Event& e : events_) {
            if (e.wall_ns >= SLEEP_FLOOR.count() && e.other_cpu_ns < e.wall_ns - SLEEP_FLOOR.count() / 2) continue;
            if (++n <= MAX_LINES) out += "contention after " + ms(e.wall_ns) + " while another thread ran " +
                                         ms(e.other_cpu_ns) + " (sleep floor " + ms(SLEEP_FLOOR.count()) + ")\n";
        }
        if (n > MAX_LINES) out += std::to_string(n) + " contention results outside the bound in all\n";
        return out;
    }
    // For the test's summary line: "N contention results [wall / other thread's CPU] ...".
    std::string summary() const {
        std::string out = std::to_string(events_.size()) + " contention results";
        for (std::size_t i = 0; i < events_.size() && i < MAX_LINES; ++i) {
            out += " [" + ms(events_[i].wall_ns) + " / " + ms(events_[i].other_cpu_ns) + "]";
        }
        return out;
    }

private:
    struct Event {
        std::int64_t wall_ns, other_cpu_ns;
    };
    static constexpr std::size_t MAX_THREADS = 8;
    static constexpr std::size_t MAX_LINES = 5;
    static constexpr std::uint64_t PUBLISH_EVERY = 64;
    struct Slot {
        clockid_t clock{};
        std::uint64_t calls = 0;                // the owner's only
        std::atomic<std::int64_t> published{0};  // the owner's CPU time at one of its recent calls
    };
    static std::string ms(std::int64_t ns) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.2f ms", static_cast<double>(ns) / 1e6);
        return buf;
    }
    static std::int64_t cpu_ns(clockid_t c) {
        timespec ts{};
        clock_gettime(c, &ts);
        return std::int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
    }

    std::vector<Slot> slots_;
    std::latch started_, done_;
    mutable std::mutex m_;
    std::vector<Event> events_;
};

}  // namespace amx::test
