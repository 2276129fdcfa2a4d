// CountingPolicy: the production policy with CountingHook, a per-thread tally of every serialising
// operation (read-modify-writes: CAS, fetch_or, fetch_and, fetch_add; on x86 each is a
// lock-prefixed instruction) by the core's call site, and of the control-area cache lines they
// write. The core reports its call site through the defaulted amx::Site argument of every word
// operation, so the tally names core lines without touching the core.
// Used by amx_atomic_count (bench/atomic_count.cpp) for the "where the time goes" report.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "amx/policy/hooked_policy.hpp"

namespace amxb {

struct Tally {
    std::map<std::string, std::uint64_t> rmw_by_site;  // "file:line" -> count
    std::uint64_t rmw = 0, acquire_loads = 0, release_stores = 0;
    std::set<std::uint32_t> lines_this_op;  // control-area cache lines RMW'd in the current op
    std::uint32_t control_end = 0;          // offsets below this are the control area
    bool on = false;
};

struct CountingHook {
    static inline thread_local Tally* tally = nullptr;

    static void before(const amx::WordAccess& a, const amx::Site& s) {
        Tally* t = tally;
        if (t == nullptr || !t->on) return;
        const bool load = a.op == amx::WordOp::load;
        if (load || a.op == amx::WordOp::store) {
            if (a.order != std::memory_order_relaxed) ++(load ? t->acquire_loads : t->release_stores);
            return;
        }
        ++t->rmw;
        std::string f = s.file;
        const auto slash = f.find("include/amx/");
        if (slash != std::string::npos) f = f.substr(slash + 12);
        ++t->rmw_by_site[f + ":" + std::to_string(s.line)];
        if (a.offset < t->control_end) t->lines_this_op.insert(a.offset / 64);
    }
};

using CountingPolicy = amx::HookedPolicy<CountingHook>;
static_assert(amx::AtomicPolicy<CountingPolicy>);

}  // namespace amxb
