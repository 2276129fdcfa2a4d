// One Relacy scenario per translation unit. This file is compiled once per entry of
// tests/scenarios/registry.def, with -DAMX_MODEL_SCENARIO=<snake_name>, and registers that entry
// only with model_runner (main.cpp). So Relacy's macros stay out of main.cpp, and a run that needs
// a few scenarios (a mutant) compiles only those. model/CMakeLists.txt adds one object per entry;
// by hand, from the repository root:
//   F="-std=c++20 -O1 -fno-sized-deallocation -w -Iinclude -Itests -Imodel"
//   for s in aba_three_threads bitmap_clear_vs_push; do
//     g++ $F -DAMX_MODEL_SCENARIO=$s -c model/scenario_tu.cpp -o sc_$s.o; done
//   g++ $F -c model/main.cpp -o main.o && g++ main.o sc_*.o -o model_runner
#ifndef AMX_MODEL_SCENARIO
#error "compile with -DAMX_MODEL_SCENARIO=<snake_name of an entry of tests/scenarios/registry.def>"
#endif
#include <string_view>

#include "harness.hpp"

namespace amx::model {
namespace {

#define AMX_STRINGIFY_(X) #X
#define AMX_STRINGIFY(X) AMX_STRINGIFY_(X)
constexpr std::string_view SELECTED = AMX_STRINGIFY(AMX_MODEL_SCENARIO);

// The entry named by AMX_MODEL_SCENARIO, and only it, is instantiated and registered.
#define AMX_SCENARIO(NAME, TYPE, GEOMETRY, ROUNDS, OPS) +(std::string_view(#NAME) == SELECTED ? 1 : 0)
constexpr int MATCHES = 0
#include "scenarios/registry.def"
    ;
#undef AMX_SCENARIO
static_assert(MATCHES == 1, "AMX_MODEL_SCENARIO names no entry of tests/scenarios/registry.def");

template <bool Selected, template <class, class> class S, class G>
bool register_if(const char* name, const char* ops) {
    if constexpr (Selected) {
        using MG = ModelGeometryOf<G>;
        return register_scenario({name, S<RelacyAtomicPolicy, MG>::THREADS, ops, &run_suite<S, MG>});
    } else {
        return false;
    }
}

#define AMX_SCENARIO(NAME, TYPE, GEOMETRY, ROUNDS, OPS) \
    register_if<std::string_view(#NAME) == SELECTED, scenario::TYPE, GEOMETRY>(#NAME, OPS) ||
[[maybe_unused]] const bool registered =
#include "scenarios/registry.def"
    false;
#undef AMX_SCENARIO

}  // namespace
}  // namespace amx::model
