// Scenarios on the participant registry and recover() (core/recover.hpp): who may work after a
// recover, and registrations racing each other.
//
// recover() runs at quiescence by contract (docs/RELIABILITY.md): every other registered
// participant is stopped between operations or dead, and nobody attaches while it runs. The
// scenarios keep that precondition honestly: a participant that works after recover first waits
// for recover's "done" on a *relaxed* channel (Mailbox, handoff.hpp), so it starts later in the
// schedule but has no happens-before with recover from the scenario itself; whatever it must see
// of recover's rewrite has to come from the segment's own orderings (an out-of-band signal, such as
// an operator starting the process, would add one and hide them). A participant that never sees
// "done" does nothing.
//
// Identities: pack_participant(pid, 1); alive(pid) is false for DEAD_PID only.
#pragma once
#include <cstdint>

#include "amx/core/recover.hpp"
#include "amx/errc.hpp"
#include "handoff.hpp"

namespace amx::scenario {

inline constexpr std::uint32_t DEAD_PID = 0xDEAD;
constexpr std::uint64_t ident(std::uint32_t pid) { return pack_participant(pid, 1); }
inline bool alive_unless_dead(std::uint32_t pid, std::uint32_t) { return pid != DEAD_PID; }

// The scenario's heap as seen by the participant of registry slot `slot` (allocations record it).
template <class E>
auto as_participant(const E& e, std::uint32_t slot) {
    return e.heap.as_participant(slot + 1);
}

template <class E>
std::uint32_t allocated_by(const E& e, std::uint32_t b) {
    return e.ctx().word(b, hdr::ALLOCATED_BY).load(E::H::Ctx::Policy::relaxed);
}

// What a check needs of a recover() result (plain figures: the report's vectors stay in the thread).
struct RecoverFigures {
    bool ran = false, ok = false, reclaimed = false;
    Errc error{};
    std::uint32_t orphans = 0, leaked = 0, transient = 0, transit_reset = 0, heals_reset = 0, slots_released = 0;
    std::uint32_t live = 0, dead = 0;

    template <class R>
    explicit RecoverFigures(const R& r) : ran(true), ok(static_cast<bool>(r)) {
        if (!r) {
            error = r.error().code;
            return;
        }
        reclaimed = r->orphans_reclaimed;
        orphans = static_cast<std::uint32_t>(r->orphans.size());
        leaked = static_cast<std::uint32_t>(r->leaked.size());
        transient = r->transient;
        transit_reset = r->transit_reset;
        heals_reset = r->heals_reset;
        slots_released = r->slots_released;
        live = r->live_participants;
        dead = r->dead_participants;
    }
    RecoverFigures() = default;
};

// recover(reclaim_dead, force as given) by the participant of registry slot `slot`.
template <class E>
RecoverFigures recover_as(const E& e, std::uint32_t slot, bool force) {
    RecoverOptions o;
    o.reclaim_dead = true;
    o.force = force;
    return RecoverFigures(Recoverer<typename E::H::Ctx>(e.ctx()).run(o, slot + 1, alive_unless_dead));
}

// A participant leaves while another runs recover: T0 (registered) allocates B, frees it and
// releases its slot (@RG.release); T1 runs recover, which refuses (contention) while T0 is still
// registered and is retried. Once it runs it must see every block T0 freed before leaving: a B
// still ALLOCATED by an empty slot would be reported leaked and kept. Only @RG.release and the
// scan's acquire (@RG.scan) order T0's free before recover's walk. A dead participant's block is
// reclaimed on the way (its slot is cleared, @RG.clear).   slots: 0 T0, 1 T1, 2 dead
template <AtomicPolicy P, Geometry G>
struct DetachVsRecover {
    using Ctx = typename Env<P, G>::H::Ctx;
    static constexpr int THREADS = 2;
    static constexpr std::uint32_t BLOCKS = 4;
    static constexpr std::uint32_t LEAVER = 0, RECOVERER = 1, DEAD = 2, LEAVER_PID = 100, RECOVERER_PID = 101;
    static constexpr int TRIES = 256;
    std::uint32_t orphan = 0, b = 0;
    RecoverFigures rec;
    bool ok_setup = false, freed = false;

    void setup(Env<P, G>& e) {
        const Registry<Ctx> reg(e.ctx());
        if (reg.claim(ident(LEAVER_PID)) != LEAVER || reg.claim(ident(RECOVERER_PID)) != RECOVERER ||
            reg.claim(ident(DEAD_PID)) != DEAD) {
            return;
        }
        auto o = as_participant(e, DEAD).allocate(16);
        ok_setup = static_cast<bool>(o);
        if (ok_setup) orphan = *o;
    }
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        if (i == 0) {
            auto r = as_participant(e, LEAVER).allocate(16);
            if (!r) return;
            b = *r;
            e.fill(b, 1);
            freed = static_cast<bool>(e.heap.free(b));
            Registry<Ctx>(e.ctx()).release(LEAVER, ident(LEAVER_PID));
            return;
        }
        for (int k = 0; k < TRIES; ++k) {
            rec = recover_as(e, RECOVERER, /*force=*/false);
            if (rec.ok || rec.error != Errc::contention) return;
            give_way<P>();
        }
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup");
        o.expect(freed, "T0's allocation and free succeed");
        o.expect(!rec.ran || rec.ok || rec.error == Errc::contention, "recover fails only by refusing (T0 registered)");
        if (rec.ok) {
            o.expect(rec.leaked == 0, "recover saw T0's slot free but not T0's free: B leaked (@RG.release/@RG.scan)");
            o.expect(rec.orphans == 1 && rec.reclaimed, "the dead participant's block is reclaimed");
            o.expect(rec.live == 1 && rec.dead == 1, "recover counts itself live and one dead participant");
            o.expect(Registry<Ctx>(e.ctx()).read(DEAD) == 0, "recover clears the dead participant's slot");
        }
        verify_and_reclaim(e, o, {rec.ok ? 0u : orphan});
    }
};

// A participant works after recover. Setup: participant D (slot 0) died inside an allocation:
// its transit count and heals_running stay raised and it had popped the free block F; it also left
// a live block O. The stalled participant S (slot 1) was stopped between operations holding H.
//   segment: M (mailbox, T0's) | O (D's) | F (popped by D) | H (S's) | free
// T0 (slot 2) runs recover (forced: S is alive but stopped, the precondition), which reclaims O,
// merges O and F, resets the counters and clears D's slot, then posts "done". T1, once it sees
// "done":
//   After::resume - is S resuming: frees H (merging with recover's blocks) and allocates;
//   After::attach - is a newcomer: enrolls (the claim may get D's cleared slot, @RG.claim /
//                   @RG.clear) and allocates.
// Free memory is listed after recover, so T1's allocation must succeed, and see recover's lists.
enum class After { resume, attach };

template <AtomicPolicy P, Geometry G, After A>
struct RecoverThen {
    using Ctx = typename Env<P, G>::H::Ctx;
    using L = ControlLayout<G>;
    static constexpr int THREADS = 2;
    static constexpr std::uint32_t BLOCKS = 7;
    static constexpr std::uint32_t DEAD = 0, STALLED = 1, RECOVERER = 2;
    static constexpr std::uint32_t STALLED_PID = 200, RECOVERER_PID = 201, NEWCOMER_PID = 202;
    static constexpr std::uint32_t DONE = 1;
    static constexpr int WAIT_TRIES = 256;
    Mailbox<P, G> box;
    std::uint32_t orphan = 0, h = 0, got = 0, slot = Registry<Ctx>::NONE;
    RecoverFigures rec;
    bool ok_setup = false, woke = false, freed = false, failed = false;
    Errc error{};

    void setup(Env<P, G>& e) {
        const Registry<Ctx> reg(e.ctx());
        if (reg.claim(ident(DEAD_PID)) != DEAD || reg.claim(ident(STALLED_PID)) != STALLED ||
            reg.claim(ident(RECOVERER_PID)) != RECOVERER) {
            return;
        }
        const auto d = as_participant(e, DEAD);
        auto m = as_participant(e, RECOVERER).allocate(16);
        auto o = d.allocate(16);
        auto f = d.allocate(16);
        auto s = as_participant(e, STALLED).allocate(16);
        if (!m || !o || !f || !s || !d.free(*f)) return;
        box.block = *m;
        orphan = *o;
        h = *s;
        // D's allocation, cut short: F announced in D's transit slot, a heal counted, F popped.
        Transit<Ctx>::hold_w(e.ctx(), L::TRANSIT_SLOTS - 1).store(0xFFFFFFFFu, P::relaxed);
        e.ctx().seg_w(seg::HEALS_RUNNING).fetch_add(1, P::relaxed);
        ok_setup = e.lists().pop(Env<P, G>::MIN_CLASS).block == *f;
    }
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        if (i == 0) {
            rec = recover_as(e, RECOVERER, /*force=*/true);
            box.post(e, DONE);
            return;
        }
        woke = box.wait_for(e, DONE, WAIT_TRIES);
        if (!woke) return;  // recover has not finished: nobody may work during it
        auto heap = e.heap;
        if constexpr (A == After::resume) {
            heap = e.heap.as_participant(STALLED + 1);
            freed = static_cast<bool>(heap.free(h));
        } else {
            slot = Registry<Ctx>(e.ctx()).enroll(ident(NEWCOMER_PID), alive_unless_dead);
            if (slot == Registry<Ctx>::NONE) return;
            heap = e.heap.as_participant(slot + 1);
        }
        auto r = heap.allocate(16);
        if (!r) {
            failed = true;
            error = r.error().code;
            return;
        }
        got = *r;
        e.hold(got, 2, 2);
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup: D popped F");
        o.expect(rec.ok, "recover (forced) succeeds");
        o.expect(rec.orphans == 1 && rec.reclaimed && rec.leaked == 0, "recover reclaims D's block and nothing leaks");
        o.expect(rec.transit_reset == 1 && rec.heals_reset == 1, "recover resets D's transit count and heal count");
        const std::uint64_t d_slot = Registry<Ctx>(e.ctx()).read(DEAD);
        o.expect(d_slot == 0 || (A == After::attach && slot == DEAD), "recover clears D's slot (a newcomer may take it)");
        if (woke) {
            if constexpr (A == After::resume) {
                o.expect(freed, "the resumed participant frees its block");
            } else {
                o.expect(slot != Registry<Ctx>::NONE, "the newcomer gets a slot (two are free after recover)");
            }
            o.expect(!failed, "allocation after recover failed, although memory is free and listed");
            o.expect(got == 0 || e.check_fill(got, 2), "fill intact");
            o.expect(got == 0 || allocated_by(e, got) == (A == After::resume ? STALLED : slot) + 1,
                     "the block records its allocator's slot");
        }
        verify_and_reclaim(e, o, {got, box.block, freed ? 0u : h});
    }
};

template <AtomicPolicy P, Geometry G>
using RecoverThenResume = RecoverThen<P, G, After::resume>;
template <AtomicPolicy P, Geometry G>
using RecoverThenAttach = RecoverThen<P, G, After::attach>;

// Two attachers enroll at once (Registry::enroll, as the handler does): slots 0 and 1 are live,
// slot 2 names a dead participant (with a live block O), slot 3 is free. Both claim slot 3 (one
// CAS wins, @RG.claim); the loser finds no free slot and takes over slot 2 (@RG.takeover). Each
// gets its own slot and allocates a block recording it.
template <AtomicPolicy P, Geometry G>
struct ClaimVsTakeover {
    using Ctx = typename Env<P, G>::H::Ctx;
    static constexpr int THREADS = 2;
    static constexpr std::uint32_t BLOCKS = 4;
    static constexpr std::uint32_t DEAD = 2, FREE_SLOT = 3, LIVE_PID = 300, NEWCOMER_PID = 310;
    std::uint32_t orphan = 0, slot[2]{Registry<Ctx>::NONE, Registry<Ctx>::NONE}, got[2]{};
    bool ok_setup = false;

    void setup(Env<P, G>& e) {
        const Registry<Ctx> reg(e.ctx());
        if (reg.claim(ident(LIVE_PID)) != 0 || reg.claim(ident(LIVE_PID + 1)) != 1 || reg.claim(ident(DEAD_PID)) != DEAD) return;
        auto o = as_participant(e, DEAD).allocate(16);
        ok_setup = static_cast<bool>(o);
        if (ok_setup) orphan = *o;
    }
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        slot[i] = Registry<Ctx>(e.ctx()).enroll(ident(NEWCOMER_PID + i), alive_unless_dead);
        if (slot[i] == Registry<Ctx>::NONE) return;
        auto r = as_participant(e, slot[i]).allocate(16);
        if (!r) return;
        got[i] = *r;
        e.hold(got[i], i + 1, i + 1);
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup");
        const Registry<Ctx> reg(e.ctx());
        o.expect((slot[0] == FREE_SLOT && slot[1] == DEAD) || (slot[0] == DEAD && slot[1] == FREE_SLOT),
                 "one attacher claims the free slot, the other takes over the dead one");
        for (std::uint32_t i = 0; i < 2; ++i) {
            if (slot[i] == Registry<Ctx>::NONE) continue;
            o.expect(reg.read(slot[i]) == ident(NEWCOMER_PID + i), "a slot holds the identity of its winner");
            o.expect(got[i] != 0, "an enrolled attacher allocates");
            o.expect(got[i] == 0 || allocated_by(e, got[i]) == slot[i] + 1, "the block records its allocator's slot");
            o.expect(got[i] == 0 || e.check_fill(got[i], i + 1), "fill intact");
        }
        verify_and_reclaim(e, o, {got[0], got[1], orphan});
    }
};

}  // namespace amx::scenario
