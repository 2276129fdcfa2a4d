// verify(): the integrity checker, the one oracle of unit tests, properties, fuzzers and model
// scenarios. Read-only (relaxed loads through the policy), every loop bounded by the geometry.
// Meant for a quiescent segment; on a live one it may report transient states.
//
// Invariant ids (docs/PROTOCOL.md):
//   HD1 every block on the physical chain has its header check word
//   SZ1 every block size is >= MIN_BLOCK, aligned, and inside the segment
//   CH1 the blocks tile the data area exactly (the walk ends at the segment's end)
//   BL1 every prev_phys names the physical left neighbour (0 for the first block)
//   ST1 no block is left in a transient state (ACKED, COALESCING) or a reserved one (4..48)
//   FL1 every listed block is a block of the physical chain
//   FL2 every listed block is FREE
//   FL3 no block is listed twice (on one list: a cycle, reported at the first block met again; or two)
//   FL4 every listed block is filed under mapping_insert(size)
//   FL5 every next link is 0 or inside the segment (a head outside it names no block: FL1)
//   FL6 every FREE block is listed
//   BM1 a non-empty list has its sl bit set; BM2 a non-zero sl word has its fl bit set
//   HL1 no heal is running
//   TR1 no transit slot announces a held block, and the overflow line counts no holder
//   CO1 (strict mode: after heal) no two adjacent FREE blocks
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "amx/core/chain.hpp"
#include "amx/core/context.hpp"
#include "amx/core/heap.hpp"

namespace amx {

struct Violation {
    const char* id;  // invariant id, e.g. "CO1"
    std::uint32_t a = 0, b = 0;
    std::string what;
};

struct VerifyReport {
    std::vector<Violation> violations;
    std::uint32_t blocks = 0, free_blocks = 0, listed = 0, stale_bits = 0;
    std::uint64_t free_bytes = 0, used_bytes = 0;
    bool ok() const noexcept { return violations.empty(); }
    std::string to_string() const;
};

inline std::string VerifyReport::to_string() const {
    std::string s;
    char line[256];
    std::snprintf(line, sizeof line, "verify: %s; %u blocks (%u free, %u listed), %llu free bytes, %llu used, %u stale bits\n",
                  ok() ? "clean" : "VIOLATIONS", blocks, free_blocks, listed,
                  static_cast<unsigned long long>(free_bytes), static_cast<unsigned long long>(used_bytes), stale_bits);
    s += line;
    for (const auto& v : violations) {
        std::snprintf(line, sizeof line, "  %s violated: %s (at 0x%x, 0x%x)\n", v.id, v.what.c_str(), v.a, v.b);
        s += line;
    }
    return s;
}

enum class VerifyMode { quiescent, after_heal };

template <class C>
class Verifier {
    using P = typename C::Policy;
    using Map = typename C::Map;

public:
    explicit Verifier(const C& ctx) : c_(ctx) {}

    VerifyReport run(VerifyMode mode) {
        check_chain(mode);
        check_classes();
        for (const BlockSeen& st : blocks_) {
            if (st.state == STATE_FREE && st.listed == 0) add("FL6", st.offset, 0, "FREE block on no list");
        }
        if (c_.seg_w(seg::HEALS_RUNNING).load(P::relaxed) != 0) add("HL1", 0, 0, "heal still running");
        for (std::uint32_t s = 0; s <= C::Layout::TRANSIT_SLOTS; ++s) {
            const auto held = static_cast<std::uint32_t>(Transit<C>::hold_w(c_, s).load(P::relaxed));
            if (held != 0) add("TR1", s, held, "transit slot announces a held block at quiescence");
        }
        return std::move(rep_);
    }

private:
    struct BlockSeen {
        std::uint32_t offset, size, state;
        std::uint32_t listed = 0;
    };

    // The chain walk records blocks in ascending offset order, so a lookup is a binary search (no
    // hashing and one allocation per run: the fuzzers call verify() after every operation).
    BlockSeen* find_block(std::uint32_t b) {
        auto it = std::lower_bound(blocks_.begin(), blocks_.end(), b,
                                   [](const BlockSeen& s, std::uint32_t off) { return s.offset < off; });
        return it != blocks_.end() && it->offset == b ? &*it : nullptr;
    }

    void add(const char* id, std::uint32_t a, std::uint32_t b, std::string what) {
        if (rep_.violations.size() < 64) rep_.violations.push_back({id, a, b, std::move(what)});
    }

    // The chain (core/chain.hpp): HD1 for every header without its check word (the walk passes
    // it on), CH1/SZ1 where the walk stops; BL1, ST1 and CO1 block by block.
    void check_chain(VerifyMode mode) {
        std::uint32_t prev = 0, prev_state = ~0u;
        const ChainEnd end = walk_chain(c_, [&](const ChainBlock& blk) {
            check_block(blk, prev, prev_state, mode);
            prev = blk.offset;
            prev_state = blk.state;
        }, Unchecked::pass);
        // A header that lacks its check word and has a bad size stops the walk: HD1 first, as for
        // any block, then SZ1.
        if (!end.genuine) add_chain(ChainStop::no_check_word, end.at, 0);
        if (!end.complete()) add_chain(end.why, end.at, end.found);
    }

    void check_block(const ChainBlock& blk, std::uint32_t prev, std::uint32_t prev_state, VerifyMode mode) {
        const std::uint32_t b = blk.offset, state = blk.state;
        if (!blk.genuine) add_chain(ChainStop::no_check_word, b, 0);
        const std::uint32_t pp = c_.prev_w(b).load(P::relaxed);
        if (pp != prev) add("BL1", b, pp, "prev_phys does not name the left neighbour");
        if (state == STATE_ACKED || state == STATE_COALESCING || (state > STATE_COALESCING && state < USER_STATE_MIN)) {
            add("ST1", b, state, "transient or reserved state at quiescence");
        }
        if (mode == VerifyMode::after_heal && state == STATE_FREE && prev_state == STATE_FREE) {
            add("CO1", prev, b, "adjacent free blocks");
        }
        blocks_.push_back(BlockSeen{b, blk.size, state});
        ++rep_.blocks;
        if (state == STATE_FREE) { ++rep_.free_blocks; rep_.free_bytes += blk.size; }
        else rep_.used_bytes += blk.size;
    }

    void add_chain(ChainStop why, std::uint32_t a, std::uint32_t b) {
        const ChainFault f = chain_fault(why);
        add(f.id, a, b, f.what);
    }

    // Every class once: its list (FL1-FL5) and its bits (BM1, BM2), reading each head word once.
    void check_classes() {
        const std::uint32_t fl_map = c_.fl_w().load(P::relaxed);
        for (std::uint32_t fl = 0; fl < C::Geo::FL_COUNT; ++fl) {
            const std::uint32_t sl_map = c_.sl_w(fl).load(P::relaxed);
            if (sl_map != 0 && !(fl_map & (1u << fl))) add("BM2", fl, sl_map, "sl word set under a clear fl bit");
            for (std::uint32_t sl = 0; sl < Map::SL_COUNT; ++sl) {
                const std::uint32_t cls = fl * Map::SL_COUNT + sl;
                const std::uint32_t head = unpack_head(c_.head_w(cls).load(P::relaxed)).offset;
                const bool bit = sl_map & (1u << sl);
                if (head != 0 && !bit) add("BM1", cls, 0, "non-empty list with a clear bit");
                if (head == 0 && bit) ++rep_.stale_bits;
                if (head != 0) walk_list(cls, head);
            }
        }
    }

    void walk_list(std::uint32_t cls, std::uint32_t b) {
        for (std::uint32_t i = 0; b != 0; ++i) {
            // A guard, never reached while the checks below stand: each element walked is a block
            // of the chain met for the first time, and there are fewer than max_blocks() of them.
            if (i > c_.max_blocks()) { add("FL5", cls, b, "list does not end (cycle)"); return; }
            BlockSeen* st = find_block(b);
            if (st == nullptr) { add("FL1", cls, b, "listed offset is not a block"); return; }
            if (st->listed++ > 0) { add("FL3", cls, b, "block listed twice"); return; }
            ++rep_.listed;
            if (st->state != STATE_FREE) add("FL2", cls, b, "listed block is not FREE");
            if (Map::mapping_insert(st->size) != cls) add("FL4", cls, b, "block filed under the wrong class");
            b = c_.next_w(b).load(P::relaxed);
            if (!c_.plausible_link(b)) { add("FL5", cls, b, "list link outside the segment"); return; }
        }
    }

    const C& c_;
    VerifyReport rep_;
    std::vector<BlockSeen> blocks_;
};

template <AtomicPolicy P, Geometry G>
VerifyReport verify(const Heap<P, G>& heap, VerifyMode mode = VerifyMode::quiescent) {
    return Verifier<typename Heap<P, G>::Ctx>(heap.context()).run(mode);
}

}  // namespace amx
