// Deterministic interleavings for the regression tests of the original's concurrency defects
// (U8..U12, U15). InterposePolicy is the production policy plus a hook on every word access and
// spin hint: a test arms one step ("when T1 reaches this access, run T2's operations now"), then
// calls the real core code single-threaded. The armed step fires once, at the exact access, so
// the interleaving that broke the original is replayed step by step against our real headers
// (no copy of the algorithm in the test).
//
// The hook is a plain static: these tests run the core on one thread only.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "amx/check/verify.hpp"
#include "amx/core/heap.hpp"
#include "amx/policy/hooked_policy.hpp"

namespace amx::regress {

enum class Op { load, store, cas, fetch_or, fetch_and, fetch_add, spin };
enum class Phase { before, after };

// One access by the core: which word (byte offset in the segment, width in bits), what, the value:
// `before`: the operand (0 for a load); `after`: the value loaded (load), else the operand; and for
// `after`, whether the CAS succeeded.
struct Access {
    Op op;
    Phase phase;
    std::uint32_t width;
    std::uint32_t offset;
    std::uint64_t value;
    bool ok;
};

// The one armed step: fires the first time `when` matches, then disarms itself, so the steps it
// runs (the "other thread") go through the same policy without re-firing.
class Interleave {
public:
    using When = std::function<bool(const Access&)>;
    using Then = std::function<void()>;
    static void at(When when, Then then) {
        when_ = std::move(when);
        then_ = std::move(then);
        armed_ = true;
        fired_ = false;
    }
    static void disarm() { armed_ = false; }
    static bool fired() { return fired_; }
    static void notify(const Access& a) {
        if (!armed_ || !when_(a)) return;
        armed_ = false;
        fired_ = true;
        then_();
    }

private:
    static inline bool armed_ = false, fired_ = false;
    static inline When when_;
    static inline Then then_;
};

// Matchers for the accesses the tests interpose at.
inline Interleave::When before(Op op, std::uint32_t offset) {
    return [=](const Access& a) { return a.op == op && a.phase == Phase::before && a.offset == offset; };
}
inline Interleave::When after(Op op, std::uint32_t offset) {
    return [=](const Access& a) { return a.op == op && a.phase == Phase::after && a.offset == offset; };
}
inline Interleave::When after_cas_succeeds(std::uint32_t offset) {
    return [=](const Access& a) { return a.op == Op::cas && a.phase == Phase::after && a.ok && a.offset == offset; };
}
inline Interleave::When at_spin() {
    return [](const Access& a) { return a.op == Op::spin; };
}

// The hook: tells Interleave before and after every word access and at every spin hint. It never
// fails a cas_weak spuriously (it has spurious_failure, so cas_weak is strong): a spurious failure
// would only add a retry, but the tests count on the interleaving they arm, not on the hardware.
struct InterposeHook {
    static Op op_of(WordOp op) {
        switch (op) {
            case WordOp::load: return Op::load;
            case WordOp::store: return Op::store;
            case WordOp::cas_strong:
            case WordOp::cas_weak: return Op::cas;
            case WordOp::fetch_or: return Op::fetch_or;
            case WordOp::fetch_and: return Op::fetch_and;
            case WordOp::fetch_add: return Op::fetch_add;
        }
        return Op::load;
    }
    static void before(const WordAccess& a, const Site&) {
        Interleave::notify(Access{op_of(a.op), Phase::before, a.width * 8, a.offset, a.operand, false});
    }
    static void after(const WordAccess& a, std::uint64_t value, bool ok) {
        Interleave::notify(Access{op_of(a.op), Phase::after, a.width * 8, a.offset, value, ok});
    }
    static bool spurious_failure(const Site&) { return false; }
    static void spin() { Interleave::notify(Access{Op::spin, Phase::before, 0, 0, 0, false}); }
};

using InterposePolicy = HookedPolicy<InterposeHook>;
static_assert(AtomicPolicy<InterposePolicy>);

// A heap of policy P over a private buffer, with the protocol objects the deterministic tests
// drive directly (FreeLists, Coalescer, Allocator: the lower-level classes of include/amx/core).
template <AtomicPolicy P, Geometry G = DefaultGeometry>
struct BufferHeap {
    using H = Heap<P, G>;
    using Ctx = typename H::Ctx;
    using Layout = ControlLayout<G>;
    using Map = SizeClasses<G>;
    std::vector<std::uint64_t> buf;
    std::optional<H> heap;

    explicit BufferHeap(std::uint32_t capacity) : buf(capacity / 8) {
        typename P::Memory mem(base(), capacity);
        if (!H::format(mem, {0x5eed, 1, 1})) throw std::runtime_error("format failed");
        heap.emplace(*H::attach(mem));
    }
    std::byte* base() { return reinterpret_cast<std::byte*>(buf.data()); }
    H* operator->() { return &*heap; }
    const Ctx& ctx() const { return heap->context(); }
    std::uint32_t size_of(std::uint32_t b) const { return ctx().size_w(b).load(P::relaxed); }
    std::uint32_t state_of(std::uint32_t b) const { return ctx().state(b); }
    std::uint32_t prev_of(std::uint32_t b) const { return ctx().prev_w(b).load(P::relaxed); }
    std::uint32_t head_of(std::uint32_t cls) const { return unpack_head(ctx().head_w(cls).load(P::relaxed)).offset; }
    VerifyReport verify(VerifyMode m = VerifyMode::quiescent) const { return amx::verify(*heap, m); }
    // A transit slot other than this thread's, claimed by a short-lived thread (the process keeps
    // it): a second participant's pops acted out on this thread announce there.
    std::uint32_t foreign_slot() {
        std::uint32_t s = 0;
        std::thread([&] { s = heap->thread_slot(); }).join();
        return s;
    }
    // Allocates blocks of the given payload sizes; they are physically consecutive on a fresh heap.
    std::vector<std::uint32_t> allocate_all(std::initializer_list<std::uint32_t> payloads) {
        std::vector<std::uint32_t> out;
        for (std::uint32_t n : payloads) {
            auto r = heap->allocate(n);
            if (!r) throw std::runtime_error("setup allocation failed");
            out.push_back(*r);
        }
        return out;
    }
    // The offsets listed on class cls, head first (bounded).
    std::vector<std::uint32_t> list(std::uint32_t cls) const {
        std::vector<std::uint32_t> out;
        for (std::uint32_t b = head_of(cls); b != 0 && out.size() < 64; b = ctx().next_w(b).load(P::relaxed)) {
            out.push_back(b);
        }
        return out;
    }
};

}  // namespace amx::regress
