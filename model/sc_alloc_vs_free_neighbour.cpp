// Relacy runner for scenario AllocVsFreeNeighbour (tests/scenarios/).
#include "harness.hpp"
AMX_MODEL_SCENARIO(alloc_vs_free_neighbour, AllocVsFreeNeighbour, amx::ModelGeometry, "T0 allocate+split, T1 free left")
