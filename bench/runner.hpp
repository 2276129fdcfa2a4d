// One run of the workload: N threads sharing one segment, or N processes each attaching to it by
// name. The driver creates the segment, starts every worker at once (go flag), stops them with the
// stop flag after the run time (or lets each run a fixed number of operations), then runs the
// backend's end-of-run oracle and removes the name. A run is clean only if every worker reported,
// no pattern broke, no free was refused and the oracle passed.
#pragma once
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "workload.hpp"

namespace amxb {

struct RunConfig {
    bool processes = false;
    std::uint32_t workers = 1;
    double seconds = 1.0;
    std::uint64_t fixed_ops = 0;  // > 0: each worker runs exactly this many iterations
    std::uint64_t segment_bytes = 64ull << 20;
    double sample_period_s = 0.1;  // how often RunHooks::sample runs during a timed run
};

// Optional steps of a run, for the targets (bench/targets.cpp): create replaces B::create (a
// segment prepared before the workers start), sample runs in the driver every sample_period_s
// while the workers run, before_check runs once the workers have drained and joined, before the
// backend's end-of-run oracle.
template <class B>
struct RunHooks {
    std::function<std::unique_ptr<B>(const std::string& name, std::uint64_t bytes, std::string& err)> create;
    std::function<void(const B&)> sample;
    std::function<void(const B&)> before_check;
};

// What the backend's oracle saw after the drain; -1 where the backend cannot tell.
struct EndFigures {
    std::int64_t free_blocks_after_drain = -1;  // quiescent, before any explicit heal
    std::int64_t automatic_heals = -1;          // heals the allocator ran by itself during the run
};

// The first line of /proc/loadavg ("1.02 0.87 0.55 2/321 4711"): printed beside every timing.
inline std::string load_average() {
    std::ifstream la("/proc/loadavg");
    std::string s;
    std::getline(la, s);
    return s;
}

struct RunResult {
    bool clean = false;
    std::string check;  // the oracle's summary, or what went wrong
    std::uint64_t ops = 0, ok_ops = 0, idle = 0, broken = 0;
    std::map<std::string, std::uint64_t> failed;  // failed allocations by error name
    double wall_s = 0, cpu_share = 0;
    double ops_per_s() const { return wall_s > 0 ? ops / wall_s : 0; }
    double ok_per_s() const { return wall_s > 0 ? ok_ops / wall_s : 0; }
    // Wall time per operation and worker (the cost one worker sees).
    double ns_per_op(std::uint32_t workers) const { return ops > 0 ? wall_s * 1e9 * workers / ops : 0; }
    double cpu_s = 0;  // CPU time of all workers during the loop
    double cpu_ns_per_op() const { return ops > 0 ? cpu_s * 1e9 / ops : 0; }
    std::string loadavg;  // at the start of the run
    EndFigures end;
};

inline std::string run_name(const char* backend) {
    static std::uint32_t serial = 0;
    return std::string("amxbench-") + backend + "-" + std::to_string(getpid()) + "-" + std::to_string(++serial);
}

// Shared state for a run: in a MAP_SHARED anonymous mapping so forked workers write into it.
struct Board {
    Control ctl;
    WorkerResult res[1];  // really `workers` of them (allocated with room)
    static Board* make(std::uint32_t workers) {
        const std::size_t bytes = sizeof(Board) + sizeof(WorkerResult) * workers;
        void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return nullptr;
        Board* b = new (p) Board();
        for (std::uint32_t i = 1; i < workers; ++i) new (&b->res[i]) WorkerResult();
        return b;
    }
    static void unmake(Board* b, std::uint32_t workers) {
        munmap(b, sizeof(Board) + sizeof(WorkerResult) * workers);
    }
};

template <class B>
void work(B& backend, Control& ctl, std::uint32_t id, std::uint64_t fixed_ops, WorkerResult& r) {
    auto a = backend.worker();
    Worker<typename B::Alloc> w(a, id, r);
    r.attached = true;
    w.run(ctl, fixed_ops);
}

// Waits `seconds`, calling sample (if any) at once and then every `period` seconds.
inline void wait_sampling(double seconds, double period, const std::function<void()>& sample) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    if (!sample) {
        std::this_thread::sleep_until(end);
        return;
    }
    for (auto next = std::chrono::steady_clock::now(); next < end;
         next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(period))) {
        std::this_thread::sleep_until(next);
        sample();
    }
    std::this_thread::sleep_until(end);
}

// Raises go once every worker is at the start line (or gives up after a few seconds, when a
// process failed to attach), waits the run time (sampling), raises stop.
inline void drive(Control& ctl, const RunConfig& cfg, const std::function<void()>& sample = {}) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (ctl.ready.load(std::memory_order_relaxed) < cfg.workers &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    // release: pairs with the workers' acquire load of go.
    ctl.go.store(1, std::memory_order_release);
    if (cfg.fixed_ops == 0) {
        wait_sampling(cfg.seconds, cfg.sample_period_s, sample);
        ctl.stop.store(1, std::memory_order_relaxed);
    }
}

template <class B>
void run_threads(B& backend, const RunConfig& cfg, Board& board, const std::function<void()>& sample) {
    std::vector<std::thread> ts;
    for (std::uint32_t i = 0; i < cfg.workers; ++i) {
        ts.emplace_back([&, i] { work(backend, board.ctl, i, cfg.fixed_ops, board.res[i]); });
    }
    drive(board.ctl, cfg, sample);
    for (auto& t : ts) t.join();
}

// Forks n children; child i runs body(i) and exits with its result. Returns the pids (as many as
// forked: fewer than n if a fork failed).
template <class F>
std::vector<pid_t> spawn(std::uint32_t n, F&& body) {
    std::vector<pid_t> kids;
    for (std::uint32_t i = 0; i < n; ++i) {
        const pid_t pid = fork();
        if (pid < 0) break;
        if (pid == 0) _exit(body(i));
        kids.push_back(pid);
    }
    return kids;
}

// Waits for every child; names each that did not exit with status 0 (empty: all did).
inline std::string reap(const std::vector<pid_t>& kids) {
    std::string problems;
    for (std::uint32_t i = 0; i < kids.size(); ++i) {
        int status = 0;
        waitpid(kids[i], &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            problems += "worker process " + std::to_string(i) + " exited abnormally (status " +
                        std::to_string(status) + "); ";
        }
    }
    return problems;
}

// Each child attaches by name with its own mapping; the parent's backend is only used to check.
template <class B>
std::string run_processes(const std::string& name, const RunConfig& cfg, Board& board,
                          const std::function<void()>& sample) {
    const std::vector<pid_t> kids = spawn(cfg.workers, [&](std::uint32_t i) {
        std::string err;
        auto mine = B::attach(name, err);
        if (!mine) return 2;
        work(*mine, board.ctl, i, cfg.fixed_ops, board.res[i]);
        return 0;
    });
    drive(board.ctl, cfg, sample);
    std::string problems = reap(kids);
    if (kids.size() < cfg.workers) problems += "fork failed; ";
    return problems;
}

template <class B>
void summarise(const RunConfig& cfg, const Board& board, RunResult& out) {
    std::uint64_t t0 = ~0ull, t1 = 0, cpu = 0;
    for (std::uint32_t i = 0; i < cfg.workers; ++i) {
        const WorkerResult& r = board.res[i];
        if (!r.attached) {
            out.check += "worker " + std::to_string(i) + " never started; ";
            continue;
        }
        out.ops += r.ops;
        out.ok_ops += r.ok_ops;
        out.idle += r.idle;
        out.broken += r.broken;
        for (int c = 0; c < MAX_CODES; ++c) {
            if (r.failed[c] != 0) out.failed[B::code_name(c)] += r.failed[c];
        }
        if (r.broken != 0) {
            out.check += "worker " + std::to_string(i) + ": " + std::to_string(r.broken) +
                         " broken blocks (first at offset " + std::to_string(r.first_broken_offset) +
                         ", " + std::to_string(r.first_broken_size) + " bytes, free error " +
                         std::to_string(r.first_free_error) + "); ";
        }
        t0 = std::min(t0, r.start_ns);
        t1 = std::max(t1, r.end_ns);
        cpu += r.cpu_ns;
    }
    out.wall_s = t1 > t0 ? (t1 - t0) / 1e9 : 0;
    out.cpu_s = cpu / 1e9;
    out.cpu_share = out.wall_s > 0 ? out.cpu_s / (out.wall_s * cfg.workers) : 0;
}

// Creates the segment, runs, checks, removes the name.
template <class B>
RunResult run_once(const RunConfig& cfg, const RunHooks<B>& hooks = {}) {
    RunResult out;
    out.loadavg = load_average();
    const std::string name = run_name(B::NAME);
    std::string err;
    auto backend = hooks.create ? hooks.create(name, cfg.segment_bytes, err) : B::create(name, cfg.segment_bytes, err);
    if (!backend) {
        out.check = std::string("cannot create the ") + B::NAME + " segment: " + err;
        return out;
    }
    Board* board = Board::make(cfg.workers);
    if (board == nullptr) {
        out.check = "cannot map the results board";
        backend->unlink();
        return out;
    }
    std::function<void()> sample;
    if (hooks.sample) sample = [&] { hooks.sample(*backend); };
    if (cfg.processes) out.check += run_processes<B>(name, cfg, *board, sample);
    else run_threads(*backend, cfg, *board, sample);
    summarise<B>(cfg, *board, out);
    Board::unmake(board, cfg.workers);
    if (hooks.before_check) hooks.before_check(*backend);
    std::string oracle;
    const bool oracle_ok = backend->end_check(oracle, out.end);
    out.clean = out.check.empty() && oracle_ok;
    out.check += oracle;
    backend->unlink();
    return out;
}

}  // namespace amxb
