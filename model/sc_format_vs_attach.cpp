// Relacy runner for scenario FormatVsAttach (tests/scenarios/).
#include "harness.hpp"
AMX_MODEL_SCENARIO(format_vs_attach, FormatVsAttach, amx::TinyGeometry, "T0 format, T1 attach(x3)+alloc+free")
