// Relacy runner for scenario AbaThreeThreads (tests/scenarios/).
#include "harness.hpp"
AMX_MODEL_SCENARIO(aba_three_threads, AbaThreeThreads, amx::ModelGeometry, "T1 pop,pop,push,push; T0,T2 pop,push")
