// The `schedules` scheduler: runs 2-4 logical threads (fibers) over InstrumentedAtomicPolicy and
// lets the fuzz input decide, at every atomic access, who runs next.
//
// Decisions: each input byte picks a thread among the eligible ones (b % count) and a slice of
// 1..8 accesses it runs before the next decision. When the input is used up, round robin with
// slices of 32. A thread that calls spin_hint() (a retry loop) yields and is not eligible again
// until the others made SPIN_WINDOW accesses: the model of "a preempted participant finishes its
// step while we spin" that the settle window of allocate() relies on. Without it the scheduler
// would starve a participant holding the only fitting block forever, which PROTOCOL.md already
// names as the one way to see out_of_memory early.
// Death: the victim stops for good at its kill_at-th access (before performing it).
// Spurious cas_weak failures: the i-th cas_weak fails if bit i%32 of the mask is set, at most
// MAX_SPURIOUS times per run (more would only force a contention error).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "instrumented_policy.hpp"
#include "support/fibers.hpp"
#include "support/input.hpp"

// The scheduler's own branches are not what the fuzzer should chase (and tracing its comparisons
// was 40% of the run time): no coverage instrumentation for them.
#if defined(__clang__)
#define AMX_NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define AMX_NO_COVERAGE
#endif

namespace amx::fuzz {

struct ScheduleConfig {
    int threads = 2;
    int victim = -1;               // thread that dies, -1 = none
    std::uint32_t kill_at = 0;     // the victim's access at which it dies (1-based)
    std::uint32_t spurious_mask = 0;
};

class Scheduler final : public PolicyHook {
public:
    // Loop bounds: accesses of one operation of a thread (begin_op), and of a whole run. A failing
    // allocate on the default geometry legitimately makes ~30k (32 attempts, 208 heads read twice).
    static constexpr std::uint64_t MAX_OP_STEPS = 300000;
    static constexpr std::uint64_t MAX_STEPS = 3000000;
    static constexpr std::uint64_t SPIN_WINDOW = 24;
    static constexpr int MAX_SPURIOUS = 6;
    static constexpr int MAX_THREADS = 4;

    Scheduler(ByteReader& decisions, const ScheduleConfig& cfg) : in_(decisions), cfg_(cfg) {}

    // Runs every body to its end (or the victim to its death); the policy hook is ours meanwhile.
    AMX_NO_COVERAGE void run(const std::vector<std::function<void()>>& bodies) {
        for (int i = 0; i < static_cast<int>(bodies.size()); ++i) fibers()[i].reset(bodies[i]);
        t_.assign(bodies.size(), Thread{});
        FuzzHook::target = this;
        for (int cur = pick(); cur >= 0; cur = pick()) {
            cur_ = cur;
            fibers()[cur].resume();
            if (fibers()[cur].finished()) t_[cur].done = true;
        }
        FuzzHook::target = nullptr;
    }

    // Called by a thread's body before each operation: its loop bound starts again.
    void begin_op() { t_[cur_].op_start = t_[cur_].steps; }
    bool killed(int i) const { return t_[i].killed; }
    bool any_killed() const { return cfg_.victim >= 0 && t_[cfg_.victim].killed; }
    std::uint64_t steps() const { return steps_; }
    // The schedule as run: "t1x3" = thread 1 for 3 accesses; "!" marks a death, "~" a spurious failure.
    std::string trace() const {
        std::string out;
        for (const char ch : trace_) {
            const auto c = static_cast<unsigned char>(ch);
            if (c & 0x80) {
                out += strf(" t%dx%d", (c >> 4) & 7, c & 15);
            } else {
                out += ch;
            }
        }
        return out;
    }
    void set_failure_context(std::function<std::string()> f) { context_ = std::move(f); }

    AMX_NO_COVERAGE void point(const WordAccess&, const Site& where) override {
        Thread& t = t_[cur_];
        ++t.steps;
        if (++steps_ > MAX_STEPS || t.steps - t.op_start > MAX_OP_STEPS) {
            die(strf("thread %d: no progress after %llu accesses in one operation, %llu in all (at %s:%u): unbounded loop",
                     cur_, static_cast<unsigned long long>(t.steps - t.op_start),
                     static_cast<unsigned long long>(steps_), where.file, where.line));
        }
        if (cur_ == cfg_.victim && t.steps == cfg_.kill_at) {
            t.killed = true;
            trace_ += strf(" !t%d@%s:%u", cur_, short_name(where.file), where.line);
            fibers()[cur_].yield();  // never resumed
        }
        if (--slice_ > 0) return;
        fibers()[cur_].yield();
    }

    unsigned logical_thread() const override { return static_cast<unsigned>(cur_); }
    AMX_NO_COVERAGE bool spurious_failure(const Site&) override {
        const bool fail = spurious_used_ < MAX_SPURIOUS && ((cfg_.spurious_mask >> (weak_seen_++ % 32)) & 1u);
        if (fail) {
            ++spurious_used_;
            trace_ += "~";
        }
        return fail;
    }

    AMX_NO_COVERAGE void spin() override {
        // Nobody else could run (done, dead, or spinning themselves): our spin is just time passing.
        if (!others_eligible()) return;
        t_[cur_].blocked_until = steps_ + SPIN_WINDOW;
        slice_ = 0;
        fibers()[cur_].yield();
    }

    [[noreturn]] void wild(std::uint32_t off, std::size_t width, const Site& where) override {
        die(strf("wild %zu-byte access at 0x%x from %s:%u (%s)", width, off, where.file, where.line,
                 where.function));
    }

private:
    struct Thread {
        std::uint64_t steps = 0, blocked_until = 0, op_start = 0;
        bool done = false, killed = false;
    };

    AMX_NO_COVERAGE bool others_eligible() const {
        for (int i = 0; i < static_cast<int>(t_.size()); ++i) {
            if (i != cur_ && !t_[i].done && !t_[i].killed && t_[i].blocked_until <= steps_) return true;
        }
        return false;
    }

    static Fiber* fibers() {
        static Fiber f[MAX_THREADS];
        return f;
    }
    static const char* short_name(const char* path) {
        const char* s = path;
        for (const char* p = path; *p; ++p) {
            if (*p == '/') s = p + 1;
        }
        return s;
    }

    [[noreturn]] void die(const std::string& why) {
        FuzzHook::target = nullptr;
        fail("schedules", (context_ ? context_() : std::string()) + "schedule:" + trace() + "\n", why);
    }

    // The next thread to run, -1 when all are done or dead.
    AMX_NO_COVERAGE int pick() {
        int eligible[MAX_THREADS], n = 0, live = 0;
        for (int i = 0; i < static_cast<int>(t_.size()); ++i) {
            if (t_[i].done || t_[i].killed) continue;
            ++live;
            if (t_[i].blocked_until <= steps_) eligible[n++] = i;
        }
        if (live == 0) return -1;
        if (n == 0) {  // everyone spins: let the clock run
            for (int i = 0; i < static_cast<int>(t_.size()); ++i) {
                if (!t_[i].done && !t_[i].killed) eligible[n++] = i;
            }
        }
        int next;
        if (!in_.empty()) {
            const std::uint8_t b = in_.u8();
            next = eligible[b % n];
            slice_ = 1 + (b >> 5);
        } else {
            next = eligible[(rr_++) % n];
            slice_ = 32;
            if (rr_ == 1) trace_ += " (input used up: round robin x32)";
            return next;
        }
        // One byte per decision, high bit set (the rest of the trace is ASCII); trace() formats it.
        trace_ += static_cast<char>(0x80 | (next << 4) | slice_);
        return next;
    }

    ByteReader& in_;
    ScheduleConfig cfg_;
    std::vector<Thread> t_;
    int cur_ = 0, slice_ = 0, spurious_used_ = 0;
    std::uint32_t weak_seen_ = 0, rr_ = 0;
    std::uint64_t steps_ = 0;
    std::string trace_;
    std::function<std::string()> context_;
};

}  // namespace amx::fuzz
