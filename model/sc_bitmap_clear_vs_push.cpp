// Relacy runner for scenario BitmapClearVsPush (tests/scenarios/).
#include "harness.hpp"
AMX_MODEL_SCENARIO(bitmap_clear_vs_push, BitmapClearVsPush, amx::ModelGeometry, "T0 push; T1 pop-empty+clear bit")
