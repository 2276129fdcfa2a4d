// Relacy scenarios in a translation unit of their own (Relacy's macros stay out of main.cpp). This
// file registers with model_runner (main.cpp) either one entry of tests/scenarios/registry.def,
// compiled with -DAMX_MODEL_SCENARIO=<snake_name> (a run that needs a few scenarios, a mutant's,
// compiles only those), or a group of them, compiled with -DAMX_MODEL_GROUP=K -DAMX_MODEL_GROUPS=N:
// every entry whose position in the registry is K modulo N. model/CMakeLists.txt builds
// AMX_MODEL_GROUPS groups: scenarios that share a translation unit share its instantiation of the
// core and of Relacy, so the build compiles those once per group instead of once per scenario.
// By hand, from the repository root:
//   F="-std=c++20 -O1 -fno-sized-deallocation -w -Iinclude -Itests -Imodel"
//   for s in aba_three_threads bitmap_clear_vs_push; do
//     g++ $F -DAMX_MODEL_SCENARIO=$s -c model/scenario_tu.cpp -o sc_$s.o; done
//   g++ $F -c model/main.cpp -o main.o && g++ main.o sc_*.o -o model_runner
#if defined(AMX_MODEL_SCENARIO) == (defined(AMX_MODEL_GROUP) && defined(AMX_MODEL_GROUPS))
#error "compile with -DAMX_MODEL_SCENARIO=<snake_name of a registry.def entry>, or -DAMX_MODEL_GROUP=K -DAMX_MODEL_GROUPS=N"
#endif
#include <iterator>
#include <string_view>

#include "harness.hpp"

namespace amx::model {
namespace {

// The registry's entries, in order.
#define AMX_SCENARIO(NAME, TYPE, GEOMETRY, ROUNDS, OPS) std::string_view(#NAME),
constexpr std::string_view ENTRIES[] = {
#include "scenarios/registry.def"
};
#undef AMX_SCENARIO

constexpr int position(std::string_view name) {
    for (int i = 0; i < static_cast<int>(std::size(ENTRIES)); ++i) {
        if (ENTRIES[i] == name) return i;
    }
    return -1;
}

constexpr bool names_unique() {
    for (int i = 0; i < static_cast<int>(std::size(ENTRIES)); ++i) {
        if (position(ENTRIES[i]) != i) return false;
    }
    return true;
}
static_assert(names_unique(), "two entries of tests/scenarios/registry.def have one name");

#ifdef AMX_MODEL_SCENARIO
#define AMX_STRINGIFY_(X) #X
#define AMX_STRINGIFY(X) AMX_STRINGIFY_(X)
constexpr std::string_view SELECTED = AMX_STRINGIFY(AMX_MODEL_SCENARIO);
static_assert(position(SELECTED) >= 0, "AMX_MODEL_SCENARIO names no entry of tests/scenarios/registry.def");
constexpr bool selected(std::string_view name) { return name == SELECTED; }
#else
static_assert(AMX_MODEL_GROUPS > 0 && AMX_MODEL_GROUP >= 0 && AMX_MODEL_GROUP < AMX_MODEL_GROUPS,
              "want 0 <= AMX_MODEL_GROUP < AMX_MODEL_GROUPS");
constexpr bool selected(std::string_view name) { return position(name) % AMX_MODEL_GROUPS == AMX_MODEL_GROUP; }
#endif

template <bool Selected, template <class, class> class S, class G>
bool register_if(const char* name, const char* ops) {
    if constexpr (Selected) {
        using MG = ModelGeometryOf<G>;
        return register_scenario({name, S<RelacyAtomicPolicy, MG>::THREADS, ops, &run_suite<S, MG>});
    } else {
        return false;
    }
}

// Every selected entry, and only those, is instantiated and registered.
#define AMX_SCENARIO(NAME, TYPE, GEOMETRY, ROUNDS, OPS) \
    register_if<selected(#NAME), scenario::TYPE, GEOMETRY>(#NAME, OPS),
[[maybe_unused]] const bool registered[] = {
#include "scenarios/registry.def"
};
#undef AMX_SCENARIO

}  // namespace
}  // namespace amx::model
