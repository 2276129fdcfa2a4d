// Relacy runner for scenario FreeFreeAdjacent (tests/scenarios/).
#include "harness.hpp"
AMX_MODEL_SCENARIO(free_free_adjacent, FreeFreeAdjacent, amx::ModelGeometry, "free(adjacent block)")
