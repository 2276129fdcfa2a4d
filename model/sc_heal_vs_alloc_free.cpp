// Relacy runner for scenario HealVsAllocFree (tests/scenarios/).
#include "harness.hpp"
AMX_MODEL_SCENARIO(heal_vs_alloc_free, HealVsAllocFree, amx::ModelGeometry, "T0 heal, T1 allocate, T2 free")
