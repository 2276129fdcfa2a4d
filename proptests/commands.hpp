// Block commands of the rc::state test (commands_state.hpp: states, heal, segment). Each generates its arguments from the model in its constructor,
// admits itself in checkPreconditions (also while shrinking), updates the model in apply() from its
// arguments alone, and in run() drives the handler, compares the outcome with the model's
// prediction and ends with Sut::after (the per-command properties).
#pragma once
#include <rapidcheck.h>
#include <rapidcheck/state.h>

#include <algorithm>
#include <cstdlib>
#include <cstdint>
#include <ostream>
#include <vector>

#include "model.hpp"
#include "sut.hpp"

namespace amx::prop {

using Cmd = rc::state::Command<Model, Sut>;

// A live handle of the model (0 when there is none; the precondition then rejects the command).
inline std::uint32_t pick_live(const Model& m) {
    if (m.live.empty()) return 0;
    std::vector<std::uint32_t> ids;
    for (const auto& [id, b] : m.live) ids.push_back(id);
    return *rc::gen::elementOf(ids);
}

inline rc::Gen<std::uint32_t> gen_state() {
    return rc::gen::weightedOneOf<std::uint32_t>({
        {4, rc::gen::inRange<std::uint32_t>(USER_STATE_MIN, USER_STATE_MIN + 8)},
        {1, rc::gen::inRange<std::uint32_t>(USER_STATE_MIN, 0xFFFFFFFFu)},
        {2, rc::gen::inRange<std::uint32_t>(0, USER_STATE_MIN)},
    });
}

struct Alloc : Cmd {
    std::uint64_t n;
    explicit Alloc(const Model& m)
        : n(*rc::gen::weightedOneOf<std::uint64_t>({
              {8, rc::gen::inRange<std::uint64_t>(1, 65)},
              {4, rc::gen::inRange<std::uint64_t>(1, 800)},
              {1, rc::gen::inRange<std::uint64_t>(0, std::uint64_t{m.data_bytes} + 64)},
              {1, rc::gen::oneOf(rc::gen::just<std::uint64_t>(0),
                                 rc::gen::inRange<std::uint64_t>(m.data_bytes - 40, std::uint64_t{1} << 40))},
          })) {}
    void checkPreconditions(const Model& m) const override {
        RC_PRE(m.alloc_outcome(n) != AllocOutcome::undecided);
    }
    void apply(Model& m) const override {
        if (m.alloc_outcome(n) != AllocOutcome::ok) return;
        m.live[m.next_id++] = ModelBlock{n};
        m.stale.clear();
    }
    void run(const Model& s0, Sut& sut) const override {
        const AllocOutcome want = s0.alloc_outcome(n);
        auto r = sut.h.allocate_raw(n);
        if (want == AllocOutcome::ok) {
            if (!r) RC_FAIL("P7 allocation refused with " + r.error().message() + " although a free run must hold it");
            sut.payload[s0.next_id] = r->offset;
            sut.freed.clear();
            cover(K_ALLOC_OK);
        } else {
            RC_ASSERT(!r.has_value());
            const Errc code = want == AllocOutcome::invalid_size ? Errc::invalid_size : Errc::out_of_memory;
            // F3 (prop.md, fixed in 786347b): contention was answered where out_of_memory is due.
            RC_ASSERT(r.error().code == code);
            cover(want == AllocOutcome::invalid_size ? K_ALLOC_INVALID : K_ALLOC_OOM);
        }
        sut.after(nextState(s0));
    }
    void show(std::ostream& os) const override { os << "Alloc(" << n << ")"; }
};

struct Free : Cmd {
    std::uint32_t id;
    explicit Free(const Model& m) : id(pick_live(m)) {}
    void checkPreconditions(const Model& m) const override { RC_PRE(m.live.count(id) == 1u); }
    void apply(Model& m) const override {
        m.live.erase(id);
        m.stale.push_back(id);
    }
    void run(const Model& s0, Sut& sut) const override {
        auto r = sut.h.free_at(sut.header(id));
        if (!r) RC_FAIL("free of a live block refused: " + r.error().message());
        sut.freed[id] = sut.payload.at(id);
        sut.payload.erase(id);
        cover(K_FREE);
        sut.after(nextState(s0));
    }
    void show(std::ostream& os) const override { os << "Free(#" << id << ")"; }
};

// Frees at an offset that names no live block; every variant must be refused with invalid_offset
// and change nothing.
struct FreeAt : Cmd {
    enum Variant { misaligned, outside, interior, stale } variant;
    std::uint32_t id = 0;      // interior, stale: the handle the offset derives from
    std::uint32_t value = 0;   // misaligned, outside: the offset; interior: 16-byte steps in
    explicit FreeAt(const Model& m) : variant(*rc::gen::element(misaligned, outside, interior, stale)) {
        switch (variant) {
        case misaligned:
            value = *rc::gen::inRange<std::uint32_t>(0, MODEL_CAPACITY / 16) * 16 + *rc::gen::inRange<std::uint32_t>(1, 16);
            break;
        case outside:
            value = *rc::gen::oneOf(rc::gen::inRange<std::uint32_t>(0, 120),
                                    rc::gen::inRange<std::uint32_t>(MODEL_CAPACITY / 16, 0x0FFFFFFFu)) * 16;
            break;
        case interior:
            id = pick_live(m);
            value = *rc::gen::inRange<std::uint32_t>(1, 8);
            break;
        case stale:
            id = m.stale.empty() ? 0 : *rc::gen::elementOf(m.stale);
            break;
        }
    }
    void checkPreconditions(const Model& m) const override {
        if (variant == interior) {
            RC_PRE(m.live.count(id) == 1u);
            RC_PRE(16 * value < model_block_size(m.live.at(id).request));
        }
        if (variant == stale) RC_PRE(std::find(m.stale.begin(), m.stale.end(), id) != m.stale.end());
    }
    std::uint32_t offset(const Sut& sut) const {
        switch (variant) {
        case interior: return sut.header(id) + 16 * value;
        case stale: return sut.freed.at(id) - BLOCK_HEADER_SIZE;
        default: return value;
        }
    }
    void run(const Model& s0, Sut& sut) const override {
        auto r = sut.h.free_at(offset(sut));
        RC_ASSERT(!r.has_value());
        RC_ASSERT(r.error().code == Errc::invalid_offset);
        cover(static_cast<Kind>(K_FREE_AT_MISALIGNED + static_cast<int>(variant)));
        sut.after(nextState(s0));
    }
    void show(std::ostream& os) const override {
        static const char* names[] = {"misaligned", "outside", "interior", "stale"};
        os << "FreeAt(" << names[variant];
        if (variant == interior || variant == stale) os << " #" << id;
        if (variant != stale) os << " " << value;
        os << ")";
    }
};

struct Write : Cmd {
    std::uint32_t id, tag;
    explicit Write(const Model& m) : id(pick_live(m)), tag(*rc::gen::inRange<std::uint32_t>(1, 1u << 20)) {}
    void checkPreconditions(const Model& m) const override { RC_PRE(m.live.count(id) == 1u); }
    void apply(Model& m) const override { m.live.at(id).fill = tag; }
    void run(const Model& s0, Sut& sut) const override {
        test::fill(sut.at(sut.payload.at(id)), static_cast<std::uint32_t>(s0.live.at(id).request), tag);
        cover(K_WRITE);
        sut.after(nextState(s0));
    }
    void show(std::ostream& os) const override { os << "Write(#" << id << ", " << tag << ")"; }
};

struct Check : Cmd {
    std::uint32_t id;
    explicit Check(const Model& m) : id(pick_live(m)) {}
    void checkPreconditions(const Model& m) const override { RC_PRE(m.live.count(id) == 1u); }
    void run(const Model& s0, Sut& sut) const override {
        const ModelBlock& b = s0.live.at(id);
        auto blk = sut.h.block_at<std::byte>(sut.payload.at(id));  // the handle validates
        RC_ASSERT(blk.has_value());
        if (b.fill != 0) RC_ASSERT(test::check_fill(sut.at(blk->offset), static_cast<std::uint32_t>(b.request), b.fill));
        cover(K_CHECK);
        sut.after(s0);
    }
    void show(std::ostream& os) const override { os << "Check(#" << id << ")"; }
};

}  // namespace amx::prop
