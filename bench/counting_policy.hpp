// CountingPolicy: the production atomics (std::atomic_ref), plus a per-thread tally of every
// serialising operation (read-modify-writes: CAS, fetch_or, fetch_and, exchange; on x86 each is a
// lock-prefixed instruction) by the core's call site, and of the control-area cache lines they
// write. The core reports its call site through the defaulted source_location argument of every
// word operation, so the tally names core lines without touching the core.
// Used by amx_atomic_count (bench/atomic_count.cpp) for the "where the time goes" report.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <source_location>
#include <string>

#include "amx/policy/byte_memory.hpp"
#include "amx/policy/concept.hpp"

namespace amxb {

struct Tally {
    std::map<std::string, std::uint64_t> rmw_by_site;  // "file:line" -> count
    std::uint64_t rmw = 0, acquire_loads = 0, release_stores = 0;
    std::set<std::uint32_t> lines_this_op;  // control-area cache lines RMW'd in the current op
    std::uint32_t control_end = 0;          // offsets below this are the control area
    bool on = false;
};

struct CountingPolicy {
    using order = std::memory_order;
    static constexpr order relaxed = std::memory_order_relaxed;
    static constexpr order acquire = std::memory_order_acquire;
    static constexpr order release = std::memory_order_release;
    static constexpr order acq_rel = std::memory_order_acq_rel;
    static constexpr order seq_cst = std::memory_order_seq_cst;
    using site = std::source_location;

    static inline thread_local Tally* tally = nullptr;

    static void note_rmw(std::uint32_t off, const site& s) {
        Tally* t = tally;
        if (t == nullptr || !t->on) return;
        ++t->rmw;
        std::string f = s.file_name();
        const auto slash = f.find("include/amx/");
        if (slash != std::string::npos) f = f.substr(slash + 12);
        ++t->rmw_by_site[f + ":" + std::to_string(s.line())];
        if (off < t->control_end) t->lines_this_op.insert(off / 64);
    }
    static void note(bool acquire_load, order o) {
        Tally* t = tally;
        if (t == nullptr || !t->on || o == relaxed) return;
        ++(acquire_load ? t->acquire_loads : t->release_stores);
    }

    template <class T>
    class Word {
    public:
        Word(T* p, std::uint32_t off) noexcept : ref_(*p), off_(off) {}
        T load(order o, site = site::current()) const noexcept {
            note(true, o);
            return ref_.load(o);
        }
        void store(T v, order o, site = site::current()) const noexcept {
            note(false, o);
            ref_.store(v, o);
        }
        T exchange(T v, order o, site s = site::current()) const noexcept {
            note_rmw(off_, s);
            return ref_.exchange(v, o);
        }
        bool cas_strong(T& e, T d, order so, order fo, site s = site::current()) const noexcept {
            note_rmw(off_, s);
            return ref_.compare_exchange_strong(e, d, so, fo);
        }
        bool cas_weak(T& e, T d, order so, order fo, site s = site::current()) const noexcept {
            note_rmw(off_, s);
            return ref_.compare_exchange_weak(e, d, so, fo);
        }
        T fetch_or(T v, order o, site s = site::current()) const noexcept {
            note_rmw(off_, s);
            return ref_.fetch_or(v, o);
        }
        T fetch_and(T v, order o, site s = site::current()) const noexcept {
            note_rmw(off_, s);
            return ref_.fetch_and(v, o);
        }

    private:
        std::atomic_ref<T> ref_;
        std::uint32_t off_;
    };

    using Memory = amx::ByteMemory<Word>;

    template <class T>
    struct cell {
        T value{};
        T load(site = site::current()) const noexcept { return value; }
        void store(T v, site = site::current()) noexcept { value = v; }
    };

    static void spin_hint() noexcept { __builtin_ia32_pause(); }
    static void fence(order o) noexcept { std::atomic_thread_fence(o); }
};

static_assert(amx::AtomicPolicy<CountingPolicy>);

}  // namespace amxb
