// Shared by the bad-input and multi-process tests: guards that remove a name, a live
// segment holding patterned blocks (the bystander every hostile input must leave untouched), raw
// file and header helpers, and child processes that report an error code.
#pragma once
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "amx/handler/handler.hpp"
#include "support/flags.hpp"
#include "support/scratch.hpp"
#include "support/test_heap.hpp"

namespace amx::testing_support {

inline std::string shm_file(const std::string& name) { return "/dev/shm/amx." + name; }

// Removes whatever sits at the name (file, directory, FIFO, socket, symlink) when it goes out of
// scope, so failures leave no /dev/shm/amx.* behind.
struct ShmGuard {
    std::string name;
    explicit ShmGuard(std::string n) : name(std::move(n)) {}
    ~ShmGuard() {
        std::error_code ec;
        std::filesystem::remove(shm_file(name), ec);
    }
    ShmGuard(const ShmGuard&) = delete;
    ShmGuard& operator=(const ShmGuard&) = delete;
};

// main() of a multi-process test: gtest, the scratch names of `kind` (support/scratch.hpp), and one positive integer option
// `flag` ("--rounds", "--seconds"; given as --rounds=N or --rounds N) that sets *value.
inline int run_with_sweep(int argc, char** argv, const char* kind, const char* flag, const char* help, int* value) {
    ::testing::InitGoogleTest(&argc, argv);  // takes the --gtest_* flags out of argv
    if (const auto rc = amx::test::parse_flags(
            argc, argv, "A multi-process test; segments an earlier run left behind are removed first.", "",
            {{flag, *value, help}}))
        return *rc;
    test::scratch_environment(kind);
    return RUN_ALL_TESTS();
}

// Expects an error with exactly this code; prints the error otherwise.
#define EXPECT_ERRC(expr, errc)                                                              \
    do {                                                                                     \
        const auto r_ = (expr);                                                              \
        if (r_) {                                                                            \
            ADD_FAILURE() << #expr " succeeded, expected " << amx::errc_name(errc);          \
        } else {                                                                             \
            EXPECT_EQ(r_.error().code, errc) << #expr ": " << r_.error().message();          \
        }                                                                                    \
    } while (0)

// Runs fn in a child process; returns its exit status (fn's return value) or -signal.
inline int in_child(const std::function<int()>& fn) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        int rc = 99;
        try {
            rc = fn();
        } catch (...) {
        }
        ::_exit(rc);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

// Raw header access on a mapping (tests only; the segment is quiescent).
template <class T>
T peek(const std::byte* base, std::size_t off) {
    T v;
    std::memcpy(&v, base + off, sizeof v);
    return v;
}
template <class T>
void poke(std::byte* base, std::size_t off, T v) {
    std::memcpy(base + off, &v, sizeof v);
}
inline SegmentHeader read_header(const std::byte* base) { return peek<SegmentHeader>(base, 0); }
// Writes h and, if asked, a checksum that matches it (so a later check trips, not the checksum).
inline void write_header(std::byte* base, SegmentHeader h, bool fix_checksum) {
    if (fix_checksum) h.header_checksum = header_checksum(h);
    poke(base, 0, h);
}

// Creates a plain file at the name with the given bytes and mode (not through the library).
inline bool make_file(const std::string& name, const std::vector<std::byte>& bytes, mode_t mode = 0600) {
    const int fd = ::open(shm_file(name).c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) return false;
    const bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()) &&
                    ::fchmod(fd, mode) == 0;
    ::close(fd);
    return ok;
}

inline double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// A named segment with patterned live blocks, one in a user state and a free block between live
// ones. expect_untouched() asserts that not one byte changed since the last snapshot();
// expect_intact() that the patterns, states and verify() still hold (for operations that may
// legitimately reorganise free lists, such as an allocation that heals before out_of_memory).
class LiveSegment : public ::testing::Test {
protected:
    static constexpr std::uint32_t CAPACITY = 1 << 20;
    static constexpr std::uint32_t USER_STATE = 60;

    void SetUp() override {
        name_ = scratch_name("bi");
        guard_.emplace(name_);
        auto h = MatrixHandler::create(name_, CAPACITY);
        ASSERT_TRUE(h) << h.error().message();
        h_.emplace(std::move(*h));
        for (std::uint32_t i = 0; i < 8; ++i) {
            auto b = h_->allocate_raw(40 + 100 * i);
            ASSERT_TRUE(b) << b.error().message();
            blocks_.push_back({*b, 40 + 100 * i, 0xB000 + i});
            test::fill(base() + b->offset, 40 + 100 * i, 0xB000 + i);
        }
        ASSERT_TRUE(h_->set_state(blocks_[3].block, USER_STATE));
        ASSERT_TRUE(h_->free(blocks_[5].block));  // a free block between live ones
        freed_ = blocks_[5].block;
        blocks_.erase(blocks_.begin() + 5);
        snapshot();
    }
    void TearDown() override {
        if (h_) {
            EXPECT_TRUE(h_->die(UnlinkMode::force));
        }
    }

    std::byte* base() const { return h_->raw_base_ptr(); }
    std::uint32_t header_of(std::size_t i) const { return blocks_[i].block.header_offset(); }
    void snapshot() { snap_.assign(base(), base() + CAPACITY); }
    void expect_untouched() const {
        EXPECT_EQ(std::memcmp(snap_.data(), base(), CAPACITY), 0) << "segment bytes changed";
        expect_intact();
    }
    void expect_intact() const {
        for (std::size_t i = 0; i < blocks_.size(); ++i) {
            EXPECT_TRUE(test::check_fill(base() + blocks_[i].block.offset, blocks_[i].size, blocks_[i].tag))
                << "pattern of block " << i << " changed";
            const std::uint32_t want = i == 3 ? USER_STATE : STATE_ALLOCATED;
            const auto got = h_->get_state(blocks_[i].block);
            EXPECT_TRUE(got && *got == want) << "state of block " << i;
        }
        const auto r = h_->verify();
        EXPECT_TRUE(r.ok()) << r.to_string();
    }

    struct Live {
        Block<std::byte> block;
        std::uint32_t size;
        std::uint32_t tag;
    };
    std::string name_;
    std::optional<ShmGuard> guard_;
    std::optional<MatrixHandler> h_;
    std::vector<Live> blocks_;
    Block<std::byte> freed_{};
    std::vector<std::byte> snap_;
};

}  // namespace amx::testing_support
