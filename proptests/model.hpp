// The model of the rc::state test: what a user of the handler is promised, as plain data.
//
// The model is a pure function of the commands: every field is updated in a command's apply(),
// never from what the allocator returned. Handles are model ids (1, 2, ...); the system under test
// (sut.hpp) maps them to offsets. Where the promise depends on placement (will this allocation
// fit?), the model only admits commands whose outcome the promise decides (see alloc_outcome).
#pragma once
#include <cstdint>
#include <map>
#include <vector>

#include "amx/layout/block_header.hpp"

namespace amx::prop {

// The segment every model case runs on: default geometry, a few KiB of data area, so that
// fragmentation, out-of-memory and heal all happen within a few dozen commands.
inline constexpr std::uint32_t MODEL_CAPACITY = 8192;

// Block size for a payload of n bytes: header counted, rounded up to 16, at least 48 (U1). This is
// the handler's documented contract, restated here so the model does not ask the allocator.
constexpr std::uint64_t model_block_size(std::uint64_t n) {
    std::uint64_t need = ((n + BLOCK_HEADER_SIZE) + 15) & ~std::uint64_t{15};
    return need < 48 ? 48 : need;
}
// A split leaves the tail with the block when it is smaller than a minimal block: a block handed out
// for `need` bytes is at most need + 32.
inline constexpr std::uint64_t MAX_SLACK = 32;

enum class AllocOutcome { ok, out_of_memory, invalid_size, undecided };

struct ModelBlock {
    std::uint64_t request = 0;  // payload bytes asked for
    std::uint32_t state = STATE_ALLOCATED;
    std::uint32_t fill = 0;  // tag of the pattern written over the payload; 0 = never written
};

struct Model {
    std::uint32_t data_bytes = 0;              // capacity minus segment header and control area
    std::map<std::uint32_t, ModelBlock> live;  // by handle id
    std::vector<std::uint32_t> stale;          // handles freed since the last successful allocation
    std::uint32_t next_id = 1;
    std::uint32_t mappings = 1;  // Reattach count (for show only)
    bool unlinked = false;

    std::uint64_t live_bytes_min() const {
        std::uint64_t s = 0;
        for (const auto& [id, b] : live) s += model_block_size(b.request);
        return s;
    }

    // What the promise decides for an allocation of n bytes in single-threaded use:
    //   invalid_size  n == 0, or the block would not fit the data area at all;
    //   out_of_memory even the most compact placement of the live blocks leaves too few free bytes;
    //   ok            by pigeonhole, after heal some free run holds the block (P7: heal runs before
    //                 out_of_memory, and a free run is split by at most live+1 gaps);
    //   undecided     placement decides; such commands are not generated.
    AllocOutcome alloc_outcome(std::uint64_t n) const {
        const std::uint64_t need = model_block_size(n);
        if (n == 0 || n > data_bytes || need > data_bytes) return AllocOutcome::invalid_size;
        const std::uint64_t used_max = live_bytes_min() + MAX_SLACK * live.size();
        const std::uint64_t free_min = used_max >= data_bytes ? 0 : data_bytes - used_max;
        const std::uint64_t gaps = live.size() + 1;
        if (free_min > gaps * (need - 16)) return AllocOutcome::ok;
        if (need > data_bytes - live_bytes_min()) return AllocOutcome::out_of_memory;
        return AllocOutcome::undecided;
    }

    std::uint32_t count_in_state(bool user) const {
        std::uint32_t k = 0;
        for (const auto& [id, b] : live) k += (is_user_state(b.state) == user) ? 1 : 0;
        return k;
    }
};

}  // namespace amx::prop
