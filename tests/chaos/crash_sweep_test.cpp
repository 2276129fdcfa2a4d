// The crash-point sweep (issue 8). For every scenario of sweep_scenarios.hpp:
//   1. a counting child runs it once and reports every call site of the core it passed, with the
//      kind of access (store / CAS / RMW) and how often;
//   2. for every such site and k = 1, 2, 3 (when the site was hit k times), a fresh segment is
//      prepared and a child runs the scenario until its CrashPolicy _exits at the k-th access at
//      that site;
//   3. the parent (production policy) checks: the dry run reports without writing a byte,
//      recover() succeeds, verify(after_heal) is clean, no block is unattributed, every parent
//      block the victim did not free is live with its pattern intact, and after the parent frees
//      everything and heals the segment is one free block (nothing lost).
// Then every write access of the run by global index (the k-th store, CAS or RMW, k = 1..all, up to
// MAX_GLOBAL_POINTS), and the k-th access of each kind (store / CAS / RMW / any) for k = 1..3.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "amx/platform/scratch.hpp"
#include "chaos/sweep_scenarios.hpp"
#include "support/figures.hpp"

namespace amx::chaos {
namespace {

constexpr std::uint32_t SEGMENT = 64 * 1024;
// Bound on the by-index sweep per scenario (keeps the quick tier within its budget).
constexpr std::uint64_t MAX_GLOBAL_POINTS = 4000;

// Child side: attach through CrashPolicy, register, arm, run, detach, _exit.
[[noreturn]] void child_main(const MatrixHandler& h, const SweepScenario& sc, const Plan& plan,
                             const Trigger& trigger, int report_fd) {
    CrashPolicy::Memory mem(h.raw_base_ptr(), h.segment_size());
    auto heap = CrashHeap::attach(mem);
    if (!heap) ::_exit(3);
    CrashState& st = crash_state();
    st.counting = report_fd >= 0;
    st.trigger = trigger;
    const Registry<CrashHeap::Ctx> reg(heap->context());
    const auto pid = static_cast<std::uint32_t>(::getpid());
    const std::uint64_t ident = pack_participant(pid, process_start_time(static_cast<pid_t>(pid)));
    const std::uint32_t slot = reg.claim(ident);
    heap->set_participant(slot == Registry<CrashHeap::Ctx>::NONE ? 0 : slot + 1);
    sc.run(*heap, h.raw_base_ptr(), plan);
    reg.release(slot, ident);
    if (report_fd >= 0) {
        std::string out;
        for (const auto& [site, n] : st.hits) {
            out += site.file + " " + std::to_string(site.line) + " " +
                   std::to_string(static_cast<unsigned>(site.kind)) + " " + std::to_string(n) + "\n";
        }
        if (::write(report_fd, out.data(), out.size()) != static_cast<ssize_t>(out.size())) ::_exit(4);
    }
    ::_exit(0);
}

struct Outcome {
    int exit_code = -1;
    std::string text;  // the counting child's report
};

Outcome run_child(const MatrixHandler& h, const SweepScenario& sc, const Plan& plan, const Trigger& t, bool count) {
    int fds[2] = {-1, -1};
    if (count && ::pipe(fds) != 0) return {};
    const pid_t pid = fork_tied_child();
    if (pid == 0) {
        if (count) ::close(fds[0]);
        child_main(h, sc, plan, t, count ? fds[1] : -1);
    }
    Outcome o;
    if (count) {
        ::close(fds[1]);
        char buf[4096];
        for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) o.text.append(buf, static_cast<std::size_t>(n));
        ::close(fds[0]);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return o;
}

struct Totals {
    std::uint32_t points = 0, killed = 0, orphans = 0, transient = 0, merged = 0, dead_slots = 0;
};

// The parent's checks after the child is gone. Returns an empty string when all hold.
std::string check_after(MatrixHandler& h, const Plan& plan, Totals& tot) {
    const std::vector<std::byte> before(h.raw_base_ptr(), h.raw_base_ptr() + h.segment_size());
    auto dry = h.recover({.dry_run = true, .reclaim_dead = true});
    if (!dry) return "dry run failed: " + dry.error().message() + " " + dry.error().context;
    if (std::memcmp(before.data(), h.raw_base_ptr(), before.size()) != 0) return "dry run wrote to the segment";
    auto rep = h.recover({.reclaim_dead = true});
    if (!rep) return "recover failed: " + rep.error().message() + " " + rep.error().context;
    // The dry run reports what the apply does and leaves, figure for figure.
    auto figures = [](const RecoverReport& r) {
        return std::vector<std::uint64_t>{r.blocks_before, r.blocks_after, r.transient, r.merged, r.listed, r.prev_fixed,
                                          r.heals_reset, r.transit_reset, r.slots_released, r.free_bytes, r.orphan_bytes,
                                          r.orphans.size(), r.leaked.size()};
    };
    if (figures(*dry) != figures(*rep)) {
        return "the dry run foretold " + dry->to_string() + ", the apply did " + rep->to_string();
    }
    if (!rep->leaked.empty()) return "unattributed blocks: " + rep->to_string();
    const VerifyReport v = h.verify(VerifyMode::after_heal);
    if (!v.ok()) return "verify after recover: " + v.to_string() + rep->to_string();
    tot.orphans += static_cast<std::uint32_t>(rep->orphans.size());
    tot.transient += rep->transient;
    tot.merged += rep->merged;
    tot.dead_slots += rep->dead_participants;
    for (std::uint32_t i = 0; i < plan.parent.size(); ++i) {
        const OwnedBlock& b = plan.parent[i];
        const bool victim = std::find(plan.victims.begin(), plan.victims.end(), i) != plan.victims.end();
        auto cap = h.raw_matrix().live_payload(b.header);
        if (!cap) {
            if (!victim) return "parent block " + std::to_string(b.header) + " lost";
            continue;
        }
        if (!test::check_fill(h.raw_base_ptr() + b.header + BLOCK_HEADER_SIZE, b.payload_bytes, b.tag)) {
            return "parent block " + std::to_string(b.header) + " pattern broken";
        }
        if (!h.free_at(b.header)) return "parent block " + std::to_string(b.header) + " not freeable";
    }
    h.heal();
    const Stats s = h.stats();
    if (s.blocks != 1 || s.free_bytes != s.data_bytes) {
        return "memory lost: " + std::to_string(s.blocks) + " blocks, " + std::to_string(s.free_bytes) +
               " of " + std::to_string(s.data_bytes) + " bytes free";
    }
    return {};
}

std::string sweep_one(const SweepScenario& sc, const Trigger& t, Totals& tot) {
    auto h = MatrixHandler::in_memory(SEGMENT);
    if (!h) return "in_memory: " + h.error().message();
    Plan plan;
    sc.prepare(*h, plan);
    const Outcome o = run_child(*h, sc, plan, t, false);
    if (o.exit_code != CRASH_EXIT && o.exit_code != 0) return "child failed with " + std::to_string(o.exit_code);
    ++tot.points;
    if (o.exit_code == CRASH_EXIT) ++tot.killed;
    return check_after(*h, plan, tot);
}

struct SiteHits {
    CrashSite site;
    std::uint64_t n;
};

std::vector<SiteHits> count_sites(const SweepScenario& sc) {
    auto h = MatrixHandler::in_memory(SEGMENT);
    if (!h) return {};
    Plan plan;
    sc.prepare(*h, plan);
    const Outcome o = run_child(*h, sc, plan, Trigger{}, true);
    std::vector<SiteHits> out;
    std::istringstream in(o.text);
    std::string file;
    unsigned line = 0, kind = 0;
    std::uint64_t n = 0;
    while (in >> file >> line >> kind >> n) out.push_back({{file, line, static_cast<Kind>(kind)}, n});
    return out;
}

class Sweep : public ::testing::TestWithParam<std::size_t> {};

TEST_P(Sweep, EveryCrashPointRecovers) {
    const SweepScenario& sc = sweep_scenarios()[GetParam()];
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<SiteHits> sites = count_sites(sc);
    ASSERT_FALSE(sites.empty()) << "the counting run reported no access";
    Totals tot;
    std::uint32_t write_sites = 0;
    for (const SiteHits& s : sites) {
        if (s.site.kind == Kind::load) continue;
        ++write_sites;
        for (std::uint64_t k = 1; k <= 3 && k <= s.n; ++k) {
            const Trigger t{static_cast<unsigned>(s.site.kind), k, s.site.file.c_str(), s.site.line};
            const std::string err = sweep_one(sc, t, tot);
            ASSERT_TRUE(err.empty()) << sc.name << ": kill at " << kind_name(s.site.kind) << " " << s.site.file
                                     << ":" << s.site.line << " k=" << k << ": " << err;
        }
    }
    // Every write access of the run, by global index: each one is the last thing the victim did.
    std::uint64_t writes = 0;
    for (const SiteHits& s : sites) writes += s.site.kind == Kind::load ? 0 : s.n;
    for (std::uint64_t k = 1; k <= writes && k <= MAX_GLOBAL_POINTS; ++k) {
        const std::string err = sweep_one(sc, Trigger{ANY_WRITE, k, nullptr, 0}, tot);
        ASSERT_TRUE(err.empty()) << sc.name << ": kill at write access #" << k << " of " << writes << ": " << err;
    }
    for (unsigned kinds : {unsigned(Kind::store), unsigned(Kind::cas), unsigned(Kind::rmw), ANY}) {
        for (std::uint64_t k = 1; k <= 3; ++k) {
            const std::string err = sweep_one(sc, Trigger{kinds, k, nullptr, 0}, tot);
            ASSERT_TRUE(err.empty()) << sc.name << ": kill at global access k=" << k << " of kinds " << kinds << ": " << err;
        }
    }
    EXPECT_GT(tot.killed, 0u);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    amx::test::figure("crash points", tot.points, sc.name);
    std::printf("[sweep] %-6s %u write sites, %llu write accesses, %u crash points run, %u killed, %u orphans reclaimed, "
                "%u transient blocks freed, %u merges, %u dead slots cleared, %.2f s\n",
                sc.name, write_sites, static_cast<unsigned long long>(writes), tot.points, tot.killed, tot.orphans, tot.transient, tot.merged,
                tot.dead_slots, secs);
}

INSTANTIATE_TEST_SUITE_P(Scenarios, Sweep, ::testing::Range<std::size_t>(0, sweep_scenarios().size()),
                         [](const auto& info) { return std::string(sweep_scenarios()[info.param].name); });

}  // namespace
}  // namespace amx::chaos
