// Block statistics, from one walk of the physical chain (walk_chain, core/chain.hpp: unlike the
// original's iterator (U26) it reads every header word atomically, checks every offset and size
// before following it, and stops at the geometry's bound). On a live segment a best-effort snapshot.
#pragma once
#include <cstdint>
#include <vector>

#include "amx/core/chain.hpp"
#include "amx/core/heap.hpp"

namespace amx {

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
    ChainEnd chain;                      // where and why the walk stopped (chain_fault names it)
    bool complete = true;                // chain.complete(): the walk reached the segment's end
    // Filled by the handler from the participant registry.
    std::uint32_t live_participants = 0, dead_participants = 0;
    std::vector<ParticipantView> participants;
};

template <AtomicPolicy P, Geometry G>
Stats stats(const Heap<P, G>& heap) {
    Stats s;
    s.capacity = heap.capacity();
    s.data_bytes = heap.capacity() - heap.first_block_offset();
    s.chain = walk_chain(heap.context(), [&](const ChainBlock& v) {
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
    }, Unchecked::pass);
    s.complete = s.chain.complete();
    return s;
}

}  // namespace amx
