// Relacy runner for scenario AllocAlloc (tests/scenarios/).
#include "harness.hpp"
AMX_MODEL_SCENARIO(alloc_alloc, AllocAlloc, amx::ModelGeometry, "allocate(16) same class")
