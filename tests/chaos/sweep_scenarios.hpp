// The short scenarios the crash-point sweep kills. Each has two halves:
//   prepare(H, plan): the parent, production policy, builds the starting state (blocks it owns,
//                     free holes) and names the blocks the victim may free (plan.victims);
//   run(heap, plan):  the child, CrashPolicy, one deterministic sequence of core operations.
// Every state a scenario reaches is one the protocols reach in production: the child calls the
// same Heap<P, G> code, only the policy counts its atomic accesses.
#pragma once
#include <cstdint>
#include <vector>

#include "amx/core/heap.hpp"
#include "amx/handler/handler.hpp"
#include "chaos/crash_policy.hpp"
#include "support/test_heap.hpp"

namespace amx::chaos {

using CrashHeap = Heap<CrashPolicy, DefaultGeometry>;

struct OwnedBlock {
    std::uint32_t header, payload_bytes, tag;
};

struct Plan {
    std::vector<OwnedBlock> parent;   // allocated and filled by the parent
    std::vector<std::uint32_t> victims;  // indexes into parent the child frees
};

inline OwnedBlock parent_alloc(MatrixHandler& h, std::uint32_t n, std::uint32_t tag) {
    auto b = h.allocate_raw(n);
    if (!b) return {0, 0, 0};
    test::fill(h.raw_base_ptr() + b->offset, n, tag);
    return {b->header_offset(), n, tag};
}

// The child's own allocations are filled too: a block handed out twice breaks a pattern.
inline std::uint32_t child_alloc(const CrashHeap& heap, std::byte* base, std::uint32_t n, std::uint32_t tag) {
    auto h = heap.allocate(n);
    if (!h) return 0;
    test::fill(base + *h + BLOCK_HEADER_SIZE, n, tag);
    return *h;
}

struct SweepScenario {
    const char* name;
    void (*prepare)(MatrixHandler&, Plan&);
    void (*run)(const CrashHeap&, std::byte*, const Plan&);
};

// Allocations from one large free block: pops, splits, remainder pushes, then frees that merge.
inline void prep_split(MatrixHandler& h, Plan& p) { p.parent.push_back(parent_alloc(h, 200, 1)); }
inline void run_split(const CrashHeap& heap, std::byte* base, const Plan&) {
    std::uint32_t b[4];
    for (std::uint32_t i = 0; i < 4; ++i) b[i] = child_alloc(heap, base, 64u << i, 100 + i);
    (void)heap.free(b[1]);
    (void)heap.free(b[2]);  // merges left with b[1] (its list head)
}

// Frees with free neighbours on both sides: absorb_right and merge_left.
inline void prep_merge(MatrixHandler& h, Plan& p) {
    for (std::uint32_t i = 0; i < 6; ++i) p.parent.push_back(parent_alloc(h, 96, 10 + i));
    p.victims = {1, 3, 2, 4};
}
inline void run_merge(const CrashHeap& heap, std::byte*, const Plan& p) {
    for (std::uint32_t v : p.victims) (void)heap.free(p.parent[v].header);
}

// Heal over free blocks that coalescing could not merge (a neighbour was not its list's head).
inline void prep_heal(MatrixHandler& h, Plan& p) {
    for (std::uint32_t i = 0; i < 8; ++i) p.parent.push_back(parent_alloc(h, 80, 20 + i));
    for (std::uint32_t i : {0u, 4u, 1u, 6u, 5u}) (void)h.free_at(p.parent[i].header);  // 1 and 5 stay unmerged
    p.parent = {p.parent[2], p.parent[3], p.parent[7]};
}
inline void run_heal(const CrashHeap& heap, std::byte*, const Plan&) { heap.heal(); }

// A seeded mix: allocations of many classes, frees of own and parent blocks, state transitions.
inline void prep_mixed(MatrixHandler& h, Plan& p) {
    for (std::uint32_t i = 0; i < 10; ++i) p.parent.push_back(parent_alloc(h, 40 + 90 * i, 40 + i));
    p.victims = {0, 3, 4, 8};
}
inline void run_mixed(const CrashHeap& heap, std::byte* base, const Plan& p) {
    std::vector<std::uint32_t> mine;
    std::uint32_t x = 12345;
    for (std::uint32_t step = 0; step < 24; ++step) {
        x = x * 1103515245u + 12345u;
        const std::uint32_t r = (x >> 16) % 10;
        if (r < 5 || mine.empty()) {
            if (auto b = child_alloc(heap, base, 16 + (x >> 8) % 1500, 200 + step)) mine.push_back(b);
        } else if (r < 8) {
            (void)heap.free(mine.back());
            mine.pop_back();
        } else {
            (void)heap.transition_state(mine.front(), STATE_ALLOCATED, USER_STATE_MIN + step, CrashPolicy::acq_rel);
        }
        if (step % 6 == 5 && step / 6 < p.victims.size()) (void)heap.free(p.parent[p.victims[step / 6]].header);
    }
}

// A nearly full segment: the fallback search holds blocks that do not fit, heal runs, and the
// request ends in out_of_memory.
inline void prep_full(MatrixHandler& h, Plan& p) {
    std::vector<OwnedBlock> all;
    for (std::uint32_t i = 0;; ++i) {
        OwnedBlock b = parent_alloc(h, 400 + 16 * (i % 5), 60 + i);
        if (b.header == 0) break;
        all.push_back(b);
    }
    for (std::uint32_t i = 0; i < all.size(); ++i) {
        if (i % 3 == 1) (void)h.free_at(all[i].header);
        else p.parent.push_back(all[i]);
    }
}
inline void run_full(const CrashHeap& heap, std::byte* base, const Plan&) {
    (void)child_alloc(heap, base, 420, 300);  // fits a hole: a pop from the insert class
    (void)heap.allocate(4000);                // fits nowhere: heal, exhaustive search, out_of_memory
}

inline const std::vector<SweepScenario>& sweep_scenarios() {
    static const std::vector<SweepScenario> all = {
        {"split", prep_split, run_split}, {"merge", prep_merge, run_merge},
        {"heal", prep_heal, run_heal},    {"mixed", prep_mixed, run_mixed},
        {"full", prep_full, run_full},
    };
    return all;
}

}  // namespace amx::chaos
