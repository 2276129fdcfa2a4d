// HookedPolicy<Hook>: the production atomic policy, with a hook on every word access.
//
// The segment is real bytes; a word handle is a std::atomic_ref on them that also knows its byte
// offset. The production policy is HookedPolicy<NoHook> (std_policy.hpp): every hook call below is
// an `if constexpr` on a callback NoHook does not have, so production compiles to the bare
// std::atomic_ref operations. The test and tool policies are hooks of a few lines:
//   InstrumentedAtomicPolicy (fuzz/):  scheduling point, range check, spurious cas_weak failures
//   CountingPolicy (bench/):           RMW tally per core call site
//   CrashPolicy (tests/chaos/):        crash point before every access
//   InterposePolicy (tests/regression/): a step armed before or after one access
//
// A Hook is a type with any of these static callbacks (each optional):
//   before(const WordAccess&, const Site&)   before every word access (the core's call site)
//   after(const WordAccess&, std::uint64_t value, bool ok)
//                                           after it: value = what a load returned, else the
//                                           operand; ok = whether a CAS succeeded (true otherwise)
//   bool spurious_failure(const Site&)      asked by every cas_weak: true = fail it spuriously (the
//                                           word is left unchanged); false = run it as a strong CAS,
//                                           so every spurious failure is the hook's choice, not the
//                                           hardware's. Without it cas_weak is compare_exchange_weak.
//   spin()                                  replaces the pause instruction of spin_hint()
//   [[noreturn]] wild(std::uint32_t off, std::size_t width, const Site&)
//                                           makes the Memory range-check every word handle: an
//                                           offset outside the segment or misaligned calls wild
//                                           (with the call site of its first access) and never
//                                           touches memory
//   static constexpr bool os_backoff = true  the allocator's late retries may yield the OS thread
//                                           and sleep (yield_thread, sleep_briefly; Heap::backoff).
//                                           Only production: fibers must not sleep, and the test
//                                           hooks keep the plain 64-attempt spinning budget.
#pragma once
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <type_traits>

#include "amx/policy/concept.hpp"

namespace amx {

enum class WordOp : std::uint8_t { load, store, cas_strong, cas_weak, fetch_or, fetch_and, fetch_add };

// One word access, as a hook sees it.
struct WordAccess {
    WordOp op;
    std::uint32_t offset;    // byte offset in the segment
    std::uint32_t width;     // bytes: 4 or 8
    std::memory_order order; // the ordering asked for (a CAS: its success ordering)
    std::uint64_t operand;   // the value stored, a CAS's desired value, an RMW's operand; 0 for a load
};

// The production hook: no callbacks; the retry backoff may yield and sleep.
struct NoHook {
    static constexpr bool os_backoff = true;
};

template <class Hook>
struct HookedPolicy : MemoryOrders<std::memory_order, std::memory_order_relaxed, std::memory_order_acquire,
                                   std::memory_order_release, std::memory_order_acq_rel,
                                   std::memory_order_seq_cst> {
    using site = Site;
    static constexpr bool quiet = std::is_same_v<Hook, NoHook>;  // no callback, nothing can throw
    static constexpr bool checks_range = requires(std::uint32_t o, std::size_t n, const Site& s) {
        Hook::wild(o, n, s);
    };

    // Shared-memory atomics must never fall back to a process-local lock.
    static_assert(std::atomic_ref<std::uint32_t>::is_always_lock_free);
    static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free);
    static_assert(std::atomic_ref<std::uint32_t>::required_alignment <= 4);
    static_assert(std::atomic_ref<std::uint64_t>::required_alignment <= 8);

    template <class T>
    class Word {
    public:
        // p == nullptr: the offset was outside the segment (checks_range); reported at the first access.
        Word(T* p, std::uint32_t off) noexcept : p_(p), off_(off) {}
        T load(order o, site s = site::current()) const noexcept(quiet) {
            const WordAccess a = begin(WordOp::load, o, 0, s);
            const T v = ref().load(o);
            return after(a, v, v);
        }
        void store(T v, order o, site s = site::current()) const noexcept(quiet) {
            const WordAccess a = begin(WordOp::store, o, v, s);
            ref().store(v, o);
            after(a, v, v);
        }
        bool cas_strong(T& e, T d, order so, order fo, site s = site::current()) const noexcept(quiet) {
            const WordAccess a = begin(WordOp::cas_strong, so, d, s);
            const bool ok = ref().compare_exchange_strong(e, d, so, fo);
            return after(a, ok, d, ok);
        }
        bool cas_weak(T& e, T d, order so, order fo, site s = site::current()) const noexcept(quiet) {
            const WordAccess a = begin(WordOp::cas_weak, so, d, s);
            bool ok;
            if constexpr (requires { Hook::spurious_failure(s); }) {
                ok = !Hook::spurious_failure(s);
                if (ok) {
                    ok = ref().compare_exchange_strong(e, d, so, fo);
                } else {
                    e = ref().load(fo);  // a spurious failure: the word is left unchanged
                }
            } else {
                ok = ref().compare_exchange_weak(e, d, so, fo);
            }
            return after(a, ok, d, ok);
        }
        T fetch_or(T v, order o, site s = site::current()) const noexcept(quiet) {
            const WordAccess a = begin(WordOp::fetch_or, o, v, s);
            return after(a, ref().fetch_or(v, o), v);
        }
        T fetch_and(T v, order o, site s = site::current()) const noexcept(quiet) {
            const WordAccess a = begin(WordOp::fetch_and, o, v, s);
            return after(a, ref().fetch_and(v, o), v);
        }
        T fetch_add(T v, order o, site s = site::current()) const noexcept(quiet) {
            const WordAccess a = begin(WordOp::fetch_add, o, v, s);
            return after(a, ref().fetch_add(v, o), v);
        }

    private:
        std::atomic_ref<T> ref() const noexcept { return std::atomic_ref<T>(*p_); }
        // The hook's before(): first the range check (a hook with wild()), then the callback.
        WordAccess begin(WordOp op, order o, T operand, const site& s) const {
            if constexpr (checks_range) {
                if (p_ == nullptr) Hook::wild(off_, sizeof(T), s);
            }
            const WordAccess a{op, off_, sizeof(T), o, operand};
            if constexpr (requires { Hook::before(a, s); }) Hook::before(a, s);
            return a;
        }
        // The hook's after(a, value, ok); passes the operation's result through.
        template <class R>
        static R after(const WordAccess& a, R result, T value, bool ok = true) {
            if constexpr (requires { Hook::after(a, std::uint64_t{value}, ok); }) Hook::after(a, value, ok);
            return result;
        }
        T* p_;
        std::uint32_t off_;
    };

    // A view of one mapped segment. Production: offsets are checked by the core before they reach
    // here. A hook with wild() has every handle checked as well.
    class Memory {
    public:
        Memory() = default;
        Memory(std::byte* base, std::uint64_t capacity) noexcept : base_(base), capacity_(capacity) {}
        Word<std::uint32_t> u32(std::uint32_t off) const noexcept { return word<std::uint32_t>(off); }
        Word<std::uint64_t> u64(std::uint32_t off) const noexcept { return word<std::uint64_t>(off); }
        std::byte* base() const noexcept { return base_; }
        std::uint64_t capacity() const noexcept { return capacity_; }

    private:
        template <class T>
        Word<T> word(std::uint32_t off) const noexcept {
            T* p = reinterpret_cast<T*>(base_ + off);
            if constexpr (checks_range) {
                if (off % sizeof(T) != 0 || std::uint64_t{off} + sizeof(T) > capacity_) p = nullptr;
            }
            return Word<T>(p, off);
        }
        std::byte* base_ = nullptr;
        std::uint64_t capacity_ = 0;
    };

    // Plain shared data (test payload shadows): an ordinary value.
    template <class T>
    struct cell {
        T value{};
        T load(site = site::current()) const noexcept { return value; }
        void store(T v, site = site::current()) noexcept { value = v; }
    };

    // Called by every retry loop.
    static void spin_hint() noexcept(quiet) {
        if constexpr (requires { Hook::spin(); }) {
            Hook::spin();
        } else {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
    }
    // Late allocation retries (Heap::backoff): give the CPU away, or sleep for BRIEF_SLEEP (the
    // contention bound of PROTOCOL.md §6 is counted in these sleeps: tests/support/contention_bound.hpp).
    // Only for a hook that declares os_backoff (production).
    static constexpr std::chrono::microseconds BRIEF_SLEEP{50};
    static void yield_thread() noexcept
        requires requires { requires Hook::os_backoff; }
    {
        std::this_thread::yield();
    }
    static void sleep_briefly() noexcept
        requires requires { requires Hook::os_backoff; }
    {
        std::this_thread::sleep_for(BRIEF_SLEEP);
    }
    // The logical thread, for a hook that runs several on one OS thread (the fuzzers' fibers): each
    // gets its own transit slot (Heap::thread_slot), as a real thread would.
    static unsigned thread_slot() noexcept
        requires requires { Hook::thread_slot(); }
    {
        return Hook::thread_slot();
    }
};

}  // namespace amx
