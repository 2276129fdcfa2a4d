// Two real processes share one named segment: the child attaches by name, allocates and fills
// blocks, and sends their offsets through a pipe; the parent resolves them against its own base,
// checks the patterns, frees them, and the segment verifies clean and whole.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "amx/handler/handler.hpp"
#include "support/scratch.hpp"
#include "support/test_heap.hpp"

namespace {

[[maybe_unused]] auto* const g_scratch = amx::test::scratch_environment("fork");

TEST(Fork, ChildAllocatesParentReadsAndFrees) {
    const std::string name = amx::scratch_name("fork");
    auto parent = amx::MatrixHandler::create(name, 1 << 20);
    ASSERT_TRUE(parent) << parent.error().message();
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = amx::fork_tied_child();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        auto child = amx::MatrixHandler::attach(name);
        if (!child) _exit(2);
        for (std::uint32_t i = 0; i < 64; ++i) {
            auto b = child->allocate_raw(100 + i);
            if (!b) _exit(3);
            amx::test::fill(child->raw_base_ptr() + b->offset, 100 + i, 1000 + i);
            if (write(fds[1], &b->offset, sizeof b->offset) != sizeof b->offset) _exit(4);
        }
        _exit(0);
    }
    close(fds[1]);
    std::vector<std::uint32_t> offsets;
    std::uint32_t off;
    while (read(fds[0], &off, sizeof off) == sizeof off) offsets.push_back(off);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    ASSERT_EQ(offsets.size(), 64u);
    for (std::uint32_t i = 0; i < offsets.size(); ++i) {
        auto b = parent->block_at<std::byte>(offsets[i]);
        ASSERT_TRUE(b) << b.error().message();
        EXPECT_TRUE(amx::test::check_fill(parent->raw_base_ptr() + b->offset, 100 + i, 1000 + i));
        EXPECT_TRUE(parent->free(*b));
    }
    parent->heal();
    const auto r = parent->verify(amx::VerifyMode::after_heal);
    EXPECT_TRUE(r.ok()) << r.to_string();
    EXPECT_EQ(r.blocks, 1u);
    EXPECT_TRUE(parent->die());
    EXPECT_EQ(amx::MatrixHandler::attach(name).error().code, amx::Errc::not_found);
}

TEST(Fork, TwoMappingsAtDifferentAddressesSeeTheSameBlocks) {
    auto a = amx::MatrixHandler::in_memory(1 << 20);
    ASSERT_TRUE(a);
    auto again = a->mapping()->map_again();
    ASSERT_TRUE(again);
    auto b = amx::MatrixHandler::from_mapping(*again);
    ASSERT_TRUE(b);
    ASSERT_NE(a->raw_base_ptr(), b->raw_base_ptr());
    auto blk = a->allocate<std::uint64_t>();
    ASSERT_TRUE(blk);
    a->write(*blk, std::uint64_t{0xABCDEF});
    EXPECT_EQ(b->read(*blk), 0xABCDEFu);
    EXPECT_TRUE(b->free(*blk));
    EXPECT_FALSE(a->free(*blk)) << "the free through the other mapping is visible";
}

}  // namespace
