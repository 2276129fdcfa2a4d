// A safe physical-chain walker and the stats built on it. Unlike the original's iterator (U26) it
// reads every header word atomically, checks every size before following it, and stops at the
// geometry's bound. On a live segment the walk is a best-effort snapshot.
#pragma once
#include <cstdint>
#include <vector>

#include "amx/core/heap.hpp"

namespace amx {

struct BlockView {
    std::uint32_t offset, size, state;
};

// A registered participant (docs/RELIABILITY.md); `alive` is decided by the handler (pid and start
// time), the core knows no processes.
struct ParticipantView {
    std::uint32_t slot = 0, pid = 0;
    bool alive = false;
};

struct Stats {
    std::uint32_t capacity = 0;          // segment bytes
    std::uint32_t data_bytes = 0;        // bytes in blocks (capacity minus header and control area)
    std::uint64_t free_bytes = 0;        // bytes in FREE blocks (headers included)
    std::uint32_t largest_free = 0;      // largest FREE block (headers included)
    std::uint32_t blocks = 0;
    std::uint32_t free_blocks = 0, allocated_blocks = 0, user_state_blocks = 0, transient_blocks = 0;
    bool complete = true;                // false if the walk met an implausible header
    // Filled by the handler from the participant registry.
    std::uint32_t live_participants = 0, dead_participants = 0;
    std::vector<ParticipantView> participants;
};

// Calls f(BlockView) for every block, in address order; returns false if the walk stopped early.
template <AtomicPolicy P, Geometry G, class F>
bool walk_blocks(const Heap<P, G>& heap, F&& f) {
    const auto& c = heap.context();
    std::uint32_t b = c.first;
    for (std::uint32_t i = 0; b < c.end && i <= c.max_blocks(); ++i) {
        const std::uint32_t size = c.size_w(b).load(P::relaxed);
        if (!c.plausible_size(b, size)) return false;
        f(BlockView{b, size, c.state_w(b).load(P::relaxed)});
        b += size;
    }
    return b == c.end;
}

template <AtomicPolicy P, Geometry G>
Stats stats(const Heap<P, G>& heap) {
    Stats s;
    s.capacity = heap.capacity();
    s.data_bytes = heap.capacity() - heap.first_block_offset();
    s.complete = walk_blocks(heap, [&](const BlockView& v) {
        ++s.blocks;
        if (v.state == STATE_FREE) {
            ++s.free_blocks;
            s.free_bytes += v.size;
            if (v.size > s.largest_free) s.largest_free = v.size;
        } else if (v.state == STATE_ALLOCATED) {
            ++s.allocated_blocks;
        } else if (is_user_state(v.state)) {
            ++s.user_state_blocks;
        } else {
            ++s.transient_blocks;
        }
    });
    return s;
}

}  // namespace amx
