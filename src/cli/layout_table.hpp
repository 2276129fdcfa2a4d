// The layout table (version LAYOUT_VERSION), generated from the layout types (never typed by hand): `amx layout` prints
// it and docs/LAYOUT.md embeds it; the cli test fails if they differ.
#pragma once
#include <cstddef>
#include <cstdio>
#include <string>

#include "amx/layout/segment_header.hpp"

namespace amx::cli {

inline std::string layout_table() {
    using L = ControlLayout<DefaultGeometry>;
    std::string s;
    char line[256];
    auto row = [&](const char* area, std::size_t off, std::size_t size, const char* name, const char* what) {
        std::snprintf(line, sizeof line, "| %s | %zu | %zu | `%s` | %s |\n", area, off, size, name, what);
        s += line;
    };
    s += "| area | offset | bytes | name | meaning |\n|---|---|---|---|---|\n";
    for (const SegmentField& f : SEGMENT_FIELDS) row("segment header", f.offset, f.bytes, f.name, f.meaning);
    row("control", L::FL_BITMAP, 4, "fl_bitmap", "fl bitmap");
    row("control", L::SL_BITMAPS, 4 * DefaultGeometry::FL_COUNT, "sl_bitmaps", "sl bitmaps, one u32 per first level");
    row("control", L::HEADS, 8 * L::CLASS_COUNT, "heads", "list heads, u64 {tag:32 | offset:32} per class");
    row("control", L::REGISTRY, 8 * L::REGISTRY_SLOTS, "registry", "participant registry, u64 {start time:32 | pid:32} per slot, 0 = free");
    row("control", L::TRANSIT, 64 * L::TRANSIT_SLOTS, "transit_slots", "per thread, 64 bytes: owner u64 {participant:32 | token:32} (0 = free), hold u64 {count:32 | held:32} at +8");
    row("control", L::TRANSIT + 64 * L::TRANSIT_SLOTS, 64, "transit_overflow", "threads without a slot: hold u64 {count:32 | holders:32} at +8");
    row("blocks", L::FIRST_BLOCK, 0, "first_block", "first block header; blocks tile up to the capacity");
#define AMX_HDR(f, what) row("block header", offsetof(BlockHeader, f), sizeof(BlockHeader::f), #f, what)
    AMX_HDR(size, "block bytes including this header");
    AMX_HDR(prev_phys, "header offset of the left neighbour, 0 = none");
    AMX_HDR(state, "state; with generation one u64 word, the state pair (every access is 64-bit)");
    AMX_HDR(generation, "the allocation's generation {transit slot + 1:8 | count:24}, checked against a handle's in the same word as the state; kept while freed");
    AMX_HDR(next_free, "free-list link while listed");
    AMX_HDR(check, "header check word, 0 once absorbed");
    AMX_HDR(list_hint, "FREE: class last pushed to (hint); live: allocated_by, participant slot + 1 of the allocating process, 0 = unregistered");
    AMX_HDR(heal_token, "heal token while heal owns the block, 0 otherwise");
#undef AMX_HDR
    return s;
}

}  // namespace amx::cli
