// The atomic policy seam.
//
// Every atomic access of the core goes through a policy P. A policy supplies:
//   - ordering constants P::relaxed, P::acquire, P::release, P::acq_rel, P::seq_cst of type
//     P::order (MemoryOrders below);
//   - P::Memory, a view of one segment that maps a byte offset to a *word handle*: u32(off) for a
//     32-bit word, u64(off) for a 64-bit word (control words: list heads, registry, transit;
//     and each block's state pair);
//   - word handles with load / store / cas_strong / cas_weak / fetch_or / fetch_and / fetch_add;
//   - P::spin_hint(), called by every retry loop (Relacy: rl::yield, or it reports livelock);
//   - P::cell<T>, a plain (non-atomic) shared cell that a model checker can watch for data races;
//   - optionally P::yield_thread() and P::sleep_briefly() (Heap::backoff) and P::thread_slot()
//     (Heap::thread_slot).
//
// How a policy maps the segment's words (see docs/PROTOCOL.md, "The policy seam"):
//   production: the segment is real bytes; a word handle is a std::atomic_ref on them
//               (HookedPolicy<NoHook>, hooked_policy.hpp).
//   hooked (fuzz, bench, chaos, regression tests): the production policy with a hook on every
//               access (HookedPolicy<Hook>).
//   Relacy:     the segment is an array of rl::atomic<uint32_t>, one per 4-byte word, plus an array of
//               rl::atomic<uint64_t>, one per 8 bytes, for the 64-bit words; payload fill
//               patterns go through the words, at the widths, a header puts there, so a stray
//               CAS on a stale header shows up as a broken pattern (limits:
//               docs/verification/model.md).
// Word operations take an amx::Site defaulted at the call site (Site::current()), so a policy can
// name the core's line in its reports; production ignores it. (Not std::source_location: clang 14
// with libstdc++ 12 does not provide it; the builtins below work with both compilers.)
#pragma once
#include <concepts>
#include <cstdint>

namespace amx {

// The call site of a word operation, captured by default arguments at the caller's line.
struct Site {
    const char* file;
    const char* function;
    unsigned line;
    static constexpr Site current(const char* file = __builtin_FILE(), const char* function = __builtin_FUNCTION(),
                                  unsigned line = __builtin_LINE()) noexcept {
        return Site{file, function, line};
    }
};

// The ordering constants of a policy, written once: a policy derives from
// MemoryOrders<its order type, its five constants>.
template <class O, O Relaxed, O Acquire, O Release, O AcqRel, O SeqCst>
struct MemoryOrders {
    using order = O;
    static constexpr order relaxed = Relaxed;
    static constexpr order acquire = Acquire;
    static constexpr order release = Release;
    static constexpr order acq_rel = AcqRel;
    static constexpr order seq_cst = SeqCst;
};

template <class W, class T, class O>
concept AtomicWord = requires(W w, T v, T& expected, O o) {
    { w.load(o) } -> std::same_as<T>;
    { w.store(v, o) };
    { w.cas_strong(expected, v, o, o) } -> std::same_as<bool>;
    { w.cas_weak(expected, v, o, o) } -> std::same_as<bool>;
    { w.fetch_or(v, o) } -> std::same_as<T>;
    { w.fetch_and(v, o) } -> std::same_as<T>;
    { w.fetch_add(v, o) } -> std::same_as<T>;
};

template <class P>
concept AtomicPolicy = requires(typename P::Memory& mem, std::uint32_t off) {
    typename P::order;
    { P::relaxed } -> std::convertible_to<typename P::order>;
    { P::acquire } -> std::convertible_to<typename P::order>;
    { P::release } -> std::convertible_to<typename P::order>;
    { P::acq_rel } -> std::convertible_to<typename P::order>;
    { P::seq_cst } -> std::convertible_to<typename P::order>;
    { P::spin_hint() };
    { mem.capacity() } -> std::convertible_to<std::uint64_t>;
    requires AtomicWord<decltype(mem.u32(off)), std::uint32_t, typename P::order>;
    requires AtomicWord<decltype(mem.u64(off)), std::uint64_t, typename P::order>;
};

}  // namespace amx
