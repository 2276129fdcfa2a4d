// Relacy runner for scenario AllocAlloc (tests/scenarios/).
#include "harness.hpp"
AMX_MODEL_SCENARIO(alloc_alloc, AllocAlloc, amx::TinyGeometry, "allocate(16) same class")
