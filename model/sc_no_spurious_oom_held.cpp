// Relacy runner for scenario NoSpuriousOomHeld (tests/scenarios/).
#include "harness.hpp"
AMX_MODEL_SCENARIO(no_spurious_oom_held, NoSpuriousOomHeld, amx::ModelGeometry, "T0 alloc(too big, holds F); T1 alloc")
