// Relacy runner for scenario DoubleFreeRace (tests/scenarios/).
#include "harness.hpp"
AMX_MODEL_SCENARIO(double_free_race, DoubleFreeRace, amx::ModelGeometry, "free(same block)")
