// Eight processes call bootstrap(name) at the same instant (all blocked on one pipe, released by
// closing it), --rounds times with fresh names. Each round: exactly one process formats, the
// others attach (waiting for the creator when they arrive early), all see the same segment (same
// nonce, and every process's block is readable from the parent), and verify() is clean.
#include <cstdlib>

#include "badinput/support.hpp"

namespace amx::testing_support {
namespace {

int g_rounds = 20;
constexpr int PROCS = 8;
// Odd rounds use a segment large enough that posix_fallocate takes a while (attachers meet the
// creator at work and wait on its lock); even rounds a small one (most find it READY).
std::uint32_t capacity_of(int round) { return round % 2 ? 32u << 20 : 1u << 20; }

struct Report {
    std::int32_t error = 0;  // Errc, or 0
    std::uint32_t created = 0;
    std::uint32_t init_waits = 0;
    std::uint32_t block = 0;  // payload offset of this process's block
    std::uint64_t nonce = 0;
};

Report racer(const std::string& name, std::uint32_t capacity, int gate, std::uint32_t index) {
    char c;
    while (::read(gate, &c, 1) > 0) {}  // returns 0 when the parent closes the write end
    Report r;
    auto h = MatrixHandler::bootstrap(name, capacity);
    if (!h) {
        r.error = static_cast<std::int32_t>(h.error().code);
        return r;
    }
    r.created = h->created() ? 1 : 0;
    r.init_waits = h->mapping()->origin().init_waits;
    r.nonce = read_header(h->raw_base_ptr()).nonce;
    auto b = h->allocate_raw(64);
    if (!b) {
        r.error = static_cast<std::int32_t>(b.error().code);
        return r;
    }
    test::fill(h->raw_base_ptr() + b->offset, 64, 0xC0 + index);
    r.block = b->offset;
    return r;
}

// One round; returns the number of attachers that had to wait for the creator.
int run_round(int round) {
    const std::string name = scratch_name("mpboot");
    ShmGuard guard(name);
    int gate[2], out[2];
    if (::pipe(gate) != 0 || ::pipe(out) != 0) {
        ADD_FAILURE() << "pipe";
        return 0;
    }
    std::vector<pid_t> kids;
    for (std::uint32_t i = 0; i < PROCS; ++i) {
        const pid_t pid = fork_tied_child();
        if (pid == 0) {
            ::close(gate[1]);
            const Report r = racer(name, capacity_of(round), gate[0], i);
            ::_exit(::write(out[1], &r, sizeof r) == sizeof r ? 0 : 3);
        }
        kids.push_back(pid);
    }
    ::close(gate[0]);
    ::close(out[1]);
    ::close(gate[1]);  // the starting shot
    std::vector<Report> reports;
    Report r;
    while (::read(out[0], &r, sizeof r) == sizeof r) reports.push_back(r);
    ::close(out[0]);
    for (pid_t k : kids) {
        int status = 0;
        ::waitpid(k, &status, 0);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
    }
    EXPECT_EQ(reports.size(), static_cast<std::size_t>(PROCS));
    int creators = 0, waited = 0;
    for (const Report& x : reports) {
        EXPECT_EQ(x.error, 0) << errc_name(static_cast<Errc>(x.error));
        creators += static_cast<int>(x.created);
        waited += x.init_waits > 0 ? 1 : 0;
        EXPECT_EQ(x.nonce, reports[0].nonce) << "all see the same segment";
    }
    EXPECT_EQ(creators, 1) << "exactly one process formats";
    auto h = MatrixHandler::attach(name);
    if (!h) {
        ADD_FAILURE() << h.error().message();
        return waited;
    }
    EXPECT_EQ(read_header(h->raw_base_ptr()).nonce, reports.empty() ? 0 : reports[0].nonce);
    std::vector<bool> seen(PROCS);
    for (const Report& x : reports) {
        bool found = false;
        for (std::uint32_t i = 0; i < PROCS; ++i) {
            if (x.block != 0 && test::check_fill(h->raw_base_ptr() + x.block, 64, 0xC0 + i)) found = seen[i] = true;
        }
        EXPECT_TRUE(found) << "block " << x.block << " holds no racer's pattern";
        if (x.block != 0) {
            EXPECT_TRUE(h->free(Block<std::byte>{x.block}));
        }
    }
    h->heal();
    const auto v = h->verify(VerifyMode::after_heal);
    EXPECT_TRUE(v.ok()) << v.to_string();
    EXPECT_EQ(v.blocks, 1u);
    EXPECT_TRUE(h->die());
    return waited;
}

TEST(MultiProcess, EightProcessesBootstrapAtOnceExactlyOneFormats) {
    const auto t0 = std::chrono::steady_clock::now();
    int waited = 0;
    for (int round = 0; round < g_rounds && !HasFailure(); ++round) waited += run_round(round);
    std::printf("bootstrap race: %d rounds x %d processes in %.0f ms; %d of %d attachers waited for the creator\n",
                g_rounds, PROCS, ms_since(t0), waited, g_rounds * (PROCS - 1));
}

}  // namespace
}  // namespace amx::testing_support

int main(int argc, char** argv) {
    return amx::testing_support::run_with_sweep(argc, argv, "mpboot", "--rounds", "bootstrap races to run", &amx::testing_support::g_rounds);
}
