// Relacy runner for scenario NoSpuriousOomHeal (tests/scenarios/).
#include "harness.hpp"
AMX_MODEL_SCENARIO(no_spurious_oom_heal, NoSpuriousOomHeal, amx::ModelGeometry, "T0 heal; T1 alloc (1 free block)")
