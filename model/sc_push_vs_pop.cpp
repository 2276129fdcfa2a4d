// Relacy runner for scenario PushVsPop (tests/scenarios/).
#include "harness.hpp"
AMX_MODEL_SCENARIO(push_vs_pop, PushVsPop, amx::ModelGeometry, "T0 own,fill,push; T1 pop,fill,push")
