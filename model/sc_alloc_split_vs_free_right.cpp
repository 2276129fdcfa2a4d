// Relacy runner for scenario AllocSplitVsFreeRight (tests/scenarios/).
#include "harness.hpp"
AMX_MODEL_SCENARIO(alloc_split_vs_free_right, AllocSplitVsFreeRight, amx::ModelGeometry, "T0 allocate+split A, T1 free R")
