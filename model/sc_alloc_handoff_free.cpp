// Relacy runner for scenario AllocHandoffFree (tests/scenarios/).
#include "harness.hpp"
AMX_MODEL_SCENARIO(alloc_handoff_free, AllocHandoffFree, amx::ModelGeometry, "T0 alloc(split X)+post; T1 recv+free")
