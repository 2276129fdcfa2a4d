// InstrumentedAtomicPolicy: the fuzzers' policy. Words are real bytes (std::atomic_ref, as in
// production), but every access first calls a hook, which a target installs:
//   - the `schedules` target's scheduler makes each access a scheduling point (switch to another
//     logical thread, or stop this one for good), and decides when a cas_weak fails spuriously;
//   - the `image` target counts accesses per API call (a loop bound that is exceeded is a bug).
// Every word handle is range-checked against the segment: an offset outside it, or misaligned, is
// reported with the core's call site (std::source_location) instead of touching memory. That is how
// an image fuzzer finding names the line that trusted a corrupted size or link.
// With no hook installed the policy is a plain (checked) production policy.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <source_location>

#include "amx/policy/concept.hpp"

namespace amx::fuzz {

enum class Access : std::uint8_t { load, store, exchange, cas_strong, cas_weak, fetch_or, fetch_and, fence };

// What a target plugs into the policy. All calls happen on the accessing logical thread.
class PolicyHook {
public:
    virtual ~PolicyHook() = default;
    // Before every access (a scheduling point).
    virtual void point(Access a, std::uint32_t off, const std::source_location& where) = 0;
    // Whether this cas_weak fails spuriously (the word is then left unchanged).
    virtual bool spurious_failure(const std::source_location&) { return false; }
    // A retry loop's spin hint.
    virtual void spin() {}
    // An access outside the segment or misaligned: must not return.
    [[noreturn]] virtual void wild(std::uint32_t off, std::size_t width, const std::source_location& where) = 0;
};

struct InstrumentedAtomicPolicy {
    using order = std::memory_order;
    static constexpr order relaxed = std::memory_order_relaxed;
    static constexpr order acquire = std::memory_order_acquire;
    static constexpr order release = std::memory_order_release;
    static constexpr order acq_rel = std::memory_order_acq_rel;
    static constexpr order seq_cst = std::memory_order_seq_cst;
    using site = std::source_location;

    static inline PolicyHook* hook = nullptr;

    [[noreturn]] static void wild(std::uint32_t off, std::size_t width, const site& where);

    template <class T>
    class Word {
    public:
        // p == nullptr: the offset was outside the segment; reported at the first access.
        Word(T* p, std::uint32_t off) noexcept : p_(p), off_(off) {}
        T load(order o, site w = site::current()) const { return ref(Access::load, w).load(o); }
        void store(T v, order o, site w = site::current()) const { ref(Access::store, w).store(v, o); }
        T exchange(T v, order o, site w = site::current()) const { return ref(Access::exchange, w).exchange(v, o); }
        bool cas_strong(T& e, T d, order s, order f, site w = site::current()) const {
            return ref(Access::cas_strong, w).compare_exchange_strong(e, d, s, f);
        }
        bool cas_weak(T& e, T d, order s, order f, site w = site::current()) const {
            auto r = ref(Access::cas_weak, w);
            if (hook != nullptr && hook->spurious_failure(w)) {
                e = r.load(f);
                return false;
            }
            return r.compare_exchange_strong(e, d, s, f);  // the spurious failures are the hook's
        }
        T fetch_or(T v, order o, site w = site::current()) const { return ref(Access::fetch_or, w).fetch_or(v, o); }
        T fetch_and(T v, order o, site w = site::current()) const { return ref(Access::fetch_and, w).fetch_and(v, o); }

    private:
        std::atomic_ref<T> ref(Access a, const site& w) const {
            if (p_ == nullptr) wild(off_, sizeof(T), w);
            if (hook != nullptr) hook->point(a, off_, w);
            return std::atomic_ref<T>(*p_);
        }
        T* p_;
        std::uint32_t off_;
    };

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
            const bool ok = off % sizeof(T) == 0 && std::uint64_t{off} + sizeof(T) <= capacity_;
            return Word<T>(ok ? reinterpret_cast<T*>(base_ + off) : nullptr, off);
        }
        std::byte* base_ = nullptr;
        std::uint64_t capacity_ = 0;
    };

    // Test shadows: plain values (the fibers run on one OS thread; ownership is checked explicitly).
    template <class T>
    struct cell {
        T value{};
        T load(site = site::current()) const noexcept { return value; }
        void store(T v, site = site::current()) noexcept { value = v; }
    };

    static void spin_hint() {
        if (hook != nullptr) hook->spin();
    }
    static void fence(order o, site w = site::current()) {
        if (hook != nullptr) hook->point(Access::fence, 0, w);
        std::atomic_thread_fence(o);
    }
};

static_assert(AtomicPolicy<InstrumentedAtomicPolicy>);

}  // namespace amx::fuzz

#include <cstdio>
#include <cstdlib>

namespace amx::fuzz {

inline void InstrumentedAtomicPolicy::wild(std::uint32_t off, std::size_t width, const site& where) {
    if (hook != nullptr) hook->wild(off, width, where);
    std::fprintf(stderr, "wild %zu-byte access at offset 0x%x from %s:%u (%s)\n", width, off, where.file_name(),
                 static_cast<unsigned>(where.line()), where.function_name());
    std::abort();
}

}  // namespace amx::fuzz
