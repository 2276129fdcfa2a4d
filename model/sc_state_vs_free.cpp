// Relacy runner for scenario StateVsFree (tests/scenarios/).
#include "harness.hpp"
AMX_MODEL_SCENARIO(state_vs_free, StateVsFree, amx::ModelGeometry, "T0 transition+set_state, T1 free")
