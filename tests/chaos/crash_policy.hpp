// CrashPolicy: the production policy over the same real bytes, with a crash point before every
// atomic access (CrashHook). Armed with a trigger, it ends the process with _exit(CRASH_EXIT) at the
// k-th access of a chosen kind, optionally only at one call site of the core (the amx::Site the
// policy's word operations receive). Disarmed, it counts accesses per call site, so a sweep can enumerate every
// crash point a scenario passes through.
//
// The kill happens *before* the access: a crash at a CAS means the CAS never ran; a crash at the
// next access means it did. Together they cover both sides of every atomic step.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <utility>

#include "amx/policy/hooked_policy.hpp"

namespace amx::chaos {

inline constexpr int CRASH_EXIT = 86;

enum class Kind : unsigned { load = 1, store = 2, cas = 4, rmw = 8 };
inline constexpr unsigned ANY_WRITE = 2 | 4 | 8;  // stores, CASes and RMWs
inline constexpr unsigned ANY = 1 | 2 | 4 | 8;

inline const char* kind_name(Kind k) {
    switch (k) {
        case Kind::load: return "load";
        case Kind::store: return "store";
        case Kind::cas: return "cas";
        case Kind::rmw: return "rmw";
    }
    return "?";
}

// A crash site: file (short), line and access kind.
struct CrashSite {
    std::string file;
    unsigned line = 0;
    Kind kind = Kind::load;
    auto operator<=>(const CrashSite&) const = default;
};

struct Trigger {
    unsigned kinds = 0;        // mask of Kind; 0 = disarmed
    std::uint64_t k = 0;       // crash at the k-th matching access (1-based)
    const char* file = nullptr;  // if set, only accesses from this file and line match
    unsigned line = 0;
};

// Process-global crash state (each sweep child has its own copy after fork).
struct CrashState {
    Trigger trigger;
    std::uint64_t seen = 0;
    bool counting = false;
    std::map<CrashSite, std::uint64_t> hits;  // filled while counting
};
inline CrashState& crash_state() {
    static CrashState s;
    return s;
}

inline const char* short_file(const char* f) {
    const char* s = std::strstr(f, "include/amx/");
    return s ? s + 12 : f;
}

inline void crash_point(Kind kind, const amx::Site& at) {
    CrashState& st = crash_state();
    if (st.counting) ++st.hits[CrashSite{short_file(at.file), at.line, kind}];
    const Trigger& t = st.trigger;
    if ((t.kinds & static_cast<unsigned>(kind)) == 0) return;
    if (t.file != nullptr && (at.line != t.line || std::strcmp(short_file(at.file), t.file) != 0)) return;
    if (++st.seen == t.k) ::_exit(CRASH_EXIT);
}

inline Kind kind_of(WordOp op) {
    switch (op) {
        case WordOp::load: return Kind::load;
        case WordOp::store: return Kind::store;
        case WordOp::cas_strong:
        case WordOp::cas_weak: return Kind::cas;
        default: return Kind::rmw;  // fetch_or, fetch_and, fetch_add
    }
}

struct CrashHook {
    static void before(const WordAccess& a, const Site& at) { crash_point(kind_of(a.op), at); }
};

using CrashPolicy = HookedPolicy<CrashHook>;
static_assert(AtomicPolicy<CrashPolicy>);

}  // namespace amx::chaos
