// StdAtomicPolicy: the production policy. Words are std::atomic_ref views of the mapped bytes.
#pragma once
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>

#include "amx/policy/concept.hpp"

namespace amx {

struct StdAtomicPolicy {
    using order = std::memory_order;
    static constexpr order relaxed = std::memory_order_relaxed;
    static constexpr order acquire = std::memory_order_acquire;
    static constexpr order release = std::memory_order_release;
    static constexpr order acq_rel = std::memory_order_acq_rel;
    static constexpr order seq_cst = std::memory_order_seq_cst;
    using site = Site;

    // Shared-memory atomics must never fall back to a process-local lock.
    static_assert(std::atomic_ref<std::uint32_t>::is_always_lock_free);
    static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free);
    static_assert(std::atomic_ref<std::uint32_t>::required_alignment <= 4);
    static_assert(std::atomic_ref<std::uint64_t>::required_alignment <= 8);

    template <class T>
    class Word {
    public:
        explicit Word(T* p) noexcept : ref_(*p) {}
        T load(order o, site = site::current()) const noexcept { return ref_.load(o); }
        void store(T v, order o, site = site::current()) const noexcept { ref_.store(v, o); }
        T exchange(T v, order o, site = site::current()) const noexcept { return ref_.exchange(v, o); }
        bool cas_strong(T& e, T d, order s, order f, site = site::current()) const noexcept {
            return ref_.compare_exchange_strong(e, d, s, f);
        }
        bool cas_weak(T& e, T d, order s, order f, site = site::current()) const noexcept {
            return ref_.compare_exchange_weak(e, d, s, f);
        }
        T fetch_or(T v, order o, site = site::current()) const noexcept { return ref_.fetch_or(v, o); }
        T fetch_and(T v, order o, site = site::current()) const noexcept { return ref_.fetch_and(v, o); }

    private:
        std::atomic_ref<T> ref_;
    };

    // A view of one mapped segment. Offsets are checked by the core before they reach here.
    class Memory {
    public:
        Memory() = default;
        Memory(std::byte* base, std::uint64_t capacity) noexcept : base_(base), capacity_(capacity) {}
        Word<std::uint32_t> u32(std::uint32_t off) const noexcept {
            return Word<std::uint32_t>(reinterpret_cast<std::uint32_t*>(base_ + off));
        }
        Word<std::uint64_t> u64(std::uint32_t off) const noexcept {
            return Word<std::uint64_t>(reinterpret_cast<std::uint64_t*>(base_ + off));
        }
        std::byte* base() const noexcept { return base_; }
        std::uint64_t capacity() const noexcept { return capacity_; }

    private:
        std::byte* base_ = nullptr;
        std::uint64_t capacity_ = 0;
    };

    // Plain shared data (test payload shadows). Production: an ordinary value.
    template <class T>
    struct cell {
        T value{};
        T load(site = site::current()) const noexcept { return value; }
        void store(T v, site = site::current()) noexcept { value = v; }
    };

    static void spin_hint() noexcept {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    static void fence(order o) noexcept { std::atomic_thread_fence(o); }
    // Optional hooks for late allocation retries (Heap::backoff): give the CPU away, or sleep.
    static void yield_thread() noexcept { std::this_thread::yield(); }
    static constexpr std::chrono::microseconds BRIEF_SLEEP{50};
    static void sleep_briefly() noexcept { std::this_thread::sleep_for(BRIEF_SLEEP); }
};

static_assert(AtomicPolicy<StdAtomicPolicy>);

}  // namespace amx
