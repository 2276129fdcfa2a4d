// Fuzz target `schedules`: 2-4 logical threads over the instrumented policy, interleaved access by
// access as the input decides (schedule.hpp), with spurious cas_weak failures and a thread that may
// die at any access.
//
// Input: [mode][config bytes][programs][decisions...]
//   mode % 5 == 4 .. one of the concurrent scenarios of tests/scenarios/registry.def (the next byte
//                   picks it), no deaths;
//   otherwise ..... generated programs: each thread allocates, fills, checks, frees its own blocks,
//                   sets states and heals. Afterwards (single-threaded):
//     nobody died: every block a thread holds is live, distinct, owned once and its pattern intact;
//                  verify() clean; free everything, heal, verify(after_heal), one block.
//     a thread died: heal, then verify() may only report what a dead participant leaves behind
//                  (PROTOCOL.md death table: ST1, FL6, HL1, BL1, BM1, TR1; and BM2,
//                  which the table misses), and every block of a
//                  survivor is still live, owned once and intact.
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "instrumented_policy.hpp"
#include "schedule.hpp"
#include "scenarios/run.hpp"
#include "scenarios/scenarios.hpp"

namespace amx::fuzz::schedules {
namespace {

using P = InstrumentedAtomicPolicy;

struct TOp {
    std::uint8_t kind;  // 0 alloc, 1 free, 2 fill, 3 check, 4 set_state, 5 heal
    std::uint8_t arg;
};

struct Held {
    std::uint32_t h, tag, state;
};

template <Geometry G>
class Programs {
    using L = ControlLayout<G>;
    using E = scenario::Env<P, G>;

public:
    static constexpr int MAX_OPS = 8;

    Programs(ByteReader& in, std::uint8_t mode) {
        threads_ = 2 + in.u8() % 3;
        blocks_ = 6 + in.u8() % 24;
        const std::uint8_t k = in.u8();
        if ((mode & 1) && k != 0) {
            cfg_.victim = k % threads_;
            cfg_.kill_at = 1 + in.u16() % 512;
        }
        cfg_.threads = threads_;
        setup_blocks_ = in.u8() % 10;
        setup_size_ = 1 + in.u8() % 64;
        cfg_.spurious_mask = (mode & 2) ? in.u32() : 0;
        for (int t = 0; t < threads_; ++t) {
            const int n = 1 + in.u8() % MAX_OPS;
            for (int i = 0; i < n; ++i) ops_[t].push_back(TOp{static_cast<std::uint8_t>(in.u8() % 6), in.u8()});
        }
    }

    void run(ByteReader& decisions) {
        const std::uint32_t cap = L::FIRST_BLOCK + blocks_ * L::MIN_BLOCK;
        std::unique_ptr<std::uint64_t[]> buf(new std::uint64_t[cap / 8]());
        P::Memory mem(reinterpret_cast<std::byte*>(buf.get()), cap);
        if (!Heap<P, G>::format(mem, FormatParams{cap * 2654435761u + 1, 1, 1})) die("format");
        env_ = std::make_unique<E>(*Heap<P, G>::attach(mem));
        owner_.assign(cap / L::ALIGN, 0);
        setup();
        Scheduler s(decisions, cfg_);
        sched_ = &s;
        s.set_failure_context([this] { return describe(); });
        std::vector<std::function<void()>> bodies;
        for (int t = 0; t < threads_; ++t) bodies.push_back([this, t] { body(t); });
        s.run(bodies);
        if (s.any_killed()) check_after_death(); else check_clean();
        sched_ = nullptr;
    }

private:
    [[noreturn]] void die(const std::string& why) {
        FuzzHook::target = nullptr;
        fail("schedules", describe() + "schedule:" + (sched_ ? sched_->trace() : std::string()) + "\n", why);
    }
    void expect(bool c, const std::string& why) { if (!c) die(why); }

    std::string describe() const {
        static const char* const names[] = {"alloc", "free", "fill", "check", "set_state", "heal"};
        std::string s = strf("%s geometry, %u minimal blocks, %d threads, setup %u x alloc(%u) freeing every other",
                             G::FL_COUNT < 26 ? "tiny" : "default", blocks_, threads_, setup_blocks_, setup_size_);
        if (cfg_.victim >= 0) s += strf(", thread %d dies at its access %u", cfg_.victim, cfg_.kill_at);
        if (cfg_.spurious_mask) s += strf(", spurious cas_weak mask 0x%x", cfg_.spurious_mask);
        s += "\n";
        for (int t = 0; t < threads_; ++t) {
            s += strf("  t%d:", t);
            for (const TOp& o : ops_[t]) s += strf(" %s(%u)", names[o.kind], o.arg);
            s += "\n";
        }
        return s;
    }

    // Fragmentation before the threads start: k equal blocks, every other one freed, so one class
    // holds several non-adjacent blocks (what ABA on a list head needs). The rest stay allocated.
    void setup() {
        std::vector<std::uint32_t> got;
        for (std::uint32_t i = 0; i < setup_blocks_; ++i) {
            if (auto r = env_->heap.allocate(setup_size_)) got.push_back(*r);
        }
        for (std::size_t i = 0; i < got.size(); ++i) {
            if (i % 2 == 1) {
                expect(static_cast<bool>(env_->heap.free(got[i])), "setup free");
            } else {
                own(got[i], 0xFF);
                setup_held_.push_back(Held{got[i], 0, STATE_ALLOCATED});
            }
        }
    }

    // A logical thread's program; it touches only its own blocks and its own members.
    void body(int t) {
        auto& mine = held_[t];
        const auto who = static_cast<std::uint8_t>(t + 1);
        for (const TOp& o : ops_[t]) {
            sched_->begin_op();
            Held* b = mine.empty() ? nullptr : &mine[o.arg % mine.size()];
            switch (o.kind) {
                case 0: {
                    auto r = env_->heap.allocate(1 + o.arg % 120);
                    if (!r) {
                        expect(r.error().code == Errc::out_of_memory || r.error().code == Errc::contention,
                               strf("t%d: allocate failed with %s", t, errc_name(r.error().code)));
                        break;
                    }
                    expect(own(*r, who), strf("t%d: block 0x%x handed out while another thread owns it", t, *r));
                    mine.push_back(Held{*r, 0, STATE_ALLOCATED});
                    break;
                }
                case 1:
                    if (!b) break;
                    own(b->h, 0);  // before the free: after it the block is someone else's
                    {
                        auto r = env_->heap.free(b->h);
                        expect(static_cast<bool>(r), strf("t%d: free of own block 0x%x failed: %s", t, b->h, r ? "" : errc_name(r.error().code)));
                    }
                    mine.erase(mine.begin() + (b - mine.data()));
                    break;
                case 2:
                    if (!b) break;
                    b->tag = who * 256 + o.arg;
                    env_->fill(b->h, b->tag);
                    break;
                case 3:
                    if (b) expect(b->tag == 0 || env_->check_fill(b->h, b->tag), strf("t%d: fill of 0x%x broken", t, b->h));
                    break;
                case 4:
                    if (!b) break;
                    b->state = USER_STATE_MIN + o.arg % 8;
                    expect(static_cast<bool>(env_->heap.set_state(b->h, b->state)), strf("t%d: set_state of own 0x%x", t, b->h));
                    break;
                default:
                    env_->heap.heal();
                    break;
            }
        }
    }

    // Ownership shadow, one byte per ALIGN unit (Env's per-MIN_BLOCK slots alias for blocks whose
    // size is not a multiple of MIN_BLOCK). who == 0 releases. Returns false on a second owner.
    bool own(std::uint32_t h, std::uint8_t who) {
        const std::uint32_t size = env_->ctx().size_w(h).load(P::relaxed);
        bool alone = true;
        for (std::uint32_t u = h / L::ALIGN; u < (h + size) / L::ALIGN && u < owner_.size(); ++u) {
            if (who != 0 && owner_[u] != 0) alone = false;
            owner_[u] = who;
        }
        return alone;
    }

    // Every block of every surviving thread: live, in its state, pattern intact.
    void check_survivors() {
        for (int t = -1; t < threads_; ++t) {
            if (t >= 0 && sched_->killed(t)) continue;
            for (const Held& b : t < 0 ? setup_held_ : held_[t]) {
                auto pay = env_->heap.live_payload(b.h);
                expect(static_cast<bool>(pay), strf("t%d's block 0x%x is not live any more", t, b.h));
                auto st = env_->heap.get_state(b.h, P::relaxed);
                expect(st && *st == b.state, strf("t%d's block 0x%x changed state", t, b.h));
                expect(b.tag == 0 || env_->check_fill(b.h, b.tag), strf("t%d's block 0x%x: fill broken", t, b.h));
            }
        }
    }

    void check_clean() {
        check_survivors();
        const VerifyReport r = env_->verify();
        expect(r.ok(), r.to_string());
        for (int t = -1; t < threads_; ++t) {
            for (const Held& b : t < 0 ? setup_held_ : held_[t]) expect(static_cast<bool>(env_->heap.free(b.h)), strf("final free of 0x%x", b.h));
        }
        env_->heap.heal();
        const VerifyReport h = env_->verify(VerifyMode::after_heal);
        expect(h.ok(), h.to_string());
        expect(h.blocks == 1, strf("%u blocks after freeing everything and heal", h.blocks));
    }

    void check_after_death() {
        env_->heap.heal();
        check_survivors();
        const VerifyReport r = env_->verify();
        for (const Violation& v : r.violations) {
            const std::string id = v.id;
            const bool left_by_death = id == "ST1" || id == "FL6" || id == "HL1" || id == "BL1" || id == "BM1" ||
                                       id == "TR1" ||  // a transit counter the dead thread raised
                                       id == "BM2";    // died in mark_maybe_empty between clearing
                                                       // the fl bit and re-checking the sl word
            expect(left_by_death, "after a death and heal:\n" + r.to_string());
        }
    }

    int threads_ = 2;
    std::uint32_t blocks_ = 8;
    ScheduleConfig cfg_;
    std::vector<TOp> ops_[Scheduler::MAX_THREADS];
    std::vector<Held> held_[Scheduler::MAX_THREADS];
    std::vector<Held> setup_held_;
    std::uint32_t setup_blocks_ = 0, setup_size_ = 16;
    std::unique_ptr<E> env_;
    std::vector<std::uint8_t> owner_;
    Scheduler* sched_ = nullptr;
};

// Starts a scenario's threads as fibers of the scheduler, which interleaves them as the input says.
struct ScheduledThreads {
    Scheduler& s;
    template <class Body>
    void operator()(int n, const Body& body) const {
        std::vector<std::function<void()>> bodies;
        for (int i = 0; i < n; ++i) bodies.push_back([&body, i] { body(i); });
        s.run(bodies);
    }
};

// One scenario of tests/scenarios/ under a fuzzed schedule (no deaths: the scenarios' checks assume
// every thread finishes).
template <template <class, class> class S, Geometry G>
void run_scenario(ByteReader& in, const char* name) {
    scenario::ZeroedBytes seg(scenario::capacity<S<P, G>, G>());
    ScheduleConfig cfg;
    cfg.threads = S<P, G>::THREADS;
    cfg.spurious_mask = in.u8();
    Scheduler s(in, cfg);
    s.set_failure_context([&] { return strf("scenario %s, spurious mask 0x%x\n", name, cfg.spurious_mask); });
    const scenario::Outcome o = scenario::run<S, P, G>(P::Memory(seg.data(), seg.size()), 7, ScheduledThreads{s});
    if (!o.ok) fail("schedules", strf("scenario %s, spurious mask 0x%x\nschedule:%s\n", name, cfg.spurious_mask, s.trace().c_str()), o.why);
}

// The scenarios of tests/scenarios/registry.def, in its order: an input byte picks entry byte % count.
struct ScenarioEntry {
    const char* name;
    void (*run)(ByteReader&, const char*);
};
constexpr ScenarioEntry SCENARIOS[] = {
#define AMX_SCENARIO(NAME, TYPE, GEOMETRY, ROUNDS, OPS) {#TYPE, &run_scenario<scenario::TYPE, GEOMETRY>},
#include "scenarios/registry.def"
#undef AMX_SCENARIO
};

void run_any_scenario(ByteReader& in) {
    const ScenarioEntry& e = SCENARIOS[in.u8() % std::size(SCENARIOS)];
    e.run(in, e.name);
}

}  // namespace
}  // namespace amx::fuzz::schedules

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace amx::fuzz::schedules;
    amx::fuzz::ByteReader in(data, size);
    const std::uint8_t mode = in.u8();
    if (mode % 5 == 4) {
        run_any_scenario(in);
    } else if (mode & 4) {
        Programs<amx::DefaultGeometry>(in, mode).run(in);
    } else {
        Programs<amx::TinyGeometry>(in, mode).run(in);
    }
    return 0;
}
