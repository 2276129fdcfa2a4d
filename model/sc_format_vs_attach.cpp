// Relacy runner for scenario FormatVsAttach (tests/scenarios/).
#include "harness.hpp"
AMX_MODEL_SCENARIO(format_vs_attach, FormatVsAttach, amx::ModelGeometry, "T0 format, T1 peek+attach(x8)+alloc+free")
