// StdAtomicPolicy: the production policy. Words are std::atomic_ref views of the mapped bytes: the
// hooked policy with no hook (hooked_policy.hpp), which compiles to the bare atomic operations.
#pragma once
#include "amx/policy/concept.hpp"
#include "amx/policy/hooked_policy.hpp"

namespace amx {

using StdAtomicPolicy = HookedPolicy<NoHook>;

static_assert(AtomicPolicy<StdAtomicPolicy>);

}  // namespace amx
