// Relacy runner for scenario OomWhileHeld (tests/scenarios/).
#include "harness.hpp"
AMX_MODEL_SCENARIO(oom_while_held, OomWhileHeld, amx::ModelGeometry, "T0 enter,pop F,wait,push; T1 alloc")
