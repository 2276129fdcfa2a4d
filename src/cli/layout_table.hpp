// The layout v1 table, generated from the layout types (never typed by hand): `amx layout` prints
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
    char line[160];
    auto row = [&](const char* area, std::size_t off, std::size_t size, const char* what) {
        std::snprintf(line, sizeof line, "| %s | %zu | %zu | %s |\n", area, off, size, what);
        s += line;
    };
    s += "| area | offset | bytes | field |\n|---|---|---|---|\n";
#define AMX_SEG(f, what) row("segment header", offsetof(SegmentHeader, f), sizeof(SegmentHeader::f), what)
    AMX_SEG(magic, "magic \"AMXSEG01\"");
    AMX_SEG(layout_version, "layout version (1)");
    AMX_SEG(header_size, "sizeof(SegmentHeader)");
    AMX_SEG(fingerprint, "layout fingerprint (FNV-1a of sizes, offsets, geometry)");
    AMX_SEG(capacity, "segment bytes");
    AMX_SEG(block_header_size, "block header bytes (32)");
    AMX_SEG(first_block_offset, "header offset of the first block");
    AMX_SEG(init_state, "init state (atomic): 0 uninitialised, 1 initialising, 2 ready, 3 failed");
    AMX_SEG(creator_pid, "creator pid");
    AMX_SEG(geometry, "fl_count, sl_log2, align_log2, tag_bits (one byte each)");
    AMX_SEG(creator_start, "creator start time (clock ticks since boot)");
    AMX_SEG(nonce, "random nonce (seeds header check words)");
    AMX_SEG(header_checksum, "checksum of the immutable fields above");
    AMX_SEG(heals_running, "heals in progress (atomic)");
    AMX_SEG(heal_serial, "heal token source (atomic)");
    AMX_SEG(reserved0, "0");
    AMX_SEG(reserved, "0 (room for later versions)");
#undef AMX_SEG
    row("control", L::FL_BITMAP, 4, "fl bitmap");
    row("control", L::SL_BITMAPS, 4 * DefaultGeometry::FL_COUNT, "sl bitmaps, one u32 per first level");
    row("control", L::HEADS, 8 * L::CLASS_COUNT, "list heads, u64 {tag:32 | offset:32} per class");
    row("control", L::REGISTRY, 8 * L::REGISTRY_SLOTS, "participant registry, u64 {start time:32 | pid:32} per slot, 0 = free");
    row("control", L::TRANSIT, 64 * L::TRANSIT_SHARDS, "transit words, u64 {epoch:32 | active:32} per 64-byte line (PROTOCOL.md section 6)");
    row("blocks", L::FIRST_BLOCK, 0, "first block header; blocks tile up to the capacity");
#define AMX_HDR(f, what) row("block header", offsetof(BlockHeader, f), sizeof(BlockHeader::f), what)
    AMX_HDR(size, "block bytes including this header");
    AMX_HDR(state, "state");
    AMX_HDR(prev_phys, "header offset of the left neighbour, 0 = none");
    AMX_HDR(next_free, "free-list link while listed");
    AMX_HDR(check, "header check word, 0 once absorbed");
    AMX_HDR(list_hint, "class last pushed to (hint)");
    AMX_HDR(owner, "heal token while heal owns the block");
    AMX_HDR(reserved, "participant slot + 1 of the allocating process, 0 = unregistered");
#undef AMX_HDR
    return s;
}

}  // namespace amx::cli
