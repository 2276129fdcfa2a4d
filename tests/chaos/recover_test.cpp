// recover() and the participant registry, case by case: dry run, refusal while others live,
// orphans of a dead process (reported, then reclaimed), unattributed blocks, tags, a broken chain.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "amx/handler/handler.hpp"
#include "support/test_heap.hpp"

namespace amx {
namespace {

using L = ControlLayout<DefaultGeometry>;

// A child that attaches, allocates `n` blocks of 100 bytes and dies without detaching. With
// `reap` false the caller gets the child's pid in *zombie and must reap it.
std::vector<std::uint32_t> child_allocates_and_dies(const MatrixHandler& h, int n, pid_t* zombie = nullptr) {
    int fds[2];
    if (::pipe(fds) != 0) return {};
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(fds[0]);
        auto mine = MatrixHandler::from_mapping(h.mapping());
        if (!mine) ::_exit(2);
        for (int i = 0; i < n; ++i) {
            auto b = mine->allocate_raw(100);
            if (!b) ::_exit(3);
            const std::uint32_t off = b->header_offset();
            if (::write(fds[1], &off, sizeof off) != sizeof off) ::_exit(4);
        }
        ::_exit(0);  // no destructor: the slot stays claimed by a dead process
    }
    ::close(fds[1]);
    std::vector<std::uint32_t> out;
    std::uint32_t off = 0;
    while (::read(fds[0], &off, sizeof off) == sizeof off) out.push_back(off);
    ::close(fds[0]);
    if (zombie != nullptr) {
        *zombie = pid;  // the pipe closed: the child has exited and stays a zombie until reaped
        return out;
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return out;
}

// A zombie (exited, not yet reaped) is dead for the registry exactly as it is for a segment's
// creator (process_alive decides both): its blocks are orphans at once, before anyone reaps it.
TEST(Registry, AZombieParticipantIsDead) {
    auto h = MatrixHandler::in_memory(1 << 20);
    ASSERT_TRUE(h);
    pid_t zombie = 0;
    const auto blocks = child_allocates_and_dies(*h, 3, &zombie);
    ASSERT_EQ(blocks.size(), 3u);
    ASSERT_GT(zombie, 0);
    siginfo_t info{};  // wait until the child has exited, without reaping it (WNOWAIT)
    ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(zombie), &info, WEXITED | WNOWAIT), 0);
    const Stats s = h->stats();
    EXPECT_EQ(s.live_participants, 1u);
    EXPECT_EQ(s.dead_participants, 1u);
    const auto r = h->recover(RecoverOptions{.dry_run = true});
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->orphans.size(), 3u);
    int status = 0;
    ::waitpid(zombie, &status, 0);
}

TEST(Registry, AttachClaimsDetachReleasesStatsList) {
    auto h = MatrixHandler::in_memory(1 << 20);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->participant_id(), 1u);
    {
        auto again = h->mapping()->map_again();
        ASSERT_TRUE(again);
        auto second = MatrixHandler::from_mapping(*again);
        ASSERT_TRUE(second);
        EXPECT_EQ(second->participant_id(), 2u);
        const Stats s = h->stats();
        EXPECT_EQ(s.live_participants, 2u);
        ASSERT_EQ(s.participants.size(), 2u);
        EXPECT_EQ(s.participants[1].pid, static_cast<std::uint32_t>(::getpid()));
    }
    EXPECT_EQ(h->stats().live_participants, 1u);  // released at destruction
}

TEST(Registry, MoveAssignReleasesTheOldSlotBeforeItsMappingGoes) {
    auto a = MatrixHandler::in_memory(1 << 20);
    auto b = MatrixHandler::in_memory(1 << 20);
    ASSERT_TRUE(a && b);
    const SharedHandler view = b->share();  // keeps b's segment mapped to look at its registry
    *b = std::move(*a);  // b's old mapping has no other owner than `view` now; its slot is released
    EXPECT_EQ(view.stats().live_participants, 0u);
    EXPECT_EQ(b->stats().live_participants, 1u);
    auto c = MatrixHandler::in_memory(1 << 20);
    ASSERT_TRUE(c);
    *c = std::move(*b);  // c's old mapping is unmapped here: its slot must be released before that
    EXPECT_EQ(c->stats().live_participants, 1u);
}

TEST(Recover, DryRunWritesNothingAndCleanSegmentStaysClean) {
    auto h = MatrixHandler::in_memory(1 << 20);
    ASSERT_TRUE(h);
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(h->allocate_raw(64 + 32 * i));
    const std::vector<std::byte> before(h->raw_base_ptr(), h->raw_base_ptr() + h->segment_size());
    auto dry = h->recover({.dry_run = true});
    ASSERT_TRUE(dry);
    EXPECT_EQ(dry->blocks_before, 21u);
    EXPECT_EQ(std::memcmp(before.data(), h->raw_base_ptr(), before.size()), 0);
    auto rep = h->recover();
    ASSERT_TRUE(rep) << rep.error().message();
    EXPECT_EQ(rep->merged, 0u);
    EXPECT_EQ(rep->listed, 1u);
    EXPECT_EQ(dry->blocks_after, rep->blocks_after) << "the dry run reports what the apply leaves";
    EXPECT_EQ(dry->listed, rep->listed);
    EXPECT_EQ(dry->free_bytes, rep->free_bytes);
    EXPECT_TRUE(rep->leaked.empty());
    EXPECT_TRUE(h->verify(VerifyMode::after_heal).ok());
}

TEST(Recover, RefusesWhileAnotherParticipantLivesUnlessForced) {
    auto h = MatrixHandler::in_memory(1 << 20);
    ASSERT_TRUE(h);
    auto again = h->mapping()->map_again();
    ASSERT_TRUE(again);
    auto other = MatrixHandler::from_mapping(*again);
    ASSERT_TRUE(other);
    auto refused = h->recover();
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::contention);
    EXPECT_TRUE(h->recover({.dry_run = true}));
    EXPECT_TRUE(h->recover({.force = true}));
}

TEST(Recover, OrphansOfADeadProcessAreReportedThenReclaimed) {
    auto h = MatrixHandler::in_memory(1 << 20);
    ASSERT_TRUE(h);
    auto mine = h->allocate_raw(500);
    ASSERT_TRUE(mine);
    const auto orphans = child_allocates_and_dies(*h, 5);
    ASSERT_EQ(orphans.size(), 5u);
    EXPECT_EQ(h->stats().dead_participants, 1u);
    auto rep = h->recover();
    ASSERT_TRUE(rep) << rep.error().message();
    ASSERT_EQ(rep->orphans.size(), 5u);
    for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(rep->orphans[i].offset, orphans[i]);
    EXPECT_FALSE(rep->orphans_reclaimed);
    EXPECT_EQ(h->stats().dead_participants, 1u) << "slot kept while its blocks are unreclaimed";
    auto again = h->recover({.reclaim_dead = true});
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->orphans_reclaimed);
    EXPECT_EQ(again->orphans.size(), 5u);
    EXPECT_EQ(h->stats().dead_participants, 0u);
    EXPECT_TRUE(h->verify(VerifyMode::after_heal).ok());
    ASSERT_TRUE(h->free(*mine));
    h->heal();
    EXPECT_EQ(h->stats().free_bytes, h->stats().data_bytes) << "nothing lost";
}

TEST(Recover, TransientBlocksBecomeFreeAndTagsGrow) {
    auto h = MatrixHandler::in_memory(1 << 20);
    ASSERT_TRUE(h);
    std::vector<std::uint32_t> b;
    for (int i = 0; i < 6; ++i) b.push_back(h->allocate_raw(200)->header_offset());
    const ProductionHeap& heap = h->raw_matrix();
    const auto& c = heap.context();
    // What a participant killed mid-free leaves: ACKED; mid-merge: COALESCING; an unattributed live block.
    c.set_owned_state(b[1], STATE_ACKED);
    c.set_owned_state(b[2], STATE_COALESCING);
    c.word(b[4], hdr::ALLOCATED_BY).store(0, StdAtomicPolicy::relaxed);
    std::vector<std::uint32_t> tags;
    for (std::uint32_t cls = 0; cls < SizeClasses<DefaultGeometry>::CLASS_COUNT; ++cls) {
        tags.push_back(unpack_head(c.head_w(cls).load(StdAtomicPolicy::relaxed)).tag);
    }
    auto rep = h->recover();
    ASSERT_TRUE(rep) << rep.error().message();
    EXPECT_EQ(rep->transient, 2u);
    EXPECT_EQ(rep->merged, 1u);  // b[1] absorbs b[2]
    ASSERT_EQ(rep->leaked.size(), 1u);
    EXPECT_EQ(rep->leaked[0].offset, b[4]);
    EXPECT_TRUE(h->verify(VerifyMode::after_heal).ok()) << h->verify(VerifyMode::after_heal).to_string();
    for (std::uint32_t cls = 0; cls < tags.size(); ++cls) {
        EXPECT_EQ(unpack_head(c.head_w(cls).load(StdAtomicPolicy::relaxed)).tag, tags[cls] + 1);
    }
    EXPECT_EQ(c.check_w(b[2]).load(StdAtomicPolicy::relaxed), 0u) << "absorbed header killed";
    EXPECT_FALSE(h->free_at(b[2])) << "a stale handle to an absorbed block is refused";
}

TEST(Recover, BrokenChainIsReportedAndNothingWritten) {
    auto h = MatrixHandler::in_memory(1 << 20);
    ASSERT_TRUE(h);
    const std::uint32_t b = h->allocate_raw(200)->header_offset();
    h->raw_matrix().context().size_w(b).store(7, StdAtomicPolicy::relaxed);
    const std::vector<std::byte> before(h->raw_base_ptr(), h->raw_base_ptr() + h->segment_size());
    auto rep = h->recover();
    ASSERT_FALSE(rep);
    EXPECT_EQ(rep.error().code, Errc::corrupted);
    EXPECT_EQ(rep.error().found, b);
    EXPECT_EQ(std::memcmp(before.data(), h->raw_base_ptr(), before.size()), 0);
}

}  // namespace
}  // namespace amx
