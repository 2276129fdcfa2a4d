// The system under test of the rc::state test: a MatrixHandler over an in-memory segment, the map
// from model handles to payload offsets, and the checks run after every command.
//
// Property ids (docs/verification/prop.md): P1 no overlap, P2 payload survives, P3 verify() clean
// (HD1 SZ1 CH1 BL1 ST1 FL1-6 BM1-2 HL1), P4 stats equal the model, P9 user states are never
// reclaimed, TG1 a head word that changed carries a larger tag.
#pragma once
#include <rapidcheck.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "amx/handler/handler.hpp"
#include "model.hpp"
#include "support/test_heap.hpp"

namespace amx::prop {

// Every command kind, for the coverage check (a kind that never ran fails the test).
enum Kind : int {
    K_ALLOC_OK, K_ALLOC_OOM, K_ALLOC_INVALID, K_FREE, K_FREE_AT_MISALIGNED, K_FREE_AT_OUTSIDE,
    K_FREE_AT_INTERIOR, K_FREE_AT_STALE, K_WRITE, K_CHECK, K_SET_STATE_OK, K_SET_STATE_RESERVED,
    K_TRANSITION_OK, K_TRANSITION_FAILED, K_TRANSITION_RESERVED, K_HEAL, K_STATS, K_REATTACH,
    K_UNLINK, K_COUNT
};
inline constexpr std::array<const char*, K_COUNT> KIND_NAMES = {
    "Alloc ok", "Alloc out_of_memory", "Alloc invalid_size", "Free", "FreeAt misaligned",
    "FreeAt outside", "FreeAt interior", "FreeAt stale", "Write", "Check", "SetState user",
    "SetState reserved", "Transition ok", "Transition failed", "Transition reserved", "Heal", "Stats",
    "Reattach", "Unlink"};
inline std::array<std::uint64_t, K_COUNT> g_coverage{};  // incremented by run(), read by the test

inline std::uint32_t g_case_kinds = 0;  // bit k: kind k ran in the current case

inline void cover(Kind k) {
    ++g_coverage[k];
    g_case_kinds |= 1u << k;
}

struct Sut {
    MatrixHandler h;
    std::map<std::uint32_t, std::uint32_t> payload;  // handle -> payload offset
    std::map<std::uint32_t, std::uint32_t> freed;    // stale handle -> payload offset it had
    std::vector<std::uint64_t> heads;                // head words after the last command (TG1)

    Sut() : h(make()) { heads = read_heads(); }

    static MatrixHandler make() {
        auto r = MatrixHandler::in_memory(MODEL_CAPACITY);
        if (!r) throw std::runtime_error("in_memory: " + r.error().message());
        return std::move(*r);
    }

    std::byte* at(std::uint32_t off) const { return h.raw_base_ptr() + off; }
    std::uint32_t header(std::uint32_t id) const { return payload.at(id) - BLOCK_HEADER_SIZE; }

    std::vector<std::uint64_t> read_heads() const {
        const auto& c = h.raw_matrix().context();
        std::vector<std::uint64_t> v(ProductionHeap::Map::CLASS_COUNT);
        for (std::uint32_t cls = 0; cls < v.size(); ++cls) v[cls] = c.head_w(cls).load(StdAtomicPolicy::relaxed);
        return v;
    }

    // The checks every command ends with; s1 is the model after the command.
    void after(const Model& s1) {
        const VerifyReport rep = h.verify();
        if (!rep.ok()) RC_FAIL("P3 verify() after the command: " + rep.to_string());
        check_blocks(s1);
        check_stats(s1, rep);
        check_tags();
    }

private:
    // P1, P2, P9: live blocks are disjoint, hold their request, keep their fill and their state.
    void check_blocks(const Model& s1) {
        RC_ASSERT(payload.size() == s1.live.size());
        std::map<std::uint32_t, std::uint32_t> spans;  // header -> end
        for (const auto& [id, b] : s1.live) {
            const std::uint32_t hdr = header(id);
            auto cap = h.raw_matrix().live_payload(hdr);
            RC_ASSERT(cap.has_value());
            RC_ASSERT(*cap >= b.request);
            spans[hdr] = hdr + BLOCK_HEADER_SIZE + *cap;
            if (b.fill != 0) RC_ASSERT(test::check_fill(at(payload.at(id)), static_cast<std::uint32_t>(b.request), b.fill));
            auto st = h.get_state(Block<std::byte>{payload.at(id)});
            RC_ASSERT(st.has_value());
            RC_ASSERT(*st == b.state);
        }
        std::uint32_t prev_end = h.first_block_offset();
        for (const auto& [hdr, end] : spans) {
            RC_ASSERT(hdr >= prev_end);  // P1
            prev_end = end;
        }
        RC_ASSERT(prev_end <= h.segment_size());
    }

    // P4: the walker's counts are the model's, and it agrees with verify() on free bytes.
    void check_stats(const Model& s1, const VerifyReport& rep) {
        const Stats st = h.stats();
        RC_ASSERT(st.complete);
        RC_ASSERT(st.transient_blocks == 0u);
        RC_ASSERT(st.allocated_blocks == s1.count_in_state(false));
        RC_ASSERT(st.user_state_blocks == s1.count_in_state(true));
        RC_ASSERT(st.data_bytes == s1.data_bytes);
        RC_ASSERT(st.free_bytes == rep.free_bytes);
        const std::uint64_t used = st.data_bytes - st.free_bytes;
        RC_ASSERT(used >= s1.live_bytes_min());
        RC_ASSERT(used <= s1.live_bytes_min() + MAX_SLACK * s1.live.size());
        if (s1.live.empty()) RC_ASSERT(st.free_bytes == std::uint64_t{s1.data_bytes});
    }

    // TG1: a head whose word changed has a new tag, moved forward by less than half the tag space.
    void check_tags() {
        auto now = read_heads();
        for (std::size_t cls = 0; cls < now.size(); ++cls) {
            if (now[cls] == heads[cls]) continue;
            const std::uint32_t delta = unpack_head(now[cls]).tag - unpack_head(heads[cls]).tag;
            if (delta == 0 || delta >= 0x80000000u) {
                RC_FAIL("TG1 violated: class " + std::to_string(cls) + " head changed, tag delta " + std::to_string(delta));
            }
        }
        heads = std::move(now);
    }
};

}  // namespace amx::prop
