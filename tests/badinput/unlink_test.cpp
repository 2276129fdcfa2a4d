// docs/BAD_INPUT.md rows R48-R54: die() unlinks the handler's own name, and only while that name
// still designates the segment it mapped and belongs to us; forcing overrides. Mappings survive.
#include "badinput/support.hpp"

namespace amx::testing_support {
namespace {

class Unlink : public LiveSegment {
protected:
    bool exists(const std::string& n) const {
        struct stat st {};
        return ::lstat(shm_file(n).c_str(), &st) == 0;
    }
};

// Someone removed our name and created another segment under it: die() must not remove theirs.
TEST_F(Unlink, R48_NameNowDesignatesAnotherSegment) {
    const std::uint64_t our_nonce = read_header(base()).nonce;
    ASSERT_TRUE(unlink_segment(name_));
    auto theirs = MatrixHandler::create(name_, CAPACITY);
    ASSERT_TRUE(theirs) << theirs.error().message();
    const std::uint64_t their_nonce = read_header(theirs->raw_base_ptr()).nonce;
    const auto r = h_->die();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::not_ours) << r.error().message();
    EXPECT_EQ(r.error().found, their_nonce);
    EXPECT_EQ(r.error().expected, our_nonce);
    EXPECT_TRUE(exists(name_));
    EXPECT_TRUE(attach_segment(name_)) << "their segment is intact";
    expect_untouched();  // our mapping is still valid after our name went away
    EXPECT_TRUE(h_->die(UnlinkMode::force));
    EXPECT_FALSE(exists(name_));
}

TEST_F(Unlink, R49_AlreadyGone) {
    ASSERT_TRUE(unlink_segment(name_));
    EXPECT_TRUE(h_->die()) << "not found counts as success";
    EXPECT_TRUE(h_->die());
    expect_untouched();
}

TEST_F(Unlink, R50_NowOwnedByAnotherUser) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown a segment to another uid (CI runs as root)";
    ASSERT_EQ(::chown(shm_file(name_).c_str(), 65534, 65534), 0);
    const auto r = h_->die();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::foreign_owner) << r.error().message();
    EXPECT_EQ(r.error().found, 65534u);
    EXPECT_TRUE(exists(name_));
    expect_untouched();
    EXPECT_TRUE(h_->die(UnlinkMode::force));
    EXPECT_FALSE(exists(name_));
}

TEST_F(Unlink, R51_NameNowASymlink) {
    const std::string target = scratch_name("bi");
    ShmGuard g(target);
    auto other = MatrixHandler::create(target, CAPACITY);
    ASSERT_TRUE(other);
    ASSERT_TRUE(unlink_segment(name_));
    ASSERT_EQ(::symlink(shm_file(target).c_str(), shm_file(name_).c_str()), 0);
    EXPECT_ERRC(h_->die(), Errc::symlink);
    EXPECT_TRUE(exists(name_));
    EXPECT_TRUE(exists(target));
    EXPECT_TRUE(h_->die(UnlinkMode::force)) << "force removes the link itself";
    EXPECT_FALSE(exists(name_));
    EXPECT_TRUE(exists(target)) << "never the link's target";
    expect_untouched();
}

TEST_F(Unlink, R52_InMemoryHasNoName) {
    auto m = MatrixHandler::in_memory(CAPACITY);
    ASSERT_TRUE(m);
    EXPECT_TRUE(m->die());
    EXPECT_TRUE(m->die(UnlinkMode::force));
    EXPECT_TRUE(m->allocate_raw(64)) << "still usable";
    expect_untouched();
}

// POSIX semantics: unlink removes the name; every existing mapping stays valid and shared, new
// attaches fail with not_found, and a new create under the name is a different segment.
TEST_F(Unlink, R53_MappingsOutliveTheName) {
    auto peer = MatrixHandler::attach(name_);
    ASSERT_TRUE(peer);
    ASSERT_TRUE(h_->die());
    EXPECT_FALSE(exists(name_));
    EXPECT_ERRC(MatrixHandler::attach(name_), Errc::not_found);
    auto b = peer->allocate_raw(100);
    ASSERT_TRUE(b) << b.error().message();
    EXPECT_TRUE(h_->block_at<std::byte>(b->offset)) << "the peer's allocation is visible to us";
    ASSERT_TRUE(h_->free(*b));
    expect_intact();  // not byte-exact: the allocation and free moved list tags
}

TEST_F(Unlink, R54_PathTraversalName) {
    EXPECT_ERRC(unlink_segment("../shm/amx." + name_), Errc::invalid_name);
    EXPECT_ERRC(unlink_segment(".."), Errc::invalid_name);
    EXPECT_TRUE(exists(name_));
    expect_untouched();
}

}  // namespace
}  // namespace amx::testing_support
