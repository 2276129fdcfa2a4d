// RelacyAtomicPolicy: the atomic policy seam mapped onto the Relacy race detector.
//
// The segment is one array of rl::atomic<uint32_t> (one per 4-byte word, payload included, so a
// stray CAS on a stale header breaks a fill pattern) plus rl::atomic<uint64_t> storage for the
// 64-bit control words (segment header and free-list heads; the core accesses each offset with one
// width only, and an access outside the 64-bit area is reported as a test failure).
//
// Every word operation forwards the core's call site (amx::Site) to Relacy, so a report names the
// core's line, not this file. A run may also *weaken* one ordering site (file:line) at run time: the
// policy replaces the ordering the core asked for there by the next weaker one. docs/ORDERINGS.md
// is generated from such runs (model/orderings.py), without recompiling the core.
//
// Include order (Relacy #defines new/delete/assert/memory_order_*): every standard header and every
// core header first, <relacy/relacy.hpp> last. This header does exactly that; include it last.
#pragma once
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "amx/check/verify.hpp"
#include "amx/core/heap.hpp"
#include "amx/policy/concept.hpp"
#include "scenarios/run.hpp"
#include "scenarios/scenarios.hpp"

#include <relacy/relacy.hpp>

namespace amx::model {

// One ordering site to weaken for this run (set by the runner before rl::simulate, read-only during
// the simulation, so it cannot make the test non-deterministic).
struct Weakening {
    std::string file_suffix;  // e.g. "core/free_list.hpp"; empty = no weakening
    unsigned line = 0;
    int only_order = -1;      // weaken only operations asking for this rl::memory_order (-1: any)
    unsigned hits = 0;        // how often the site executed (to tell "never reached" from "passed")
};
inline Weakening& weakening() {
    static Weakening w;
    return w;
}

inline int order_from_name(const std::string& n) {
    if (n == "acquire") return static_cast<int>(rl::mo_acquire);
    if (n == "release") return static_cast<int>(rl::mo_release);
    if (n == "acq_rel") return static_cast<int>(rl::mo_acq_rel);
    if (n == "seq_cst") return static_cast<int>(rl::mo_seq_cst);
    return -1;
}

// The next weaker ordering: seq_cst -> acq_rel, acq_rel -> release (drops the acquire half; the
// other variant, acq_rel -> acquire, is weaken_acq_rel_to_acquire below), acquire/release ->
// relaxed. Used for every word operation, RMWs (CAS, fetch_or/and/add) included (at_site).
inline rl::memory_order weaker(rl::memory_order o) {
    switch (o) {
        case rl::mo_seq_cst: return rl::mo_acq_rel;
        case rl::mo_acq_rel: return rl::mo_release;  // drop the acquire half (see orderings.py)
        case rl::mo_acquire: return rl::mo_relaxed;
        case rl::mo_release: return rl::mo_relaxed;
        default: return o;
    }
}
// A second variant for acq_rel sites: drop the release half instead.
inline bool& weaken_acq_rel_to_acquire() {
    static bool b = false;
    return b;
}

// Full and bounded searches: treat cas_weak as cas_strong. A spurious failure of the core's weak CAS
// loops is a stutter (the loop reloads the same value and retries), but each one is a new branch
// that no context bound limits, so the search tree never closes. The random tier (and the schedules
// fuzzer, which chooses them) keep spurious failures; --spurious puts them back in a search.
inline bool& no_spurious_failures() {
    static bool b = false;
    return b;
}

inline bool site_matches(const Site& loc) {
    Weakening& w = weakening();
    if (w.file_suffix.empty() || loc.line != w.line) return false;
    const std::string f = loc.file;
    return f.size() >= w.file_suffix.size() &&
           f.compare(f.size() - w.file_suffix.size(), w.file_suffix.size(), w.file_suffix) == 0;
}

inline rl::memory_order at_site(rl::memory_order o, const Site& loc) {
    if (!site_matches(loc)) return o;
    if (weakening().only_order >= 0 && static_cast<int>(o) != weakening().only_order) return o;
    ++weakening().hits;
    if (o == rl::mo_acq_rel && weaken_acq_rel_to_acquire()) return rl::mo_acquire;
    return weaker(o);
}

// A load may not carry release semantics in Relacy: clamp what weakening produced.
inline rl::memory_order for_load(rl::memory_order o) {
    return (o == rl::mo_release || o == rl::mo_acq_rel) ? rl::mo_acquire : o;
}
inline rl::memory_order for_store(rl::memory_order o) {
    return (o == rl::mo_acquire || o == rl::mo_acq_rel) ? rl::mo_release : o;
}
// A CAS failure ordering may not be stronger than its success ordering nor carry release.
inline rl::memory_order for_failure(rl::memory_order f, rl::memory_order s) {
    f = for_load(f);
    if (s == rl::mo_relaxed || s == rl::mo_release) return rl::mo_relaxed;
    return f;
}

inline rl::debug_info info(const Site& loc) {
    return rl::debug_info(loc.function, loc.file, loc.line);
}

struct RelacyAtomicPolicy
    : MemoryOrders<rl::memory_order, rl::mo_relaxed, rl::mo_acquire, rl::mo_release, rl::mo_acq_rel, rl::mo_seq_cst> {
    using site = Site;

    template <class T>
    class Word {
    public:
        explicit Word(rl::atomic<T>* a) noexcept : a_(a) {}
        T load(order o, site s = site::current()) const {
            return a_->load(for_load(at_site(o, s)), info(s));
        }
        void store(T v, order o, site s = site::current()) const {
            a_->store(v, for_store(at_site(o, s)), info(s));
        }
        bool cas_strong(T& e, T d, order so, order fo, site s = site::current()) const {
            const order w = at_site(so, s);
            return a_->compare_exchange_strong(e, d, w, info(s), for_failure(fo, w), info(s));
        }
        bool cas_weak(T& e, T d, order so, order fo, site s = site::current()) const {
            const order w = at_site(so, s);
            if (no_spurious_failures()) {
                return a_->compare_exchange_strong(e, d, w, info(s), for_failure(fo, w), info(s));
            }
            return a_->compare_exchange_weak(e, d, w, info(s), for_failure(fo, w), info(s));
        }
        T fetch_or(T v, order o, site s = site::current()) const {
            return a_->fetch_or(v, at_site(o, s), info(s));
        }
        T fetch_and(T v, order o, site s = site::current()) const {
            return a_->fetch_and(v, at_site(o, s), info(s));
        }
        T fetch_add(T v, order o, site s = site::current()) const {
            return a_->fetch_add(v, at_site(o, s), info(s));
        }

    private:
        rl::atomic<T>* a_;
    };

    // The words of one modelled segment. Owned by the test suite (constructed per execution).
    struct Storage {
        rl::atomic<std::uint32_t>* w32 = nullptr;
        rl::atomic<std::uint64_t>* w64 = nullptr;  // capacity / 8 words
        std::uint32_t capacity = 0;  // bytes
    };

    class Memory {
    public:
        Memory() = default;
        explicit Memory(const Storage* s) noexcept : s_(s) {}
        Word<std::uint32_t> u32(std::uint32_t off, site s = site::current()) const {
            if (off % 4 != 0 || off >= s_->capacity) {
                rl::ctx().fail_test("u32 access outside the segment or misaligned", rl::test_result_user_assert_failed, info(s));
                off = 0;
            }
            return Word<std::uint32_t>(&s_->w32[off / 4]);
        }
        Word<std::uint64_t> u64(std::uint32_t off, site s = site::current()) const {
            if (off % 8 != 0 || off >= s_->capacity) {
                rl::ctx().fail_test("u64 access outside the segment or misaligned", rl::test_result_user_assert_failed, info(s));
                off = 0;
            }
            return Word<std::uint64_t>(&s_->w64[off / 8]);
        }
        std::uint64_t capacity() const noexcept { return s_->capacity; }

    private:
        const Storage* s_ = nullptr;
    };

    // Plain shared data: an rl::var, so two unsynchronised owners are a reported data race.
    template <class T>
    struct cell {
        rl::var<T> v;
        cell() : v(T{}) {}
        T load(site s = site::current()) const { return v(info(s)); }
        void store(T x, site s = site::current()) { v(info(s)) = x; }
    };

    static void spin_hint(site s = site::current()) { rl::yield(1, info(s)); }
    static void yield_thread(site s = site::current()) { rl::yield(1, info(s)); }
    // Every simulated thread runs on the one OS thread: name it, so each gets its own transit slot
    // (Heap::thread_slot), as real threads do.
    static unsigned thread_slot() { return rl::thread_index(); }
};

static_assert(AtomicPolicy<RelacyAtomicPolicy>);

}  // namespace amx::model
