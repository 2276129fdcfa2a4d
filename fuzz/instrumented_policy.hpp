// InstrumentedAtomicPolicy: the fuzzers' policy, the production policy with FuzzHook. Every access
// first calls the PolicyHook a target installs (FuzzHook::target):
//   - the `schedules` target's scheduler makes each access a scheduling point (switch to another
//     logical thread, or stop this one for good), and decides when a cas_weak fails spuriously;
//   - the `image` target counts accesses per API call (a loop bound that is exceeded is a bug).
// Every word handle is range-checked against the segment: an offset outside it, or misaligned, is
// reported with the core's call site (amx::Site) instead of touching memory. That is how an image
// fuzzer finding names the line that trusted a corrupted size or link.
// With no target installed the policy is a plain (checked) production policy whose cas_weak never
// fails spuriously.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "amx/policy/hooked_policy.hpp"

namespace amx::fuzz {

// What a target plugs into the policy. All calls happen on the accessing logical thread.
class PolicyHook {
public:
    virtual ~PolicyHook() = default;
    // Before every access (a scheduling point).
    virtual void point(const WordAccess& a, const Site& where) = 0;
    // Whether this cas_weak fails spuriously (the word is then left unchanged).
    virtual bool spurious_failure(const Site&) { return false; }
    // A retry loop's spin hint.
    virtual void spin() {}
    // The logical thread making the access (its transit slot: Heap::thread_slot).
    virtual unsigned logical_thread() const { return 0; }
    // An access outside the segment or misaligned: must not return.
    [[noreturn]] virtual void wild(std::uint32_t off, std::size_t width, const Site& where) = 0;
};

struct FuzzHook {
    static inline PolicyHook* target = nullptr;

    static void before(const WordAccess& a, const Site& s) {
        if (target != nullptr) target->point(a, s);
    }
    static bool spurious_failure(const Site& s) { return target != nullptr && target->spurious_failure(s); }
    static void spin() {
        if (target != nullptr) target->spin();
    }
    static unsigned thread_slot() { return target != nullptr ? target->logical_thread() : 0; }
    [[noreturn]] static void wild(std::uint32_t off, std::size_t width, const Site& s) {
        if (target != nullptr) target->wild(off, width, s);
        std::fprintf(stderr, "wild %zu-byte access at offset 0x%x from %s:%u (%s)\n", width, off, s.file, s.line,
                     s.function);
        std::abort();
    }
};

using InstrumentedAtomicPolicy = HookedPolicy<FuzzHook>;
static_assert(AtomicPolicy<InstrumentedAtomicPolicy>);

}  // namespace amx::fuzz
