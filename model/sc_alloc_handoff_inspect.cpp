// Relacy runner for scenario AllocHandoffInspect (tests/scenarios/).
#include "harness.hpp"
AMX_MODEL_SCENARIO(alloc_handoff_inspect, AllocHandoffInspect, amx::ModelGeometry, "T0 alloc(split X)+post; T1 recv+live_payload")
