// DEEP TIER, EXPECTED TO FAIL until the core is fixed (found by BM_AllocFree/<class>/threads:2).
//
// Two threads share a 64 MiB heap and each repeats allocate(n) + free of the same size, so at most
// two blocks are ever live. No allocation should fail. On the core as of commit 92db2d9 they do:
// out_of_memory (HEAD) or contention (the tree being edited at the time), within the first second.
//
// Counterexample (the mechanism, read from heap.hpp / allocate.hpp): the heap holds one big free
// block X. Thread A pops X to split it (or pops X's remainder to merge it back on free); while A
// holds it, X is on no list, so B's try_fit finds nothing and B heals, backs off and calls
// settled(). If A is descheduled while holding X (2 cores shared with other work, or both threads on
// one core as in SameCore below) the heads do not move during B's SETTLE_SPINS (512 pause
// instructions, a few microseconds, far shorter than a scheduler quantum), so B concludes the heap
// is full and reports out_of_memory. docs/PROTOCOL.md calls this out ("a participant stopped while
// holding the only fitting block"), but with two threads it is not rare: it happens every run.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "amx/handler/handler.hpp"
#include "../tests/support/figures.hpp"

namespace {

struct Failures {
    std::map<std::string, std::uint64_t> by_code;
    std::uint64_t pairs = 0, total = 0;
};

void pin_to_cpu0() {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

Failures run_pairs(bool same_core, std::uint64_t payload, std::chrono::milliseconds how_long) {
    auto m = amx::MatrixHandler::in_memory(64u << 20);
    EXPECT_TRUE(m) << m.error().message();
    Failures out;
    if (!m) return out;
    std::atomic<bool> stop{false};
    std::vector<Failures> per(2);
    std::vector<std::thread> ts;
    for (int t = 0; t < 2; ++t) {
        ts.emplace_back([&, t, h = m->share()] {
            if (same_core) pin_to_cpu0();
            while (!stop.load(std::memory_order_relaxed)) {
                ++per[t].pairs;
                auto b = h.allocate_raw(payload);
                if (!b) {
                    ++per[t].by_code[amx::errc_name(b.error().code)];
                    ++per[t].total;
                    continue;
                }
                EXPECT_TRUE(h.free(*b));
            }
        });
    }
    std::this_thread::sleep_for(how_long);
    stop = true;
    for (auto& t : ts) t.join();
    for (const auto& f : per) {
        out.pairs += f.pairs;
        out.total += f.total;
        for (const auto& [k, v] : f.by_code) out.by_code[k] += v;
    }
    amx::test::figure("alloc/free pairs", out.pairs);
    const auto r = m->verify();
    EXPECT_TRUE(r.ok()) << r.to_string();
    return out;
}

std::string describe(const Failures& f) {
    std::string s = std::to_string(f.total) + " failed allocations in " + std::to_string(f.pairs) + " pairs:";
    for (const auto& [k, v] : f.by_code) s += " " + k + "=" + std::to_string(v);
    return s;
}

TEST(PairFailure, TwoThreadsNeverFailOnAnAlmostEmptyHeap) {
    const Failures f = run_pairs(false, 4096, std::chrono::milliseconds(2000));
    std::printf("free-running: %s\n", describe(f).c_str());
    EXPECT_EQ(f.total, 0u) << describe(f);
}

TEST(PairFailure, TwoThreadsOnOneCoreNeverFail) {
    const Failures f = run_pairs(true, 4096, std::chrono::milliseconds(2000));
    std::printf("same core: %s\n", describe(f).c_str());
    EXPECT_EQ(f.total, 0u) << describe(f);
}

}  // namespace
