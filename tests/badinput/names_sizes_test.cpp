// docs/BAD_INPUT.md rows R01-R15: names, sizes and options. Every entry point that takes a name
// (create, attach, bootstrap, unlink) refuses the same names, before any system call; no file
// appears, and the live bystander segment does not change.
#include <sys/resource.h>

#include "badinput/support.hpp"

namespace amx::testing_support {
namespace {

[[maybe_unused]] auto* const g_scratch = test::scratch_environment("bi");

class Names : public LiveSegment {
protected:
    // All four entry points refuse `bad` with `code` (found = `found` where given); no file appears.
    void expect_refused(std::string_view bad, Errc code, std::optional<std::uint64_t> found = {}) {
        const std::string s(bad);
        EXPECT_ERRC(create_segment(bad, CAPACITY), code);
        EXPECT_ERRC(attach_segment(bad), code);
        EXPECT_ERRC(MatrixHandler::bootstrap(bad, CAPACITY), code);
        EXPECT_ERRC(unlink_segment(bad), code);
        if (found) {
            EXPECT_EQ(create_segment(bad, CAPACITY).error().found, *found);
        }
        struct stat st {};
        if (!s.empty() && s.find('\0') == std::string::npos) {
            EXPECT_NE(::lstat(("/dev/shm/amx." + s).c_str(), &st), 0) << "a file appeared for " << s;
        }
        expect_untouched();
    }
};

TEST_F(Names, R01_Empty) { expect_refused("", Errc::invalid_name); }
TEST_F(Names, R02_Dot) { expect_refused(".", Errc::invalid_name); }
TEST_F(Names, R03_DotDot) { expect_refused("..", Errc::invalid_name); }
TEST_F(Names, R04_Slash) {
    expect_refused("a/b", Errc::invalid_name, '/');
    expect_refused("/abc", Errc::invalid_name, '/');
    expect_refused("../../etc/passwd", Errc::invalid_name, '/');
}
TEST_F(Names, R05_Space) { expect_refused("a b", Errc::invalid_name, ' '); }
TEST_F(Names, R06_Newline) { expect_refused("ab\n", Errc::invalid_name, '\n'); }
TEST_F(Names, R07_EmbeddedNul) { expect_refused(std::string_view("ab\0cd", 5), Errc::invalid_name, 0); }
TEST_F(Names, R08_NonAscii) { expect_refused("caf\xc3\xa9", Errc::invalid_name, 0xC3); }
TEST_F(Names, R09_TooLong) {
    expect_refused(std::string(MAX_NAME_LENGTH + 1, 'x'), Errc::name_too_long, MAX_NAME_LENGTH + 1);
    // The boundary itself is accepted.
    const std::string longest = name_.substr(0, 20) + std::string(MAX_NAME_LENGTH - 20, 'y');
    ShmGuard g(longest);
    auto h = MatrixHandler::create(longest, CAPACITY);
    ASSERT_TRUE(h) << h.error().message();
    EXPECT_TRUE(h->die());
    expect_untouched();
}

class Sizes : public LiveSegment {
protected:
    void expect_refused(std::uint64_t size, std::uint64_t expected) {
        const std::string n = scratch_name("bi");
        ShmGuard g(n);
        const auto r = create_segment(n, size);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, Errc::invalid_size) << r.error().message();
        EXPECT_EQ(r.error().found, size);
        EXPECT_EQ(r.error().expected, expected);
        EXPECT_ERRC(MatrixHandler::bootstrap(n, size), Errc::invalid_size);
        EXPECT_ERRC(MatrixHandler::in_memory(size), Errc::invalid_size);
        struct stat st {};
        EXPECT_NE(::lstat(shm_file(n).c_str(), &st), 0) << "a file appeared";
        expect_untouched();
    }
};

using Layout = ControlLayout<DefaultGeometry>;

TEST_F(Sizes, R10_Zero) { expect_refused(0, Layout::MIN_CAPACITY); }
TEST_F(Sizes, R11_BelowMinimum) {
    expect_refused(Layout::MIN_CAPACITY - Layout::ALIGN, Layout::MIN_CAPACITY);
    auto smallest = MatrixHandler::in_memory(Layout::MIN_CAPACITY);
    EXPECT_TRUE(smallest) << "the minimum itself is accepted";
}
TEST_F(Sizes, R12_Unaligned) { expect_refused(CAPACITY + 8, Layout::ALIGN); }
TEST_F(Sizes, R13_FourGiBAndAbove) {
    expect_refused(1ull << 32, 0xFFFFFFF0ull);
    expect_refused(0xFFFFFFFFull, 0xFFFFFFF0ull);
    expect_refused(1ull << 40, 0xFFFFFFF0ull);
}

// posix_fallocate fails (here through RLIMIT_FSIZE, as a full /dev/shm would with ENOSPC): the
// create fails at once with no_space instead of a SIGBUS on first touch, and the name is removed.
TEST_F(Sizes, R14_NoSpace) {
    const std::string n = scratch_name("bi");
    ShmGuard g(n);
    const int rc = in_child([&] {
        ::signal(SIGXFSZ, SIG_IGN);
        rlimit rl{CAPACITY, CAPACITY};
        if (::setrlimit(RLIMIT_FSIZE, &rl) != 0) return 90;
        auto r = create_segment(n, 2 * CAPACITY);
        if (r) return 91;
        struct stat st {};
        if (::lstat(shm_file(n).c_str(), &st) == 0) return 92;  // name left behind
        return static_cast<int>(r.error().code);
    });
    EXPECT_EQ(rc, static_cast<int>(Errc::no_space)) << "90 setrlimit, 91 created, 92 name left";
    expect_untouched();
}

TEST_F(Sizes, R15_InsecureModeOption) {
    for (mode_t mode : {0666, 0644, 0606, 0700, 04600, 0}) {
        SegmentOptions o;
        o.mode = mode;
        const std::string n = scratch_name("bi");
        ShmGuard g(n);
        const auto r = create_segment(n, CAPACITY, o);
        ASSERT_FALSE(r) << std::oct << mode;
        EXPECT_EQ(r.error().code, Errc::insecure_mode);
        EXPECT_EQ(r.error().found, mode);
        EXPECT_ERRC(attach_segment(name_, o), Errc::insecure_mode);
        struct stat st {};
        EXPECT_NE(::lstat(shm_file(n).c_str(), &st), 0) << "a file appeared";
    }
    expect_untouched();
}

}  // namespace
}  // namespace amx::testing_support
