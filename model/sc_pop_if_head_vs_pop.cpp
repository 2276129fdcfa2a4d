// Relacy runner for scenario PopIfHeadVsPop (tests/scenarios/).
#include "harness.hpp"
AMX_MODEL_SCENARIO(pop_if_head_vs_pop, PopIfHeadVsPop, amx::ModelGeometry, "T0 pop_if_head(b1); T1 pop")
