// Relacy runner for scenario OomChurn (tests/scenarios/).
#include "harness.hpp"
AMX_MODEL_SCENARIO(oom_churn, OomChurn, amx::ModelGeometry, "T0 64x{enter,pop F,push,leave}; T1 alloc")
