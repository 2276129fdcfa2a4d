// The kill -9 soak (issue 8; docs/RELIABILITY.md). Four worker processes share a 64 MiB segment and
// run 45 % allocate / 45 % free / 10 % state transitions with log-uniform sizes (16 B..64 KiB). A
// killer sends SIGKILL to a random worker every 10-50 ms and respawns it at once (the newcomer
// adopts the victim's journal); the other workers never stop. A watchdog fails the run if any call
// stays in flight for more than 1 s not counting the time its worker waited for a CPU (see
// Soak::longest_in_flight). Afterwards: verify(), recover(), verify(); conservation
// (free + live + orphaned + leaked = capacity - overhead); blocks lost = non-free blocks no journal
// names, at most one per kill.
//
// The SIGSTOP variant stops one worker at a time for 300 ms (at random points of its operations)
// and shows that the others keep completing calls, none over 1 s, while it is stopped.
//
// Flags: --seconds=N (soak length, default 20), --workers=N (default 4).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "amx/platform/scratch.hpp"
#include "chaos/soak_worker.hpp"
#include "support/flags.hpp"

namespace amx::chaos {
namespace {

int g_seconds = 20;
std::uint32_t g_workers = 4;
constexpr std::uint64_t SEGMENT = 64ull << 20;
constexpr std::uint64_t WATCHDOG_NS = 1000000000ull;

// Nanoseconds process pid has spent runnable but waiting for a CPU (second field of
// /proc/<pid>/schedstat, the scheduler's run_delay), or 0 if it cannot be read.
std::uint64_t waited_for_cpu_ns(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/schedstat");
    std::uint64_t on_cpu = 0, waited = 0;
    f >> on_cpu >> waited;
    return f ? waited : 0;
}

class Soak {
public:
    Soak() : h_(MatrixHandler::in_memory(SEGMENT)), ctl_(map_control()) {}
    // A failed assertion returns early: never leave workers running behind the test.
    ~Soak() {
        if (running_) {
            for (std::uint32_t i = 0; i < g_workers; ++i) {
                ::kill(pids_[i], SIGKILL);
                ::waitpid(pids_[i], nullptr, 0);
            }
        }
        if (ctl_ != nullptr) ::munmap(ctl_, sizeof(Control));
    }
    bool ready() const { return h_.has_value() && ctl_ != nullptr; }
    MatrixHandler& handler() { return *h_; }
    Control& control() { return *ctl_; }

    void spawn(std::uint32_t i) {
        const pid_t pid = fork_tied_child();
        if (pid == 0) {
            auto mine = MatrixHandler::from_mapping(h_->mapping());  // registers this process
            if (!mine) ::_exit(3);
            Worker(*mine, ctl_->w[i], now_ns() ^ (static_cast<std::uint64_t>(::getpid()) << 32)).run(ctl_->stop);
        }
        pids_[i] = pid;
        tracked_[i] = {};
        tracked_[i].waited_at_last_look = waited_for_cpu_ns(pid);
    }
    void start() {
        for (std::uint32_t i = 0; i < g_workers; ++i) spawn(i);
        running_ = true;
    }
    // SIGKILL worker i, reap it, clear its call-in-flight mark, respawn it.
    void kill_and_respawn(std::uint32_t i) {
        ::kill(pids_[i], SIGKILL);
        int status = 0;
        ::waitpid(pids_[i], &status, 0);
        if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) ++unexpected_exits_;
        ctl_->w[i].call_start.store(0, std::memory_order_relaxed);
        ++kills_;
        spawn(i);
    }
    // Any worker that ended without our signal is a crash.
    void reap_unexpected() {
        int status = 0;
        for (pid_t p; (p = ::waitpid(-1, &status, WNOHANG)) > 0;) {
            ++unexpected_exits_;
            std::printf("[soak] worker %d ended on its own: status 0x%x\n", p, status);
            for (std::uint32_t i = 0; i < g_workers; ++i) {
                if (pids_[i] == p) spawn(i);
            }
        }
    }
    // Longest call in flight among the running workers (not the stopped one), in ns, not counting
    // the time its worker waited for a CPU. A call that began before its worker's last SIGCONT
    // counts from the SIGCONT: the stop is not its fault.
    // Why not wall time: every call is bounded by its own steps and the retry budget (about 25 ms of
    // sleeps), but on a loaded machine a runnable worker can wait for a CPU for longer than any
    // deadline (with wall time this test failed on a correct tree in a ctest -j2 beside four
    // CPU-heavy jobs, and one call took 2.76 s of wall time in a run beside other agents' builds).
    // Time spent running or sleeping in its own backoff still counts, so a hang (a loop that never
    // ends, spinning or sleeping) still reaches the deadline, later only by the time the hung
    // worker waits for a CPU.
    // The kernel's run_delay covers the whole (single-threaded) worker; we read it at every look
    // and charge a call with the waiting since the look before the one that first saw it. That
    // may include the worker's waiting in the polling interval before the call began: the measure
    // is low by at most that.
    std::uint64_t longest_in_flight(int stopped) {
        std::uint64_t worst = 0;
        const std::uint64_t now = now_ns();
        for (std::uint32_t i = 0; i < g_workers; ++i) {
            // One load: two could see "no call" and then a call that just began, and measure from 0.
            const std::uint64_t start = ctl_->w[i].call_start.load(std::memory_order_relaxed);
            Tracked& k = tracked_[i];
            const std::uint64_t waited = waited_for_cpu_ns(pids_[i]);
            if (start != k.call_start) {
                k.call_start = start;
                k.waited_before_call = k.waited_at_last_look;
            }
            k.waited_at_last_look = waited;
            const std::uint64_t t = std::max(start, resumed_[i]);
            if (static_cast<int>(i) == stopped || start == 0 || now <= t) continue;
            const std::uint64_t queued = waited - std::min(waited, k.waited_before_call);
            worst = std::max(worst, now - t - std::min(now - t, queued));
        }
        return worst;
    }
    void pause(std::uint32_t i) { ::kill(pids_[i], SIGSTOP); }
    void resume(std::uint32_t i) {
        tracked_[i].waited_before_call = waited_for_cpu_ns(pids_[i]);  // a call is charged from here on
        ::kill(pids_[i], SIGCONT);
        resumed_[i] = now_ns();
    }
    void stop_all() {
        running_ = false;
        ctl_->stop.store(1, std::memory_order_relaxed);
        for (std::uint32_t i = 0; i < g_workers; ++i) {
            int status = 0;
            ::waitpid(pids_[i], &status, 0);
            if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) ++unexpected_exits_;
        }
    }
    std::uint64_t ops(std::uint32_t i) const { return ctl_->w[i].ops.load(std::memory_order_relaxed); }
    pid_t pid(std::uint32_t i) const { return pids_[i]; }
    std::uint32_t kills() const { return kills_; }
    std::uint32_t unexpected_exits() const { return unexpected_exits_; }

private:
    Result<MatrixHandler> h_;
    Control* ctl_;
    pid_t pids_[MAX_WORKERS] = {};
    std::uint64_t resumed_[MAX_WORKERS] = {};
    struct Tracked {  // the watchdog's view of one worker's current call
        std::uint64_t call_start = 0, waited_before_call = 0, waited_at_last_look = 0;
    };
    Tracked tracked_[MAX_WORKERS] = {};
    std::uint32_t kills_ = 0, unexpected_exits_ = 0;
    bool running_ = false;
};

struct Totals {
    std::uint64_t ops = 0, allocs = 0, frees = 0, transitions = 0, oom = 0, contention = 0, other = 0, broken = 0;
    std::uint64_t calls = 0, max_ns = 0, max_cpu_ns = 0;
    double p50 = 0, p99 = 0, p999 = 0;
};

Totals totals(const Control& c) {
    Totals t;
    std::uint64_t hist[BUCKETS] = {};
    for (std::uint32_t i = 0; i < g_workers; ++i) {
        const WorkerSlot& w = c.w[i];
        t.ops += w.ops; t.allocs += w.allocs; t.frees += w.frees; t.transitions += w.transitions;
        t.oom += w.oom; t.contention += w.contention; t.other += w.other_errors; t.broken += w.broken;
        t.max_ns = std::max<std::uint64_t>(t.max_ns, w.max_ns);
        t.max_cpu_ns = std::max<std::uint64_t>(t.max_cpu_ns, w.max_cpu_ns);
        for (std::uint32_t b = 0; b < BUCKETS; ++b) { hist[b] += w.hist[b]; t.calls += w.hist[b]; }
    }
    auto quantile = [&](double q) {
        const auto want = static_cast<std::uint64_t>(q * static_cast<double>(t.calls));
        std::uint64_t seen = 0;
        for (std::uint32_t b = 0; b < BUCKETS; ++b) {
            seen += hist[b];
            if (seen > want) return bucket_upper_ns(b);
        }
        return bucket_upper_ns(BUCKETS - 1);
    };
    t.p50 = quantile(0.5); t.p99 = quantile(0.99); t.p999 = quantile(0.999);
    return t;
}

void print_totals(const char* what, const Totals& t, double secs) {
    std::printf("[%s] %llu ops (%.0f ops/s): %llu allocs, %llu frees, %llu transitions; errors: %llu out_of_memory, "
                "%llu contention, %llu other; %llu broken patterns; call latency p50 %.1f us, p99 %.1f us, "
                "p99.9 %.1f us, max %.1f us (histogram bucket upper bounds)\n",
                what, (unsigned long long)t.ops, t.ops / secs, (unsigned long long)t.allocs, (unsigned long long)t.frees,
                (unsigned long long)t.transitions, (unsigned long long)t.oom, (unsigned long long)t.contention,
                (unsigned long long)t.other, (unsigned long long)t.broken, t.p50 / 1e3, t.p99 / 1e3, t.p999 / 1e3,
                t.max_ns / 1e3);
}

// The slowest call of each worker index (over all its generations).
void print_slowest(const Control& c) {
    static const char* const names[] = {"allocate", "free", "transition"};
    for (std::uint32_t i = 0; i < g_workers; ++i) {
        const WorkerSlot& w = c.w[i];
        std::printf("[slowest] worker %u: %s of %u B took %.1f ms wall; most CPU time in one call %.1f ms\n", i,
                    names[w.max_op.load() % 3], w.max_size.load(), w.max_ns.load() / 1e6, w.max_cpu_ns.load() / 1e6);
    }
}

// verify, recover, verify, conservation and the lost-block count. Returns blocks lost.
std::uint64_t audit(Soak& s, std::uint32_t kills) {
    MatrixHandler& h = s.handler();
    const VerifyReport before = h.verify();
    std::printf("[soak] before recover: %zu violations (in-flight leftovers of killed workers); %u blocks, %u FREE "
                "of which %u listed; %u transient blocks\n", before.violations.size(), before.blocks,
                before.free_blocks, before.listed, h.stats().transient_blocks);
    auto rep = h.recover();
    EXPECT_TRUE(rep) << (rep ? "" : rep.error().message() + " " + rep.error().context);
    if (!rep) return ~0ull;
    std::printf("[soak] %s; %u transit counts and %u heal counts reset\n", rep->to_string().c_str(),
                rep->transit_reset, rep->heals_reset);
    const VerifyReport after = h.verify(VerifyMode::after_heal);
    EXPECT_TRUE(after.ok()) << after.to_string();
    const std::uint32_t data = h.segment_size() - h.first_block_offset();
    EXPECT_EQ(rep->free_bytes + rep->live_bytes + rep->orphan_bytes + rep->leaked_bytes, data) << "conservation";
    // Journaled blocks are accounted for; every other non-free block was lost by a kill.
    std::set<std::uint32_t> journaled;
    for (std::uint32_t i = 0; i < g_workers; ++i) {
        for (std::uint32_t j = 0; j < JOURNAL; ++j) {
            if (const std::uint32_t b = s.control().w[i].held[j].load()) journaled.insert(b);
        }
    }
    std::uint64_t lost = 0, lost_bytes = 0, found = 0;
    auto account = [&](const std::vector<RecoveredBlock>& v) {
        for (const auto& b : v) {
            if (journaled.count(b.offset)) { ++found; continue; }
            ++lost;
            lost_bytes += b.size;
        }
    };
    account(rep->orphans);
    account(rep->leaked);
    EXPECT_EQ(found, journaled.size()) << "a journaled block is not live";
    std::printf("[soak] %u kills: %zu journaled blocks adopted and live, %llu blocks (%llu bytes) lost = %.3f per kill; "
                "free %llu + live %llu + orphaned %llu + leaked %llu = %u data bytes\n",
                kills, journaled.size(), (unsigned long long)lost, (unsigned long long)lost_bytes,
                kills ? double(lost) / kills : 0.0, (unsigned long long)rep->free_bytes,
                (unsigned long long)rep->live_bytes, (unsigned long long)rep->orphan_bytes,
                (unsigned long long)rep->leaked_bytes, data);
    return lost;
}

TEST(Soak, KillNineWorkersAndRecover) {
    Soak s;
    ASSERT_TRUE(s.ready());
    std::mt19937 rng(12345);
    std::uniform_int_distribution<int> gap_ms(10, 50);
    std::uniform_int_distribution<std::uint32_t> victim(0, g_workers - 1);
    s.start();
    const std::uint64_t t0 = now_ns(), end = t0 + static_cast<std::uint64_t>(g_seconds) * 1000000000ull;
    std::uint64_t worst = 0;
    while (now_ns() < end) {
        const std::uint64_t next_kill = now_ns() + static_cast<std::uint64_t>(gap_ms(rng)) * 1000000ull;
        while (now_ns() < next_kill) {  // the watchdog, every 2 ms
            worst = std::max(worst, s.longest_in_flight(-1));
            s.reap_unexpected();
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        ASSERT_LT(worst, WATCHDOG_NS) << "watchdog: a call stayed in flight over 1 s (time waiting for a CPU not counted)";
        s.kill_and_respawn(victim(rng));
    }
    s.stop_all();
    const double secs = (now_ns() - t0) / 1e9;
    const Totals t = totals(s.control());
    print_totals("soak", t, secs);
    print_slowest(s.control());
    std::printf("[soak] %u workers x %.1f s, %u SIGKILLs, %u unexpected exits, longest call in flight seen by the "
                "watchdog %.1f ms (time waiting for a CPU not counted)\n", g_workers, secs, s.kills(), s.unexpected_exits(), worst / 1e6);
    EXPECT_EQ(s.unexpected_exits(), 0u);
    EXPECT_EQ(t.broken, 0u);
    EXPECT_EQ(t.other, 0u);
    EXPECT_LT(t.max_cpu_ns, WATCHDOG_NS) << "CPU time of one call";  // wall time: the watchdog's measure
    EXPECT_GT(s.kills(), 0u);
    const std::uint64_t lost = audit(s, s.kills());
    EXPECT_LE(lost, s.kills()) << "more than one block lost per kill";
}

TEST(Soak, StoppedWorkerBlocksNobody) {
    Soak s;
    ASSERT_TRUE(s.ready());
    std::mt19937 rng(777);
    std::uniform_int_distribution<std::uint32_t> victim(0, g_workers - 1);
    std::uniform_int_distribution<int> gap_ms(5, 40);
    s.start();
    const int rounds = std::max(3, g_seconds / 4);
    std::uint64_t min_progress = ~0ull, worst = 0;
    for (int r = 0; r < rounds; ++r) {
        std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms(rng)));  // a random point in its work
        const std::uint32_t v = victim(rng);
        s.pause(v);
        std::uint64_t before = 0, after = 0;
        for (std::uint32_t i = 0; i < g_workers; ++i) before += i == v ? 0 : s.ops(i);
        for (const std::uint64_t until = now_ns() + 300000000ull; now_ns() < until;) {  // 300 ms stopped
            worst = std::max(worst, s.longest_in_flight(static_cast<int>(v)));
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        for (std::uint32_t i = 0; i < g_workers; ++i) after += i == v ? 0 : s.ops(i);
        s.resume(v);
        min_progress = std::min(min_progress, after - before);
    }
    s.stop_all();
    const Totals t = totals(s.control());
    print_totals("stop", t, rounds * 0.32);
    print_slowest(s.control());
    std::printf("[stop] %d SIGSTOPs of 300 ms: the others completed at least %llu ops during each; longest call in "
                "flight among them %.1f ms\n", rounds, (unsigned long long)min_progress, worst / 1e6);
    EXPECT_GT(min_progress, 0u) << "a stopped participant blocked the others";
    EXPECT_LT(worst, WATCHDOG_NS);
    EXPECT_EQ(t.broken, 0u);
    EXPECT_EQ(s.unexpected_exits(), 0u);
    EXPECT_EQ(audit(s, 0), 0u);
}

}  // namespace
}  // namespace amx::chaos

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);  // takes the --gtest_* flags out of argv
    if (const auto rc = amx::test::parse_flags(
            argc, argv, "Worker processes killed at random while they allocate; the heap must recover.", "soak_test",
            {{"--seconds", amx::chaos::g_seconds, "seconds of kills"},
             {"--workers", amx::chaos::g_workers, "worker processes", amx::chaos::MAX_WORKERS}}))
        return *rc;
    return RUN_ALL_TESTS();
}
