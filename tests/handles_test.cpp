// Issue 15: generation-checked handles, and garbage in the control area.
//
// A Block carries its allocation's generation (docs/PROTOCOL.md §9). Once the block is freed and its
// memory allocated again, the stale handle is refused with invalid_offset by free, every state call
// and block_at, and the new owner's block is untouched.
//
// Garbage in the transit slots (owner and hold words of no live participant) attaches, never makes
// a call slow or turns out_of_memory into contention, is reported by verify (TR1) and cleared by
// recover().
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "amx/handler/handler.hpp"

namespace amx {
namespace {

using L = ProductionHeap::Layout;
using T = Transit<ProductionHeap::Ctx>;

// Frees a and allocates until the same header comes back (LIFO: at once); the new block.
Block<std::uint64_t> reuse(const HandlerBase& h, Block<std::uint64_t> a) {
    EXPECT_TRUE(h.free(a));
    auto b = h.allocate<std::uint64_t>();
    EXPECT_TRUE(b);
    EXPECT_EQ(b->offset, a.offset) << "the freed block is reused at once (head of its list)";
    return *b;
}

TEST(StaleHandle, EveryCallRefusesAHandleWhoseBlockWasReallocated) {
    auto h = MatrixHandler::in_memory(1 << 16);
    ASSERT_TRUE(h);
    auto a = *h->allocate<std::uint64_t>();
    auto keep = *h->allocate<std::uint64_t>();  // a's right neighbour stays live: no merge
    const auto b = reuse(*h, a);
    ASSERT_NE(a.generation, b.generation);
    h->write(b, std::uint64_t{42});
    EXPECT_EQ(h->free(a).error().code, Errc::invalid_offset);
    EXPECT_EQ(h->get_state(a).error().code, Errc::invalid_offset);
    EXPECT_EQ(h->get_state(a, order::relaxed).error().code, Errc::invalid_offset);
    EXPECT_EQ(h->set_state(a, 60).error().code, Errc::invalid_offset);
    EXPECT_EQ(h->transition_state(a, STATE_ALLOCATED, 60).error().code, Errc::invalid_offset);
    EXPECT_EQ(h->transition_state(a, STATE_ALLOCATED, 60, order::acq_rel).error().code, Errc::invalid_offset);
    EXPECT_EQ(h->block_at<std::uint64_t>(a.offset, a.generation).error().code, Errc::invalid_offset);
    // The new owner's block is untouched and works.
    EXPECT_EQ(*h->get_state(b), STATE_ALLOCATED);
    EXPECT_EQ(h->read(b), std::uint64_t{42});
    EXPECT_TRUE(h->block_at<std::uint64_t>(b.offset, b.generation));
    EXPECT_TRUE(h->set_state(b, 60));
    EXPECT_TRUE(h->free(b));
    EXPECT_TRUE(h->free(keep));
    EXPECT_TRUE(h->verify().ok()) << h->verify().to_string();
}

TEST(StaleHandle, AFreedBlockNotYetReusedKeepsItsGeneration) {
    auto h = MatrixHandler::in_memory(1 << 16);
    ASSERT_TRUE(h);
    auto a = *h->allocate<std::uint64_t>();
    auto keep = *h->allocate<std::uint64_t>();
    ASSERT_TRUE(h->free(a));
    EXPECT_EQ(*h->get_state(a), STATE_FREE) << "not reused yet: its state is readable";
    EXPECT_EQ(h->free(a).error().code, Errc::invalid_offset) << "double free";
    EXPECT_TRUE(h->free(keep));
}

TEST(StaleHandle, AnotherThreadsReallocationIsRefusedToo) {
    auto h = MatrixHandler::in_memory(1 << 16);
    ASSERT_TRUE(h);
    auto a = *h->allocate<std::uint64_t>();
    auto keep = *h->allocate<std::uint64_t>();
    ASSERT_TRUE(h->free(a));
    Block<std::uint64_t> b{};
    std::thread([&] { b = *h->allocate<std::uint64_t>(); }).join();
    ASSERT_EQ(b.offset, a.offset);
    EXPECT_NE(a.generation, b.generation) << "two threads' generations differ in their slot byte";
    EXPECT_EQ(h->free(a).error().code, Errc::invalid_offset);
    EXPECT_TRUE(h->free(b));
    EXPECT_TRUE(h->free(keep));
}

// An offset alone (generation 0, as a u32 received from elsewhere) is checked for liveness only;
// block_at gives it the current generation, which the next reuse then refuses.
TEST(StaleHandle, AnOffsetOnlyHandleAdoptsTheCurrentGeneration) {
    auto h = MatrixHandler::in_memory(1 << 16);
    ASSERT_TRUE(h);
    auto a = *h->allocate<std::uint64_t>();
    auto keep = *h->allocate<std::uint64_t>();
    auto adopted = h->block_at<std::uint64_t>(a.offset);
    ASSERT_TRUE(adopted);
    EXPECT_EQ(adopted->generation, a.generation);
    const auto b = reuse(*h, a);
    EXPECT_EQ(h->free(*adopted).error().code, Errc::invalid_offset);
    EXPECT_TRUE(h->free(Block<std::uint64_t>{b.offset}));  // offset only: liveness checked, no generation
    EXPECT_TRUE(h->free(keep));
}

TEST(StaleHandle, GenerationsNameTheSlotAndWrapAt24Bits) {
    EXPECT_EQ(make_generation(0, 0), 1u << 24);
    EXPECT_EQ(make_generation(0, GENERATION_COUNT_MASK + 1), make_generation(0, 0)) << "the documented wrap bound";
    EXPECT_NE(make_generation(0, 5), make_generation(1, 5));
    EXPECT_NE(make_generation(T::OVERFLOW_SLOT, 0), 0u);
}

// ---- garbage in the control area --------------------------------------------------------------

pid_t a_dead_pid() {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    ::waitpid(pid, nullptr, 0);
    return pid;
}

// Writes garbage announcements into every transit slot the handler's own threads do not use:
// free slots with a huge `held`, slots owned by participant ids that are out of range, empty in
// the registry, or registered to a dead process.
void garble(const MatrixHandler& h) {
    const auto& c = h.raw_matrix().context();
    const std::uint32_t mine = h.raw_matrix().thread_slot();
    const std::uint32_t dead_reg = L::REGISTRY_SLOTS - 1;
    c.mem.u64(L::REGISTRY + 8 * dead_reg).store(pack_participant(static_cast<std::uint32_t>(a_dead_pid()), 0), StdAtomicPolicy::relaxed);
    for (std::uint32_t i = 0; i < L::TRANSIT_SLOTS; ++i) {
        if (i == mine) continue;
        std::uint64_t owner = 0;
        switch (i % 4) {
            case 0: owner = 0; break;                                        // a free slot
            case 1: owner = std::uint64_t{L::REGISTRY_SLOTS + 7} << 32 | 1; break;  // no such participant
            case 2: owner = std::uint64_t{L::REGISTRY_SLOTS - 2 + 1} << 32 | 1; break;  // registry slot empty
            case 3: owner = std::uint64_t{dead_reg + 1} << 32 | 1; break;    // a dead participant
        }
        T::owner_w(c, i).store(owner, StdAtomicPolicy::relaxed);
        T::hold_w(c, i).store(std::uint64_t{3} << 32 | 0xFFFFFFFFu, StdAtomicPolicy::relaxed);
    }
}

TEST(ControlArea, GarbageTransitSlotsNeitherSlowNorTurnOutOfMemoryIntoContention) {
    auto h = MatrixHandler::in_memory(1 << 20);
    ASSERT_TRUE(h);
    ASSERT_TRUE(h->allocate_raw(16));  // claims this thread's slot first
    garble(*h);
    const auto v = h->verify();
    EXPECT_FALSE(v.ok()) << "verify names the garbage";
    EXPECT_NE(v.to_string().find("TR1"), std::string::npos) << v.to_string();
    std::uint64_t allocated = 0;
    for (;;) {
        auto r = h->allocate_raw(16);
        if (!r) {
            EXPECT_EQ(r.error().code, Errc::out_of_memory) << r.error().message();
            break;
        }
        ++allocated;
    }
    EXPECT_GT(allocated, 1000u);
    for (int i = 0; i < 100; ++i) {
        auto r = h->allocate_raw(64);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, Errc::out_of_memory) << "garbage must not veto the decision (call " << i << ")";
    }
    auto rep = h->recover({.dry_run = false, .reclaim_dead = false, .force = true});
    ASSERT_TRUE(rep) << rep.error().message();
    EXPECT_GE(rep->transit_reset, L::TRANSIT_SLOTS - 1);
    EXPECT_TRUE(h->verify().ok()) << h->verify().to_string();
}

// A list head that names no block: allocation reports corrupted (typed) at once, recover rebuilds.
TEST(ControlArea, AnImplausibleHeadIsATypedErrorAndRecoverRebuildsIt) {
    auto h = MatrixHandler::in_memory(1 << 16);
    ASSERT_TRUE(h);
    const auto& c = h->raw_matrix().context();
    const std::uint32_t cls = ProductionHeap::Map::mapping_insert(c.end - c.first);
    c.head_w(cls).store(pack_head({7, 1}), StdAtomicPolicy::relaxed);  // misaligned, in the header
    auto r = h->allocate_raw(16);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::corrupted);
    auto rep = h->recover({.dry_run = false, .reclaim_dead = false, .force = true});
    ASSERT_TRUE(rep) << rep.error().message();
    EXPECT_TRUE(h->allocate_raw(16));
    EXPECT_TRUE(h->verify().ok()) << h->verify().to_string();
}

}  // namespace
}  // namespace amx
