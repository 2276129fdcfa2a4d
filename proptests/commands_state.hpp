// State and segment commands of the rc::state test: SetState, Transition (P10, P11), Heal (CO1),
// Stats (P4), Reattach (a second mapping at another base address) and Unlink.
#pragma once
#include <rapidcheck.h>
#include <rapidcheck/state.h>

#include <cstdint>
#include <ostream>

#include "commands.hpp"

namespace amx::prop {

// P10: reserved states (0..48) are refused; a user state replaces the live block's state.
struct SetState : Cmd {
    std::uint32_t id, state;
    explicit SetState(const Model& m) : id(pick_live(m)), state(*gen_state()) {}
    void checkPreconditions(const Model& m) const override { RC_PRE(m.live.count(id) == 1u); }
    void apply(Model& m) const override {
        if (is_user_state(state)) m.live.at(id).state = state;
    }
    void run(const Model& s0, Sut& sut) const override {
        auto r = sut.h.set_state(Block<std::byte>{sut.payload.at(id)}, state);
        if (is_user_state(state)) {
            if (!r) RC_FAIL("set_state to a user state refused: " + r.error().message());
            cover(K_SET_STATE_OK);
        } else {
            RC_ASSERT(!r.has_value());
            RC_ASSERT(r.error().code == Errc::reserved_status);
            cover(K_SET_STATE_RESERVED);
        }
        sut.after(nextState(s0));
    }
    void show(std::ostream& os) const override { os << "SetState(#" << id << ", " << state << ")"; }
};

// P11: a transition is a CAS on the state word: it succeeds iff the state equals `expected`, and
// on failure reports the state it found. A reserved target or a non-live expected state is refused.
struct Transition : Cmd {
    std::uint32_t id, expected, next;
    explicit Transition(const Model& m) : id(pick_live(m)), next(*gen_state()) {
        const std::uint32_t current = id == 0 ? STATE_ALLOCATED : m.live.at(id).state;
        expected = *rc::gen::weightedOneOf<std::uint32_t>(
            {{3, rc::gen::just(current)}, {1, rc::gen::just(STATE_ALLOCATED)}, {2, gen_state()}});
    }
    void checkPreconditions(const Model& m) const override { RC_PRE(m.live.count(id) == 1u); }
    bool refused() const { return !is_user_state(next) || !is_live_state(expected); }
    void apply(Model& m) const override {
        auto& b = m.live.at(id);
        if (!refused() && b.state == expected) b.state = next;
    }
    void run(const Model& s0, Sut& sut) const override {
        const std::uint32_t current = s0.live.at(id).state;
        auto r = sut.h.transition_state(Block<std::byte>{sut.payload.at(id)}, expected, next);
        if (refused()) {
            RC_ASSERT(!r.has_value());
            RC_ASSERT(r.error().code == Errc::reserved_status);
            cover(K_TRANSITION_RESERVED);
        } else if (current == expected) {
            RC_ASSERT(r.has_value());
            RC_ASSERT(*r == expected);
            cover(K_TRANSITION_OK);
        } else {
            RC_ASSERT(!r.has_value());
            RC_ASSERT(r.error().code == Errc::transition_failed);
            RC_ASSERT(r.error().found == std::uint64_t{current});
            cover(K_TRANSITION_FAILED);
        }
        sut.after(nextState(s0));
    }
    void show(std::ostream& os) const override {
        os << "Transition(#" << id << ", " << expected << " -> " << next << ")";
    }
};

// CO1: in single-threaded use, after heal no two adjacent blocks are free.
struct Heal : Cmd {
    explicit Heal(const Model&) {}
    void run(const Model& s0, Sut& sut) const override {
        const auto hr = sut.h.heal();
        RC_ASSERT(hr && !hr->corrupt);
        const VerifyReport rep = sut.h.verify(VerifyMode::after_heal);
        if (!rep.ok()) RC_FAIL("CO1 after heal: " + rep.to_string());
        if (s0.live.empty()) RC_ASSERT(rep.blocks == 1u);  // P6: all free + heal = one block
        cover(K_HEAL);
        sut.after(s0);
    }
    void show(std::ostream& os) const override { os << "Heal"; }
};

// P4: the walker's figures agree with verify() and the model (after() checks the counts).
struct StatsCmd : Cmd {
    explicit StatsCmd(const Model&) {}
    void run(const Model& s0, Sut& sut) const override {
        const Stats st = sut.h.stats();
        const VerifyReport rep = sut.h.verify();
        RC_ASSERT(st.blocks == rep.blocks);
        RC_ASSERT(st.free_blocks == rep.free_blocks);
        RC_ASSERT(st.blocks == st.free_blocks + st.allocated_blocks + st.user_state_blocks);
        RC_ASSERT(std::uint64_t{st.largest_free} <= st.free_bytes);
        RC_ASSERT(st.allocated_blocks + st.user_state_blocks == s0.live.size());
        cover(K_STATS);
        sut.after(s0);
    }
    void show(std::ostream& os) const override { os << "Stats"; }
};

// Maps the segment a second time at another address and continues there; offsets (handles) keep
// their meaning and payloads read back through the new base (checked by after()).
struct Reattach : Cmd {
    explicit Reattach(const Model&) {}
    void apply(Model& m) const override { ++m.mappings; }
    void run(const Model& s0, Sut& sut) const override {
        auto again = sut.h.mapping()->map_again();
        if (!again) RC_FAIL("map_again: " + again.error().message());
        auto h2 = MatrixHandler::from_mapping(*again);
        if (!h2) RC_FAIL("from_mapping: " + h2.error().message());
        RC_ASSERT(h2->raw_base_ptr() != sut.h.raw_base_ptr());
        // Move the old handler out first and let it die whole (claim released, then unmapped):
        // assigning over a live handler releases its claim through a mapping the assignment has
        // already dropped (found by this test; see docs/verification/prop.md, F1).
        MatrixHandler old = std::move(sut.h);
        sut.h = std::move(*h2);
        cover(K_REATTACH);
        sut.after(nextState(s0));
    }
    void show(std::ostream& os) const override { os << "Reattach"; }
};

// Unlinks the segment's name: idempotent, and mappings stay valid. (In-memory segments have no
// name, so the handler reports success and nothing else may change.)
struct Unlink : Cmd {
    explicit Unlink(const Model&) {}
    void apply(Model& m) const override { m.unlinked = true; }
    void run(const Model& s0, Sut& sut) const override {
        auto r = sut.h.die();
        if (!r) RC_FAIL("die: " + r.error().message());
        cover(K_UNLINK);
        sut.after(nextState(s0));
    }
    void show(std::ostream& os) const override { os << "Unlink"; }
};

}  // namespace amx::prop
