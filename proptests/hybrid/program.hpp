// The hybrid's plain interface: a small concurrent program (2-3 threads, 1-3 operations each, heap
// operations and list operations),
// generated and shrunk by RapidCheck (hybrid_test.cpp), run under Relacy by relacy_run.cpp. This
// header names neither library, so neither sees the other's macros.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace amx::prop {

enum class Op : std::uint8_t {
    alloc_small,  // allocate 16 bytes (a minimal block: the class every setup hole is in)
    alloc_large,  // allocate 64 bytes (a 96-byte block: the next class, splits the tail)
    free_mine,    // free this thread's most recent allocation (nothing if none is left)
    free_setup,   // free the block setup reserved for this thread (once)
    heal,
    // List level (free_list.hpp) on the minimal class, so a handful of operations reach ABA:
    pop,     // pop a block and hold it (owned through cells, filled)
    push,    // give back the oldest block this thread holds (fill checked, disowned, pushed)
    cycle2,  // pop x, pop y, push x, push y: the head word returns to x while y is out (ABA)
};

struct Program {
    std::vector<std::vector<Op>> threads;
};

struct HybridResult {
    bool ok = true;
    bool incomplete = false;      // the bounded search hit its time budget
    std::uint64_t executions = 0;
    double seconds = 0;
    std::string failure;          // Relacy's verdict and the check's reason
};

// Runs every interleaving of `p` within context bound `bound` (Relacy's context-bound scheduler),
// through RelacyAtomicPolicy on a ModelGeometry segment (TinyGeometry, a transit word per thread). Thread-safe: no (one at a time).
HybridResult run_under_relacy(const Program& p, unsigned bound, double budget_seconds);

std::string show(const Program& p);

}  // namespace amx::prop
