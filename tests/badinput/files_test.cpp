// docs/BAD_INPUT.md rows R16-R33: whatever may already sit at a name (other segments, files of
// every kind, symlinks, garbage, wrong sizes, other owners and modes). Attach judges the file
// before trusting a byte of it; create never follows or reuses it.
#include <sys/socket.h>
#include <sys/un.h>

#include <random>

#include "badinput/support.hpp"

namespace amx::testing_support {
namespace {

class Files : public LiveSegment {
protected:
    // A bystander name for the hostile file, removed at the end of the test.
    std::string other() {
        others_.push_back(std::make_unique<ShmGuard>(scratch_name("bi")));
        return others_.back()->name;
    }
    std::vector<std::unique_ptr<ShmGuard>> others_;
};

bool is_root() { return ::geteuid() == 0; }
constexpr uid_t NOBODY = 65534;

TEST_F(Files, R16_CreateOverExistingSegment) {
    EXPECT_ERRC(create_segment(name_, CAPACITY), Errc::already_exists);
    EXPECT_ERRC(MatrixHandler::create(name_, 2 * CAPACITY), Errc::already_exists);
    // bootstrap attaches instead, whatever size it asks for: never resizes (U17).
    auto b = MatrixHandler::bootstrap(name_, 2 * CAPACITY);
    ASSERT_TRUE(b) << b.error().message();
    EXPECT_FALSE(b->created());
    EXPECT_EQ(b->segment_size(), CAPACITY);
    expect_intact();  // not byte-exact: a handler's attach registers itself in the segment
}

TEST_F(Files, R17_AttachMissing) {
    const auto r = attach_segment(other());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::not_found) << r.error().message();
    EXPECT_EQ(r.error().found, static_cast<std::uint64_t>(ENOENT));
    expect_untouched();
}

TEST_F(Files, R18_Directory) {
    const std::string n = other();
    ASSERT_EQ(::mkdir(shm_file(n).c_str(), 0700), 0);
    EXPECT_ERRC(attach_segment(n), Errc::not_regular_file);
    EXPECT_ERRC(create_segment(n, CAPACITY), Errc::already_exists);
    EXPECT_ERRC(MatrixHandler::bootstrap(n, CAPACITY), Errc::not_regular_file);
    expect_untouched();
}

TEST_F(Files, R19_Fifo) {
    const std::string n = other();
    ASSERT_EQ(::mkfifo(shm_file(n).c_str(), 0600), 0);
    EXPECT_ERRC(attach_segment(n), Errc::not_regular_file);
    EXPECT_ERRC(MatrixHandler::bootstrap(n, CAPACITY), Errc::not_regular_file);
    expect_untouched();
}

TEST_F(Files, R20_Socket) {
    const std::string n = other();
    const int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_GE(s, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", shm_file(n).c_str());
    ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_ERRC(attach_segment(n), Errc::not_regular_file);
    ::close(s);
    expect_untouched();
}

TEST_F(Files, R21_SymlinkToLiveSegment) {
    const std::string n = other();
    ASSERT_EQ(::symlink(shm_file(name_).c_str(), shm_file(n).c_str()), 0);
    EXPECT_ERRC(attach_segment(n), Errc::symlink);
    EXPECT_ERRC(MatrixHandler::bootstrap(n, CAPACITY), Errc::symlink);
    EXPECT_ERRC(create_segment(n, CAPACITY), Errc::already_exists);
    expect_untouched();
}

TEST_F(Files, R22_DanglingSymlink) {
    const std::string n = other();
    const std::string target = shm_file(n) + ".target";
    ASSERT_EQ(::symlink(target.c_str(), shm_file(n).c_str()), 0);
    EXPECT_ERRC(create_segment(n, CAPACITY), Errc::already_exists);
    EXPECT_ERRC(attach_segment(n), Errc::symlink);
    struct stat st {};
    EXPECT_NE(::lstat(target.c_str(), &st), 0) << "create followed the link";
    expect_untouched();
}

// An empty file nobody is sizing: a creator that died between shm_open and posix_fallocate, or a
// stray `touch`. Attach waits empty_grace for a creator, then calls it stale.
TEST_F(Files, R23_EmptyFileNoCreator) {
    const std::string n = other();
    ASSERT_TRUE(make_file(n, {}));
    SegmentOptions o;
    o.empty_grace = std::chrono::milliseconds(100);
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_ERRC(attach_segment(n, o), Errc::stale_init);
    const double ms = ms_since(t0);
    std::printf("empty file judged stale after %.1f ms (grace 100 ms)\n", ms);
    EXPECT_GE(ms, 100.0);
    EXPECT_LT(ms, 1000.0);
    expect_untouched();
}

TEST_F(Files, R24_SmallerThanHeader) {
    const std::string n = other();
    ASSERT_TRUE(make_file(n, std::vector<std::byte>(100)));
    const auto r = attach_segment(n);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::size_mismatch) << r.error().message();
    EXPECT_EQ(r.error().found, 100u);
    EXPECT_EQ(r.error().expected, sizeof(SegmentHeader));
    expect_untouched();
}

TEST_F(Files, R25_ZeroFilled) {
    const std::string n = other();
    ASSERT_TRUE(make_file(n, std::vector<std::byte>(CAPACITY)));
    const auto r = attach_segment(n);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::bad_magic) << r.error().message();
    EXPECT_EQ(r.error().found, 0u);
    EXPECT_EQ(r.error().expected, SEGMENT_MAGIC);
    expect_untouched();
}

TEST_F(Files, R26_RandomGarbage) {
    std::mt19937_64 rng(7);
    for (int i = 0; i < 8; ++i) {
        std::vector<std::byte> bytes(CAPACITY);
        for (auto& b : bytes) b = std::byte(rng());
        const std::string n = other();
        ASSERT_TRUE(make_file(n, bytes));
        EXPECT_ERRC(attach_segment(n), Errc::bad_magic);
    }
    expect_untouched();
}

TEST_F(Files, R27_LargerThanFourGiB) {
    const std::string n = other();
    ASSERT_TRUE(make_file(n, {}));
    ASSERT_EQ(::truncate(shm_file(n).c_str(), static_cast<off_t>(5ull << 30)), 0);  // sparse
    const auto r = attach_segment(n);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::size_mismatch) << r.error().message();
    EXPECT_EQ(r.error().found, 5ull << 30);
    expect_untouched();
}

TEST_F(Files, R28_OtherOwner) {
    if (!is_root()) GTEST_SKIP() << "needs root to chown a segment to another uid (CI runs as root)";
    const std::string n = other();
    auto h = MatrixHandler::create(n, CAPACITY);
    ASSERT_TRUE(h);
    ASSERT_EQ(::chown(shm_file(n).c_str(), NOBODY, NOBODY), 0);
    const auto r = attach_segment(n);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::foreign_owner) << r.error().message();
    EXPECT_EQ(r.error().found, NOBODY);
    EXPECT_EQ(r.error().expected, 0u);
    expect_untouched();
}

// Seen from the other side: an unprivileged process meets our 0600 segment. shm_open fails with
// EACCES and lstat names the reason.
TEST_F(Files, R29_OtherOwnerSeenUnprivileged) {
    if (!is_root()) GTEST_SKIP() << "needs root to run a child as another uid (CI runs as root)";
    const int rc = in_child([&] {
        if (::setgid(NOBODY) != 0 || ::setuid(NOBODY) != 0) return 90;
        auto r = attach_segment(name_);
        return r ? 91 : static_cast<int>(r.error().code);
    });
    EXPECT_EQ(rc, static_cast<int>(Errc::foreign_owner)) << "90 setuid failed, 91 attached";
    expect_untouched();
}

TEST_F(Files, R30_WorldReadable) {
    ASSERT_EQ(::chmod(shm_file(name_).c_str(), 0644), 0);
    const auto r = attach_segment(name_);
    ::chmod(shm_file(name_).c_str(), 0600);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::insecure_mode) << r.error().message();
    EXPECT_EQ(r.error().found, 0644u);
    EXPECT_EQ(r.error().expected, 0600u);
    expect_untouched();
}

TEST_F(Files, R31_GroupModeWithoutOptIn) {
    ASSERT_EQ(::chmod(shm_file(name_).c_str(), 0660), 0);
    EXPECT_ERRC(attach_segment(name_), Errc::insecure_mode);
    SegmentOptions o;
    o.mode = 0660;
    auto opted = attach_segment(name_, o);
    EXPECT_TRUE(opted) << "the explicit opt-in attaches: " << opted.error().message();
    ::chmod(shm_file(name_).c_str(), 0600);
    expect_untouched();
}

TEST_F(Files, R32_SpecialModeBits) {
    for (mode_t bits : {04600, 02600, 01600}) {
        ASSERT_EQ(::chmod(shm_file(name_).c_str(), bits), 0);
        const auto r = attach_segment(name_);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, Errc::insecure_mode) << std::oct << bits;
        EXPECT_EQ(r.error().found, bits);
    }
    ::chmod(shm_file(name_).c_str(), 0600);
    expect_untouched();
}

// Group opt-in covers a segment of another user in one of our groups; without it, foreign_owner.
TEST_F(Files, R33_OtherOwnerSameGroup) {
    if (!is_root()) GTEST_SKIP() << "needs root to chown a segment to another uid (CI runs as root)";
    const std::string n = other();
    SegmentOptions o;
    o.mode = 0660;
    auto h = MatrixHandler::create(n, CAPACITY, o);
    ASSERT_TRUE(h) << h.error().message();
    ASSERT_EQ(::chown(shm_file(n).c_str(), NOBODY, ::getegid()), 0);
    EXPECT_ERRC(attach_segment(n), Errc::foreign_owner);
    auto a = attach_segment(n, o);
    EXPECT_TRUE(a) << a.error().message();
    expect_untouched();
}

}  // namespace
}  // namespace amx::testing_support
