// Relacy runner for scenario PopVsPop (tests/scenarios/).
#include "harness.hpp"
AMX_MODEL_SCENARIO(pop_vs_pop, PopVsPop, amx::ModelGeometry, "T0,T1 pop,fill (2 listed)")
