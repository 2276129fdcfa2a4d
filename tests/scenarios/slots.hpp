// Scenarios on the transit slots themselves (core/slot_directory.hpp): a slot given back and
// claimed again, and a dead participant's slot released by recover() and claimed by a newcomer.
// The claims go through TransitClaims, the shared-memory half of SlotDirectory (its process-local
// half, a thread_local cache and a mutex, cannot run under the model checker). A slot's count makes
// the generations of the blocks allocated through it (core/transit.hpp): a claimer that does not
// continue its previous owner's count makes a generation again, and a stale handle of the earlier
// block would be taken for the new one.
#pragma once
#include <cstdint>

#include "amx/core/slot_directory.hpp"
#include "recovery.hpp"

namespace amx::scenario {

// One allocation counted through slot s, as Heap::allocate counts one (Transit::generation, then
// leave); returns the generation it made.
template <class E>
std::uint32_t count_allocation(const E& e, std::uint32_t s) {
    Transit<typename E::H::Ctx> t(e.ctx(), s);
    const std::uint32_t g = t.generation();
    t.leave();
    return g;
}

// T0 claims the one free slot, counts an allocation through it, gives it back (@TR.release) and
// posts "done" (relaxed); T1, once it sees "done", claims (the same slot, unless it reads the
// owner word stale and falls on the overflow line) and counts an allocation. The claim must
// continue T0's count: only @TR.release and @TR.claim's acquire order T0's count before T1's
// reading of it (the channel adds nothing).
template <AtomicPolicy P, Geometry G>
struct SlotHandover {
    using Ctx = typename Env<P, G>::H::Ctx;
    using Claims = TransitClaims<Ctx>;
    static constexpr int THREADS = 2;
    static constexpr std::uint32_t BLOCKS = 3;
    static constexpr std::uint32_t DONE = 1;
    static constexpr int WAIT_TRIES = 64;
    Mailbox<P, G> box;
    std::uint32_t slot[2]{Transit<Ctx>::OVERFLOW_SLOT, Transit<Ctx>::OVERFLOW_SLOT}, gen[2]{};
    bool ok_setup = false, woke = false;

    void setup(Env<P, G>& e) {
        ok_setup = box.open(e.heap);
        take_slots_but(e, 1);
    }
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        if (i == 1) {
            woke = box.wait_for(e, DONE, WAIT_TRIES);
            if (!woke) return;
        }
        slot[i] = Claims::claim(e.ctx(), static_cast<std::uint64_t>(i + 1));
        gen[i] = count_allocation(e, slot[i]);
        if (slot[i] != Transit<Ctx>::OVERFLOW_SLOT) Claims::release(e.ctx(), slot[i]);
        if (i == 0) box.post(e, DONE);
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup");
        o.expect(slot[0] != Transit<Ctx>::OVERFLOW_SLOT, "T0 claims the free slot");
        if (woke) {
            o.expect(gen[1] != gen[0], "T1 claimed the slot T0 gave back but made T0's generation again: "
                                       "its count did not continue T0's (@TR.release / @TR.claim)");
        }
        for (const std::uint32_t s : slot) {
            if (s != Transit<Ctx>::OVERFLOW_SLOT) o.expect(Transit<Ctx>::owner_w(e.ctx(), s).load(P::relaxed) == 0, "a slot given back is free");
        }
        verify_and_reclaim(e, o, {box.block});
    }
};

// A dead participant's slot, released by recover and claimed by a newcomer. T0 is participant D
// (registry slot 0, dead by alive_unless_dead): it claims the one free slot, counts an allocation
// and dies there, holding the slot; its death reaches T1 as a reaper learns of one (the mailbox
// with release/acquire: waitpid synchronises). T1 runs recover (forced), which releases D's slot
// (@RC.slot), then posts "done" (relaxed). T2, a newcomer that sees "done", claims a slot and
// counts an allocation: in D's slot it must continue D's count, which only @RC.slot and
// @TR.claim's acquire make visible to it.
template <AtomicPolicy P, Geometry G>
struct RecoverFreesSlot {
    using Ctx = typename Env<P, G>::H::Ctx;
    using Claims = TransitClaims<Ctx>;
    static constexpr int THREADS = 3;
    static constexpr std::uint32_t BLOCKS = 3;
    static constexpr std::uint32_t DEAD = 0, RECOVERER = 1, RECOVERER_PID = 401;
    static constexpr std::uint32_t DIED = 1, DONE = 2;
    static constexpr int WAIT_TRIES = 64;
    Mailbox<P, G> box;
    std::uint32_t slot[3]{Transit<Ctx>::OVERFLOW_SLOT, Transit<Ctx>::OVERFLOW_SLOT, Transit<Ctx>::OVERFLOW_SLOT};
    std::uint32_t gen[3]{};
    RecoverFigures rec;
    bool ok_setup = false, woke = false;

    void setup(Env<P, G>& e) {
        const Registry<Ctx> reg(e.ctx());
        if (reg.claim(ident(DEAD_PID)) != DEAD || reg.claim(ident(RECOVERER_PID)) != RECOVERER) return;
        ok_setup = box.open(as_participant(e, RECOVERER));
        take_slots_but(e, 1);
    }
    void thread(Env<P, G>& e, int i) {
        if (!ok_setup) return;
        if (i == 0) {
            slot[0] = Claims::claim(e.ctx(), (std::uint64_t{DEAD + 1} << 32) | 1);
            gen[0] = count_allocation(e, slot[0]);
            box.post(e, DIED, P::release);  // D dies holding its slot
        } else if (i == 1) {
            if (!box.wait_for(e, DIED, WAIT_TRIES, P::acquire)) return;
            rec = recover_as(e, RECOVERER, /*force=*/true);
            box.post(e, DONE);
        } else {
            woke = box.wait_for(e, DONE, WAIT_TRIES);
            if (!woke) return;
            slot[2] = Claims::claim(e.ctx(), 3);
            gen[2] = count_allocation(e, slot[2]);
        }
    }
    void check(Env<P, G>& e, Outcome& o) {
        o.expect(ok_setup, "setup");
        o.expect(slot[0] != Transit<Ctx>::OVERFLOW_SLOT, "D claims the free slot");
        if (rec.ran) {
            o.expect(rec.ok, "recover (forced) succeeds");
            o.expect(rec.slots_released == 1, "recover releases the slot of the dead participant, and only it");
        }
        if (woke) {
            o.expect(gen[2] != gen[0], "a newcomer in the slot recover released made the dead participant's "
                                       "generation again: its claim did not see the slot's count (@RC.slot / @TR.claim)");
        }
        verify_and_reclaim(e, o, {box.block});
    }
};

}  // namespace amx::scenario
