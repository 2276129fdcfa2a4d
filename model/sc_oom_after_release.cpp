// Relacy runner for scenario OomAfterRelease (tests/scenarios/).
#include "harness.hpp"
AMX_MODEL_SCENARIO(oom_after_release, OomAfterRelease, amx::ModelGeometry, "T0 enter,pop F,push,leave,post; T1 alloc")
