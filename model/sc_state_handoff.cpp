// Relacy runner for scenario StateHandoff (tests/scenarios/).
#include "harness.hpp"
AMX_MODEL_SCENARIO(state_handoff, StateHandoff, amx::ModelGeometry, "T0 fill+set_state; T1 get_state+read")
