#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "amx/handler/handler.hpp"
#include "support/contention_bound.hpp"

namespace amx {
namespace {

struct Pair {
    std::uint64_t a, b;
};

TEST(Handler, TypedRoundTrip) {
    auto h = MatrixHandler::in_memory(1 << 16);
    ASSERT_TRUE(h) << h.error().message();
    auto blk = h->allocate<Pair>();
    ASSERT_TRUE(blk);
    h->write(*blk, Pair{1, 2});
    EXPECT_EQ(h->read(*blk).b, 2u);
    h->read_mut(*blk).a = 7;
    EXPECT_EQ(h->read(*blk).a, 7u);
    EXPECT_EQ(*h->get_state(*blk), STATE_ALLOCATED);
    EXPECT_TRUE(h->free(*blk));
    EXPECT_EQ(h->free(*blk).error().code, Errc::invalid_offset);
}

TEST(Handler, SharedHandlerKeepsTheMappingAlive) {
    std::optional<SharedHandler> s;
    Block<std::uint32_t> blk;
    {
        auto h = MatrixHandler::in_memory(1 << 16);
        ASSERT_TRUE(h);
        s = h->share();
        blk = *h->allocate<std::uint32_t>();
        h->write(blk, 5u);
    }
    EXPECT_EQ(s->read(blk), 5u);
    EXPECT_TRUE(s->free(blk));
    EXPECT_TRUE(s->verify().ok());
}

TEST(Handler, BlockAtValidatesForeignOffsets) {
    auto h = MatrixHandler::in_memory(1 << 16);
    auto blk = *h->allocate_raw(16);
    EXPECT_TRUE(h->block_at<std::uint64_t>(blk.offset));
    struct Big { std::uint64_t x[3]; };
    EXPECT_TRUE(h->block_at<Pair>(blk.offset));
    EXPECT_EQ(h->block_at<Big>(blk.offset).error().code, Errc::type_too_large);
    EXPECT_EQ(h->block_at<std::uint64_t>(blk.offset + 16).error().code, Errc::invalid_offset);
    EXPECT_EQ(h->block_at<std::uint64_t>(3).error().code, Errc::invalid_offset);
    ASSERT_TRUE(h->free(blk));
    EXPECT_EQ(h->block_at<std::uint64_t>(blk.offset).error().code, Errc::invalid_offset);
}

// observe(): a read-only view (PROT_READ, no registry slot) that reads what the owner wrote; a write
// through read_mut's unchecked reference faults (the checked writing calls: badinput R74).
TEST(Handler, ObserveIsReadOnlyAndDoesNotRegister) {
    const std::string name = random_name();
    auto h = MatrixHandler::create(name, 1 << 16);
    ASSERT_TRUE(h) << h.error().message();
    auto blk = h->allocate<std::uint32_t>();
    ASSERT_TRUE(blk);
    h->write(*blk, 42u);
    auto v = MatrixHandler::observe(name);
    ASSERT_TRUE(v) << v.error().message();
    EXPECT_EQ(v->read(*blk), 42u);
    const Stats s = v->stats();
    EXPECT_EQ(s.allocated_blocks, 1u);
    EXPECT_EQ(s.live_participants, 1u);  // the creator only
    EXPECT_TRUE(v->verify().ok());
    EXPECT_DEATH(v->read_mut(*blk) = 7u, "");
    EXPECT_EQ(MatrixHandler::observe("no-such-" + name).error().code, Errc::not_found);
    EXPECT_TRUE(h->die());
}

TEST(Handler, StatsCountBlocksPerState) {
    auto h = MatrixHandler::in_memory(1 << 16);
    auto a = *h->allocate_raw(100);
    auto b = *h->allocate_raw(100);
    ASSERT_TRUE(h->set_state(b, 60));
    const Stats s = h->stats();
    EXPECT_EQ(s.capacity, 1u << 16);
    EXPECT_EQ(s.allocated_blocks, 1u);
    EXPECT_EQ(s.user_state_blocks, 1u);
    EXPECT_EQ(s.free_blocks, 1u);
    EXPECT_EQ(s.largest_free, s.free_bytes);
    EXPECT_TRUE(s.complete);
    (void)a;
}

TEST(Handler, ErrorsHaveACategoryAndAMessage) {
    auto h = MatrixHandler::in_memory(1 << 16);
    auto e = h->allocate_raw(0).error();
    EXPECT_EQ(e.error_code(), make_error_code(Errc::invalid_size));
    EXPECT_STREQ(e.error_code().category().name(), "atomic-matrix");
    EXPECT_NE(e.message().find("invalid_size"), std::string::npos);
}

// Two threads allocate and free through shared handles. No allocation may fail, except
// `contention` within the bound of support/contention_bound.hpp (the other thread descheduled
// while it held the segment's one big free block); the thread then retries.
TEST(Handler, ShareAcrossThreads) {
    auto h = MatrixHandler::in_memory(1 << 20);
    test::ContentionBound bound(2);
    std::atomic<std::uint64_t> failed{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 2; ++t) {
        ts.emplace_back([&bound, &failed, t, s = h->share()] {
            bound.start(t);
            for (int i = 0; i < 10000;) {
                auto b = bound.call(t, [&] { return s.allocate<std::uint64_t>(); });
                if (!b && test::ContentionBound::is_contention(b.error())) continue;  // retry
                if (!b) {
                    failed.fetch_add(1);
                    break;
                }
                EXPECT_TRUE(s.free(*b));
                ++i;
            }
            bound.arrive();
        });
    }
    for (auto& t : ts) t.join();
    EXPECT_EQ(failed.load(), 0u) << "allocation errors other than contention";
    EXPECT_EQ(bound.violations(), "");
    std::printf("share: 2 threads x 10000 allocate+free, %s\n", bound.summary().c_str());
    h->heal();
    EXPECT_EQ(h->verify(VerifyMode::after_heal).blocks, 1u);
}

// share() from many threads at once (as a thread pool would): every SharedHandler works and the
// segment stays whole. Each share() hands the slot directory the mapping to keep alive; two at once
// wrote that shared_ptr concurrently (a data race TSan reported in full_heap_test during the pr
// gate). Under the `tsan` preset this test reported it in 8 of 10 runs without the fix (the
// shared_ptr's own reference-count RMWs often order the two writes, hiding the race); in plain
// builds it checks only that every call succeeds.
TEST(Handler, ShareFromManyThreadsAtOnce) {
    auto h = MatrixHandler::in_memory(1 << 20);
    ASSERT_TRUE(h);
    constexpr int THREADS = 8, ROUNDS = 400;
    std::atomic<int> ready{0}, failed{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < THREADS; ++t) {
        ts.emplace_back([&] {
            ready.fetch_add(1);
            while (ready.load() < THREADS) std::this_thread::yield();
            for (int r = 0; r < ROUNDS; ++r) {
                const SharedHandler s = h->share();
                auto b = s.allocate<std::uint64_t>();
                // contention (another thread starved while it held the big free block, possible
                // under a sanitizer on 2 cores) is not what this test checks: that round is skipped
                if (!b && b.error().code == Errc::contention) continue;
                if (!b || !s.free(*b)) failed.fetch_add(1);
            }
        });
    }
    for (auto& t : ts) t.join();
    EXPECT_EQ(failed.load(), 0);
    EXPECT_TRUE(h->verify().ok()) << h->verify().to_string();
}

}  // namespace
}  // namespace amx
