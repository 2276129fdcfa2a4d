// The original's endurance workload, checked: N threads, sizes 32..543, allocate (70 %) while
// holding fewer than 200 blocks, otherwise free a random held block. Every payload carries a fill
// pattern checked before it is freed (an overlap breaks someone's pattern). At the end: verify()
// clean, then free everything, heal, and the segment must be one free block. No allocation may
// fail, except `contention` within the bound of support/contention_bound.hpp (the other thread
// descheduled while it held the block we needed), printed with the figures.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "amx/handler/handler.hpp"
#include "support/contention_bound.hpp"
#include "support/figures.hpp"
#include "support/flags.hpp"
#include "support/test_heap.hpp"

namespace {

int g_seconds = 2;

struct Held {
    amx::Block<std::byte> block;
    std::uint32_t size, tag;
};

struct WorkerResult {
    std::uint64_t ops = 0, allocs = 0, frees = 0, failed = 0, broken = 0;
};

void worker(amx::SharedHandler h, std::uint32_t id, const std::atomic<bool>& stop, amx::test::ContentionBound& bound,
            WorkerResult& out, std::vector<Held>& held) {
    bound.start(static_cast<int>(id));
    std::uint32_t rng = id + 1;
    std::uint32_t tag = id << 24;
    while (!stop.load(std::memory_order_relaxed)) {
        rng = rng * 1103515245u + 12345u;
        ++out.ops;
        if (rng % 10 < 7 && held.size() < 200) {
            const std::uint32_t size = rng % 512 + 32;
            auto b = bound.call(static_cast<int>(id), [&] { return h.allocate_raw(size); });
            if (!b) {
                if (!amx::test::ContentionBound::is_contention(b.error())) ++out.failed;
                continue;
            }
            ++tag;
            amx::test::fill(h.raw_base_ptr() + b->offset, size, tag);
            held.push_back({*b, size, tag});
            ++out.allocs;
        } else if (!held.empty()) {
            const std::size_t i = rng % held.size();
            const Held x = held[i];
            held[i] = held.back();
            held.pop_back();
            if (!amx::test::check_fill(h.raw_base_ptr() + x.block.offset, x.size, x.tag)) ++out.broken;
            if (!h.free(x.block)) ++out.broken;
            ++out.frees;
        }
    }
    bound.arrive();
}

TEST(Stress, OriginalWorkloadTwoThreadsStaysClean) {
    auto m = amx::MatrixHandler::in_memory(64u << 20);
    ASSERT_TRUE(m) << m.error().message();
    std::atomic<bool> stop{false};
    constexpr int N = 2;
    amx::test::ContentionBound bound(N);
    WorkerResult res[N];
    std::vector<Held> held[N];
    std::vector<std::thread> ts;
    for (int i = 0; i < N; ++i) ts.emplace_back(worker, m->share(), i, std::cref(stop), std::ref(bound), std::ref(res[i]), std::ref(held[i]));
    std::this_thread::sleep_for(std::chrono::seconds(g_seconds));
    stop = true;
    for (auto& t : ts) t.join();

    std::uint64_t ops = 0, broken = 0, failed = 0;
    for (auto& r : res) { ops += r.ops; broken += r.broken; failed += r.failed; }
    const auto mid = m->verify();
    EXPECT_TRUE(mid.ok()) << mid.to_string();
    EXPECT_EQ(broken, 0u) << "fill patterns broken or frees refused";
    EXPECT_EQ(failed, 0u) << "allocation errors other than contention with a 64 MiB segment and < 200 x 543 B held";
    EXPECT_EQ(bound.violations(), "");
    for (int i = 0; i < N; ++i) {
        for (const auto& x : held[i]) {
            EXPECT_TRUE(amx::test::check_fill(m->raw_base_ptr() + x.block.offset, x.size, x.tag));
            EXPECT_TRUE(m->free(x.block));
        }
    }
    m->heal();
    const auto end = m->verify(amx::VerifyMode::after_heal);
    EXPECT_TRUE(end.ok()) << end.to_string();
    EXPECT_EQ(end.blocks, 1u);
    amx::test::figure("ops", ops);
    std::printf("stress: %d threads x %d s: %llu ops (%.2f Mop/s), %llu failed, %s, %llu broken; %s", N, g_seconds,
                static_cast<unsigned long long>(ops), ops / 1e6 / g_seconds,
                static_cast<unsigned long long>(failed), bound.summary().c_str(),
                static_cast<unsigned long long>(broken), end.to_string().c_str());
}

}  // namespace

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);  // takes the --gtest_* flags out of argv
    if (const auto rc = amx::test::parse_flags(argc, argv, "Threads hammering one heap, then a quiescent verify.",
                                               "stress_test", {{"--seconds", g_seconds, "seconds of load"}}))
        return *rc;
    return RUN_ALL_TESTS();
}
