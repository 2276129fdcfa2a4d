// docs/BAD_INPUT.md rows R34-R47: a segment file whose header lies (other versions, layouts,
// checksums, sizes) or whose creator never finished (failed, dead, alive but slow). The failed
// attach writes nothing: the file is byte-for-byte what it was.
#include <sys/file.h>
#include <sys/mman.h>

#include "badinput/support.hpp"

namespace amx::testing_support {
namespace {

class Header : public LiveSegment {
protected:
    // Rewrites the live segment's header with `edit`, expects attach to fail with `code` without
    // writing, then restores the header and checks the segment.
    template <class Edit>
    void expect_refused(Edit edit, bool fix_checksum, Errc code, std::uint64_t found, std::uint64_t expected) {
        const SegmentHeader saved = read_header(base());
        SegmentHeader h = saved;
        edit(h);
        write_header(base(), h, fix_checksum);
        const std::vector<std::byte> lied(base(), base() + CAPACITY);
        const auto r = attach_segment(name_);
        const bool unchanged = std::memcmp(lied.data(), base(), CAPACITY) == 0;
        write_header(base(), saved, false);
        ASSERT_FALSE(r) << "attached a segment whose header lies";
        EXPECT_EQ(r.error().code, code) << r.error().message();
        EXPECT_EQ(r.error().found, found) << r.error().message();
        EXPECT_EQ(r.error().expected, expected) << r.error().message();
        EXPECT_TRUE(unchanged) << "the failed attach wrote into the segment";
        expect_untouched();
        EXPECT_TRUE(attach_segment(name_)) << "restored header attaches again";
    }
};

TEST_F(Header, R34_BadMagic) {
    expect_refused([](SegmentHeader& h) { h.magic ^= 0xFF; }, true, Errc::bad_magic, SEGMENT_MAGIC ^ 0xFF, SEGMENT_MAGIC);
}
TEST_F(Header, R35_OtherVersion) {
    expect_refused([](SegmentHeader& h) { h.layout_version = LAYOUT_VERSION + 1; }, true, Errc::version_mismatch, LAYOUT_VERSION + 1, LAYOUT_VERSION);
}
TEST_F(Header, R36_OtherFingerprint) {
    const std::uint64_t fp = layout_fingerprint<DefaultGeometry>();
    expect_refused([](SegmentHeader& h) { h.fingerprint ^= 1; }, true, Errc::layout_mismatch, fp ^ 1, fp);
}
TEST_F(Header, R37_OtherGeometry) {
    const std::uint32_t g = geometry_word<DefaultGeometry>();
    expect_refused([](SegmentHeader& h) { h.geometry = geometry_word<TinyGeometry>(); }, true, Errc::layout_mismatch,
                   geometry_word<TinyGeometry>(), g);
}
TEST_F(Header, R38_OtherHeaderSize) {
    expect_refused([](SegmentHeader& h) { h.header_size = 128; }, true, Errc::layout_mismatch, 128, sizeof(SegmentHeader));
}
TEST_F(Header, R39_ChecksumMismatch) {
    const SegmentHeader h0 = read_header(base());
    SegmentHeader h1 = h0;
    h1.nonce ^= 0x10;
    expect_refused([](SegmentHeader& h) { h.nonce ^= 0x10; }, false, Errc::header_corrupted, h0.header_checksum,
                   header_checksum(h1));
}
TEST_F(Header, R40_CapacityFieldLies) {
    expect_refused([](SegmentHeader& h) { h.capacity = 2 * CAPACITY; }, true, Errc::size_mismatch, CAPACITY, 2 * CAPACITY);
}
TEST_F(Header, R43_InitFailed) {
    expect_refused([](SegmentHeader& h) { h.init_state = INIT_FAILED; }, true, Errc::init_failed, INIT_FAILED, INIT_READY);
}
TEST_F(Header, R46_InitStateGarbage) {
    expect_refused([](SegmentHeader& h) { h.init_state = 7; }, true, Errc::header_corrupted, 7, INIT_READY);
}
// The creator recorded in the header is gone (a reaped child), the header says INITIALIZING.
TEST_F(Header, R44_DeadCreator) {
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    const std::uint64_t start = process_start_time(child);
    ::waitpid(child, nullptr, 0);
    const auto t0 = std::chrono::steady_clock::now();
    expect_refused(
        [&](SegmentHeader& h) {
            h.init_state = INIT_INITIALIZING;
            h.creator_pid = static_cast<std::uint32_t>(child);
            h.creator_start = start;
        },
        true, Errc::stale_init, static_cast<std::uint32_t>(child), 0);
    std::printf("dead creator detected in %.2f ms (timeout 2000 ms)\n", ms_since(t0));
}
// The pid is alive but started at another time: pid reuse, the creator is dead.
TEST_F(Header, R47_ReusedPid) {
    const auto me = static_cast<std::uint32_t>(::getpid());
    expect_refused(
        [&](SegmentHeader& h) {
            h.init_state = INIT_INITIALIZING;
            h.creator_pid = me;
            h.creator_start = process_start_time(::getpid()) + 1;
        },
        true, Errc::stale_init, me, 0);
}

class Lifecycle : public LiveSegment {};

// Truncated or extended after creation: the file size no longer matches the header's capacity.
TEST_F(Lifecycle, R41_R42_FileSizeChanged) {
    for (std::uint64_t size : {std::uint64_t{CAPACITY / 2}, std::uint64_t{2 * CAPACITY}}) {
        const std::string n = scratch_name("bi");
        ShmGuard g(n);
        { ASSERT_TRUE(create_segment(n, CAPACITY)); }
        ASSERT_EQ(::truncate(shm_file(n).c_str(), static_cast<off_t>(size)), 0);
        const auto r = attach_segment(n);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, Errc::size_mismatch) << r.error().message();
        EXPECT_EQ(r.error().found, size);
        EXPECT_EQ(r.error().expected, CAPACITY);
    }
    expect_untouched();
}

// A creator alive and holding its creation lock, stuck: attach gives up after attach_timeout.
// Then the creator is killed mid-initialization: the kernel drops its lock and attach reports
// stale_init at once.
TEST_F(Lifecycle, R45_SlowCreatorThenKilled) {
    const std::string n = scratch_name("bi");
    ShmGuard g(n);
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const pid_t child = ::fork();
    if (child == 0) {
        const int fd = ::shm_open(shm_path(n).c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd < 0 || ::flock(fd, LOCK_EX) != 0 || ::ftruncate(fd, CAPACITY) != 0) ::_exit(90);
        auto* p = static_cast<std::byte*>(::mmap(nullptr, CAPACITY, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
        SegmentHeader h{};
        h.magic = SEGMENT_MAGIC;
        h.init_state = INIT_INITIALIZING;
        h.creator_pid = static_cast<std::uint32_t>(::getpid());
        h.creator_start = process_start_time(::getpid());
        write_header(p, h, false);
        char c = 1;
        if (::write(ready[1], &c, 1) != 1) ::_exit(91);
        for (;;) ::pause();
    }
    char c = 0;
    ASSERT_EQ(::read(ready[0], &c, 1), 1);
    SegmentOptions o;
    o.attach_timeout = std::chrono::milliseconds(150);
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_ERRC(attach_segment(n, o), Errc::init_timeout);
    const double waited = ms_since(t0);
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    t0 = std::chrono::steady_clock::now();
    EXPECT_ERRC(attach_segment(n), Errc::stale_init);
    const double stale = ms_since(t0);
    std::printf("live creator: init_timeout after %.1f ms (timeout 150); killed creator: stale_init in %.2f ms\n",
                waited, stale);
    EXPECT_GE(waited, 150.0);
    EXPECT_LT(waited, 1500.0);
    EXPECT_LT(stale, 500.0);
    ::close(ready[0]);
    ::close(ready[1]);
    expect_untouched();
}

}  // namespace
}  // namespace amx::testing_support
