// Scenarios about what the allocator itself publishes, independent of how users synchronise, and
// about the out-of-memory decision (docs/PROTOCOL.md PUB1, §6).
//
// Hand-offs go through a *relaxed* user channel: a payload word of a mailbox block, written and read
// with relaxed operations, so the channel adds no happens-before. Whatever the receiver then does
// with the offset (inspect it, free it, read its state) must still see the header as the allocator
// left it: that is the job of @AL.publish / @ST.store (release) and @FR.claim / @ST.load (acquire),
// and only they can provide it here.
#pragma once
#include <cstdint>

#include "amx/core/slot_directory.hpp"
#include "amx/errc.hpp"
#include "heap_ops.hpp"

namespace amx::scenario {

enum class Receiver { inspect, free };

// T0 allocates a 64-byte block, which splits the free block X (192 bytes, the end of the segment)
// and rewrites its size, and posts the offset; T1 receives it and either inspects it (live_payload:
// @ST.load) or frees it (@FR.claim). A freer that read X's size from before the split would find no
// right neighbour and file the block under the class of 192 bytes (FL4; TinyGeometry classes are
// {48}, {64..95}, {96..}). A receiver may read a state from before the allocation and be refused
// (the channel is relaxed, so it may be early), but one that sees the block live must see its new
// size.   segment: M (mailbox, 48) | X (192, free)
template <AtomicPolicy P, Geometry G, Receiver R>
struct AllocHandoff {
    static constexpr int THREADS = 2;
    static constexpr std::uint32_t BLOCKS = 5;
    static constexpr std::uint32_t PAYLOAD = 32;  // a 64-byte block: X is split 64 + 128
    static constexpr int TRIES = 64;
    Mailbox<P, G> box;
    std::uint32_t got = 0, received = 0, payload = 0;
    bool ok_setup = false, inspected = false, freed = false;

    void setup(Env<P, G>& e) {
        auto m = e.heap.allocate(16);  // the rest of the segment is X
        ok_setup = static_cast<bool>(m);
        if (ok_setup) box.block = *m;
    }
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        if (i == 0) {
            auto h = e.heap.allocate(PAYLOAD);
            if (!h) return;
            got = *h;
            box.post(e, got);
            return;
        }
        received = box.receive(e, TRIES);
        if (received == 0) return;
        if constexpr (R == Receiver::inspect) {
            auto n = e.heap.live_payload(received);
            inspected = static_cast<bool>(n);
            if (n) payload = *n;
        } else {
            freed = static_cast<bool>(e.heap.free(received));
        }
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup");
        o.expect(got != 0, "the allocation succeeds (X fits)");
        o.expect(received == 0 || received == got, "the channel carries the allocated offset");
        if (inspected) o.expect(payload == PAYLOAD, "inspect saw the block live but not its size after the split (PUB1)");
        verify_and_reclaim(e, o, {freed ? 0u : got, box.block});
    }
};

template <AtomicPolicy P, Geometry G>
using AllocHandoffInspect = AllocHandoff<P, G, Receiver::inspect>;
template <AtomicPolicy P, Geometry G>
using AllocHandoffFree = AllocHandoff<P, G, Receiver::free>;

// A hand-off through the block state with the core's default orderings (what the handler's calls
// without an order use). T0 fills a block it allocated in setup and publishes it as READY; T1 polls
// until it takes it and then reads the payload: every word T0 wrote before publishing must be there.
//   Via::set_get     - T0 set_state(READY) (@ST.store release), T1 get_state() == READY
//                      (@ST.get acquire);
//   Via::transition  - T0 transition_state(ALLOCATED -> READY), T1 transition_state(READY ->
//                      TAKEN), both @ST.transition acq_rel (T0's CAS releases, T1's acquires).
enum class Via { set_get, transition };

template <AtomicPolicy P, Geometry G, Via V>
struct UserStateHandoff {
    static constexpr int THREADS = 2;
    static constexpr std::uint32_t BLOCKS = 3;
    static constexpr std::uint32_t READY = 50, TAKEN = 51;
    static constexpr int TRIES = 8;
    std::uint32_t x = 0;
    bool ok_setup = false, published = false, taken = false, fill_ok = true;

    void setup(Env<P, G>& e) {
        auto r = e.heap.allocate(16);
        ok_setup = static_cast<bool>(r);
        if (ok_setup) x = *r;
    }
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        if (i == 0) {
            e.fill(x, 7);
            published = V == Via::set_get ? static_cast<bool>(e.heap.set_state(x, READY))
                                          : static_cast<bool>(e.heap.transition_state(x, STATE_ALLOCATED, READY));
            return;
        }
        for (int k = 0; k < TRIES && !taken; ++k) {
            taken = take(e);
            if (!taken) P::spin_hint();
        }
        if (taken) fill_ok = e.check_fill(x, 7);
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup");
        o.expect(published, "T0's state change of its live block succeeds");
        o.expect(fill_ok, "T1 took the block but not the payload written before the hand-off (@ST.*)");
        verify_and_reclaim(e, o, {x});
    }

private:
    bool take(const Env<P, G>& e) const {
        if constexpr (V == Via::set_get) {
            auto s = e.heap.get_state(x);
            return s && *s == READY;
        } else {
            return static_cast<bool>(e.heap.transition_state(x, READY, TAKEN));
        }
    }
};

template <AtomicPolicy P, Geometry G>
using StateHandoff = UserStateHandoff<P, G, Via::set_get>;
template <AtomicPolicy P, Geometry G>
using TransitionHandoff = UserStateHandoff<P, G, Via::transition>;

// STALE-STATE: two consumers, T0 and T1, hold one handle (x, generation g0) to a READY message. Each
// tries transition_state(READY -> TAKEN) through it, and the winner frees x. T2, the producer, allocates
// once more (x comes back if the winner freed it in time, else the tail is split) and publishes the
// new allocation as READY. Exactly one consumer takes the first message, and no handle of g0 takes
// the second: layout version 2 compared the generation before the state CAS, in another word, so a
// consumer paused between the two took it (both consumers won). Version 3's CAS compares the state
// pair (PROTOCOL.md §9). Deterministic form: Regression.StaleState_* (interleave_test). The producer
// is the last thread so that the context-bounded search (full tier) meets the race early: with
// version 2's order (mutant state-cas-any-generation) at execution 465 of bound 2, against 889,713
// with the producer first; the random quick tier did not meet it in 500,000 executions.
template <AtomicPolicy P, Geometry G>
struct StaleTransition {
    static constexpr int THREADS = 3;
    static constexpr std::uint32_t BLOCKS = 4;  // x, k (keeps x from merging right), a 2-block tail
    static constexpr std::uint32_t READY = 50, TAKEN = 51;
    std::uint32_t b[2]{}, g0 = 0, again = 0, g1 = 0;
    bool ok_setup = false, republished = false;
    bool won[THREADS]{}, freed[THREADS]{};

    void setup(Env<P, G>& e) {
        ok_setup = allocate_n(e, b, 16);
        if (!ok_setup) return;
        g0 = e.heap.generation(b[0]);
        ok_setup = static_cast<bool>(e.heap.set_state(b[0], READY, g0));
    }
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        if (i == 2) {
            auto r = e.heap.allocate(16);
            if (!r) return;
            again = *r;
            g1 = e.heap.generation(again);
            republished = static_cast<bool>(e.heap.set_state(again, READY, g1));
            return;
        }
        won[i] = static_cast<bool>(e.heap.transition_state(b[0], READY, TAKEN, g0));
        if (won[i]) freed[i] = static_cast<bool>(e.heap.free(b[0], g0));
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup");
        o.expect(won[0] != won[1], "exactly one consumer takes the first message (STALE-STATE: both did)");
        o.expect(freed[0] || freed[1], "the winner frees the block it took");
        o.expect(republished, "the producer publishes its allocation");
        auto s = e.heap.get_state(again, g1);
        o.expect(s && *s == READY, "the producer's next message stays READY: no handle of g0 took it");
        const std::uint32_t held[] = {again, b[1]};
        verify_and_reclaim(e, o, held);
    }
};

// No spurious out_of_memory (U15, PROTOCOL.md §6): T1 allocates while T0 takes the only fitting
// free block F off its list for a moment and puts it back. F is free throughout (on its list or in
// T0's transit), so T1 must never be told out_of_memory.
//   Transient::heal  - T0 heals: detaches every list (F included) and re-files it (@FL.detach);
//   Transient::held  - T0 asks for a block bigger than F in F's class: its own-class scan pops F
//                      (@FL.pop.cas), holds it, finds it too small and pushes it back; T0's own
//                      out_of_memory is legitimate.
enum class Transient { heal, held };

template <AtomicPolicy P, Geometry G, Transient T>
struct NoSpuriousOom {
    static constexpr int THREADS = 2;
    static constexpr std::uint32_t BLOCKS = 4;
    // F: 64 bytes for `held` (class {64..95}; a request of 48 bytes needs 80 and searches above it),
    // a minimal block for `heal`.
    static constexpr std::uint32_t F_PAYLOAD = T == Transient::held ? 32 : 16;
    std::uint32_t f = 0, others[3]{}, got = 0, t0_got = 0;
    bool ok_setup = false, t0_failed = false, t1_failed = false;
    Errc t0_error{}, t1_error{};

    void setup(Env<P, G>& e) {
        auto rf = e.heap.allocate(F_PAYLOAD);
        auto r1 = e.heap.allocate(16);
        auto r2 = e.heap.allocate(16);  // for `heal`: the rest is one more minimal block
        if (!rf || !r1 || !r2) return;
        f = *rf;
        others[0] = *r1;
        others[1] = *r2;
        if constexpr (T == Transient::heal) {
            auto r3 = e.heap.allocate(16);
            if (!r3) return;
            others[2] = *r3;
        }
        ok_setup = static_cast<bool>(e.heap.free(f)) && stats(e.heap).free_blocks == 1;
    }
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        if (i == 0) {
            if constexpr (T == Transient::heal) {
                e.heap.heal();
            } else {
                auto r = e.heap.allocate(48);  // needs 80 bytes: nothing that large exists
                if (r) t0_got = *r;
                else { t0_failed = true; t0_error = r.error().code; }
            }
            return;
        }
        auto r = e.heap.allocate(F_PAYLOAD);
        if (!r) {
            t1_failed = true;
            t1_error = r.error().code;
            return;
        }
        got = *r;
        e.hold(got, 2, 2);
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup: exactly one free block");
        o.expect(!(t1_failed && t1_error == Errc::out_of_memory), "spurious out_of_memory: F was free throughout");
        o.expect(got == f, "T1 gets F (it is the only block that fits)");
        if constexpr (T == Transient::held) {
            o.expect(t0_got == 0, "T0's oversized request got a block: nothing that large exists");
            o.expect(!t0_failed || t0_error == Errc::out_of_memory || t0_error == Errc::contention,
                     "T0's oversized request fails with out_of_memory (or contention), nothing else");
        }
        o.expect(got == 0 || e.check_fill(got, 2), "fill intact");
        verify_and_reclaim(e, o, {got, others[0], others[1], others[2]});
    }
};

template <AtomicPolicy P, Geometry G>
using NoSpuriousOomHeal = NoSpuriousOom<P, G, Transient::heal>;
template <AtomicPolicy P, Geometry G>
using NoSpuriousOomHeld = NoSpuriousOom<P, G, Transient::held>;

// The out-of-memory decision against a participant that holds the only free block, driven at list
// level so the holder's timing is the scenario's choice rather than luck: T0 pops F (the only free
// block; the pop announces it in T0's transit slot) and keeps it; T1 allocates. Three variants:
//   Hold::across  - T0 keeps F until T1's allocation returned (a participant preempted while
//                   holding). T1 may fail with contention, never with out_of_memory: F is in
//                   transit throughout. Only @FL.pop.cas's release tells T1's decision that F is
//                   announced when it sees F's list without F.
//   Hold::before  - T0 pops F, finds the list empty and clears its bit (as a search does), pushes F
//                   back and clears its announcement, then posts "done"; T1 waits for it and
//                   allocates. F is listed throughout T1's call, so T1 must get it. A decision that
//                   read T0's cleared slot (@TR.leave / @TR.scan) must also see F back.
//   Hold::churn   - T0 repeats {pop F, push F, clear} CHURN times while T1 allocates. F is listed
//                   or in transit throughout; a pop and push that both fall inside T1's decision
//                   change F's head tag between its two readings of the heads (PROTOCOL.md §6).
//   Hold::after_heal - T0 pops F and keeps it until T1 has healed (T1's decisions are vetoed by
//                   F's announcement until half its retry budget is spent, then it heals anyway),
//                   then pushes F back and clears its slot. T1's decisions after the heal decide
//                   out_of_memory for good: one that read the heads while F was out and the slot
//                   after T0 cleared it must read the heads again (H2) and find F's push.
//   Hold::churn_after_heal - the same, then T0 cycles F CHURN_AFTER_HEAL more times {push, leave,
//                   pop} while T1 decides: a decision whose H reads a head T0's latest pop left
//                   must see that pop's announcement (@OM.heads acquire), not an older cleared word.
// Line::overflow puts T0 on the overflow line: setup takes every transit slot (take_slots_but), so T0's
// claim (TransitClaims) finds none; under real threads T1's own first claim finds none either, and
// its decision counts itself out of the line (@TR.hold.overflow, @TR.leave.overflow).
enum class Hold { across, before, churn, after_heal, churn_after_heal };
enum class Line { own, overflow };

template <AtomicPolicy P, Geometry G, Hold H, Line W = Line::own>
struct OomDecision {
    static constexpr int THREADS = 2;
    static constexpr std::uint32_t BLOCKS = 3;
    static constexpr int WAIT_TRIES = 4096;  // T0 waiting for T1's DONE (across) or heal (*after_heal)
    static constexpr int CHURN = 64;
    static constexpr int CHURN_AFTER_HEAL = 16;
    static constexpr std::uint32_t HOLDING = 1, DONE = 2;
    Mailbox<P, G> box;
    std::uint32_t f = 0, other = 0, popped = 0, got = 0, signal_seen = 0, heals_before = 0;
    static constexpr std::uint32_t NO_LINE = ~0u;
    std::uint32_t line = NO_LINE;  // T0's transit slot
    bool ok_setup = false, failed = false;
    Errc error{};

    void setup(Env<P, G>& e) {
        auto m = e.heap.allocate(16);
        auto rf = e.heap.allocate(16);
        auto ro = e.heap.allocate(16);
        if (!m || !rf || !ro) return;
        box.block = *m;
        f = *rf;
        other = *ro;
        ok_setup = static_cast<bool>(e.heap.free(f)) && stats(e.heap).free_blocks == 1;
        if constexpr (W == Line::overflow) take_slots_but(e, 0);
        // Exact bitmaps: otherwise T1's search pops a stale-marked empty class, and the clear that
        // follows synchronises it with T0's last push through the shared bitmap word, whatever
        // the transit words do.
        exact_bitmaps(e);
        heals_before = heals(e);
    }
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        if (i == 0) {
            for (int k = 0; k < cycles(); ++k) hold_f(e);
            return;
        }
        signal_seen = box.receive(e, 64);  // HOLDING (across) or DONE (before), if it comes soon
        auto r = e.heap.allocate(16);
        if (r) got = *r;
        else { failed = true; error = r.error().code; }
        if constexpr (H == Hold::across) box.post(e, DONE);
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup: exactly one free block");
        o.expect(popped == f || got == f, "T0 pops F, unless T1 took it first");
        o.expect(!(failed && error == Errc::out_of_memory), "spurious out_of_memory: F was in transit or listed throughout");
        if constexpr (W == Line::overflow) o.expect(line == Transit<typename Env<P, G>::H::Ctx>::OVERFLOW_SLOT, "every slot is taken: T0 uses the overflow line");
        if constexpr (H == Hold::before) {
            if (signal_seen == DONE) o.expect(got == f, "F was listed throughout the allocation: it must be found");
        } else if constexpr (H == Hold::across) {
            o.expect(got == 0 || got == f, "T1 got F (only after T0 gave it back)");
            o.expect(got != 0 || (failed && error == Errc::contention), "while F is held, allocation may only fail with contention");
        }
        verify_and_reclaim(e, o, {got, other, box.block});
    }

private:
    using Ctx = typename Env<P, G>::H::Ctx;
    // T0's slot, chosen at its first operation: the policy's (Heap::thread_slot), or a claim.
    std::uint32_t t0_slot(const Env<P, G>& e) {
        if (line == NO_LINE) line = W == Line::overflow ? TransitClaims<Ctx>::claim(e.ctx(), 1) : e.heap.thread_slot();
        return line;
    }
    static constexpr int cycles() {
        if constexpr (H == Hold::churn) return CHURN;
        if constexpr (H == Hold::churn_after_heal) return CHURN_AFTER_HEAL;
        return 1;
    }
    void hold_f(Env<P, G>& e) {
        const std::uint32_t cls = Env<P, G>::MIN_CLASS;
        Transit<Ctx> transit(e.ctx(), t0_slot(e));
        const FreeLists<Ctx> lists(e.ctx(), &transit);  // the pop announces F in T0's slot
        const PopResult p = lists.pop(cls);
        if (p.status != PopStatus::got) return;
        popped = p.block;
        if constexpr (H == Hold::churn || H == Hold::churn_after_heal) P::spin_hint();  // let T1 run while F is out
        if constexpr (H == Hold::before) {
            // A search that finds F's list empty now clears its bit, as allocate's search does
            // (bitmaps.hpp): so a later reader may see the bit clear, not only the list empty.
            if (lists.pop(cls).status == PopStatus::empty) lists.bitmaps().mark_maybe_empty(cls);
        }
        if constexpr (H == Hold::across) {
            box.post(e, HOLDING);
            for (int k = 0; k < WAIT_TRIES && box.receive(e, 1) != DONE; ++k) P::spin_hint();
        }
        if constexpr (H == Hold::after_heal || H == Hold::churn_after_heal) {
            for (int k = 0; k < WAIT_TRIES && heals(e) == heals_before; ++k) give_way<P>();
        }
        lists.push(cls, popped);
        transit.leave();
        if constexpr (H == Hold::before) box.post(e, DONE);
    }
};

template <AtomicPolicy P, Geometry G>
using OomWhileHeld = OomDecision<P, G, Hold::across>;
template <AtomicPolicy P, Geometry G>
using OomAfterRelease = OomDecision<P, G, Hold::before>;
template <AtomicPolicy P, Geometry G>
using OomChurn = OomDecision<P, G, Hold::churn>;
template <AtomicPolicy P, Geometry G>
using OomReleaseAfterHeal = OomDecision<P, G, Hold::after_heal>;
template <AtomicPolicy P, Geometry G>
using OomChurnAfterHeal = OomDecision<P, G, Hold::churn_after_heal>;
template <AtomicPolicy P, Geometry G>
using OomWhileHeldOverflow = OomDecision<P, G, Hold::across, Line::overflow>;
template <AtomicPolicy P, Geometry G>
using OomAfterReleaseOverflow = OomDecision<P, G, Hold::before, Line::overflow>;

// A decider that takes its block (issue 15): the decisive attempt (Heap::decisive_miss) finds a
// fitting block and must keep it announced until it is published (@AL.publish, then @TR.leave),
// or another decider can find every list empty and no announcement while it is held. T0 takes F
// (96 bytes, the only free block) off its list and keeps it for HOLD_YIELDS turns (the allocators
// miss and decide meanwhile, and are vetoed: an allocation heals only after a decisive miss nobody
// vetoes), then puts it back, where a decisive attempt may get it. T1 and T2 each allocate 16 bytes
// (48-byte blocks): F holds both (the first splits it and pushes the remainder, which fits the
// second), so neither may be told out_of_memory.   segment: A | F (96)
template <AtomicPolicy P, Geometry G>
struct DecisiveTake {
    using Ctx = typename Env<P, G>::H::Ctx;
    static constexpr int THREADS = 3;
    static constexpr std::uint32_t BLOCKS = 3;
    static constexpr int HOLD_YIELDS = 16;
    std::uint32_t a = 0, f = 0, f_cls = 0, got[3]{};
    bool ok_setup = false, failed[3]{};
    Errc error[3]{};

    void setup(Env<P, G>& e) {
        auto ra = e.heap.allocate(16);
        auto rf = e.heap.allocate(64);  // the rest: 96 bytes
        if (!ra || !rf) return;
        a = *ra;
        f = *rf;
        f_cls = SizeClasses<G>::mapping_insert(e.ctx().size_w(f).load(P::relaxed));
        ok_setup = static_cast<bool>(e.heap.free(f)) && stats(e.heap).free_blocks == 1;
        exact_bitmaps(e);
    }
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        if (i == 0) {
            hold_f_a_while(e);
            return;
        }
        auto r = e.heap.allocate(16);
        if (!r) {
            failed[i] = true;
            error[i] = r.error().code;
            return;
        }
        got[i] = *r;
        e.hold(got[i], static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i));
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup: exactly one free block");
        for (int i = 1; i < THREADS; ++i) {
            o.expect(!(failed[i] && error[i] == Errc::out_of_memory),
                     "spurious out_of_memory: F (or its remainder) was listed or announced throughout");
            o.expect(got[i] != 0 || error[i] == Errc::contention, "an allocation fails only with contention");
            o.expect(got[i] == 0 || e.check_fill(got[i], static_cast<std::uint32_t>(i)), "fill intact");
        }
        o.expect(got[1] == 0 || got[1] != got[2], "distinct blocks");
        verify_and_reclaim(e, o, {got[1], got[2], a});
    }

private:
    void hold_f_a_while(Env<P, G>& e) {
        Transit<Ctx> transit(e.ctx(), e.heap.thread_slot());
        const FreeLists<Ctx> lists(e.ctx(), &transit);  // the pop announces F in T0's slot
        if (lists.pop(f_cls).status != PopStatus::got) return;  // an allocator was first
        for (int k = 0; k < HOLD_YIELDS; ++k) give_way<P>();
        lists.push(f_cls, f);
        transit.leave();
    }
};

}  // namespace amx::scenario
