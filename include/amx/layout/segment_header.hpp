// Segment layout v1: the segment header at offset 0, the control area (bitmaps and free-list
// heads) after it, then the blocks. docs/LAYOUT.md describes it byte by byte.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "amx/layout/block_header.hpp"
#include "amx/layout/geometry.hpp"

namespace amx {

inline constexpr std::uint64_t SEGMENT_MAGIC = 0x3130474553584D41ull;  // "AMXSEG01" little-endian
inline constexpr std::uint32_t LAYOUT_VERSION = 3;

inline constexpr std::uint32_t INIT_UNINITIALIZED = 0;
inline constexpr std::uint32_t INIT_INITIALIZING = 1;
inline constexpr std::uint32_t INIT_READY = 2;
inline constexpr std::uint32_t INIT_FAILED = 3;

// Everything here is written once by the creator before init_state becomes READY, except the
// words marked (atomic), which change while the segment is in use.
struct SegmentHeader {
    std::uint64_t magic;               // SEGMENT_MAGIC
    std::uint32_t layout_version;      // LAYOUT_VERSION
    std::uint32_t header_size;         // sizeof(SegmentHeader)
    std::uint64_t fingerprint;         // layout_fingerprint<G>()
    std::uint32_t capacity;            // total segment bytes
    std::uint32_t block_header_size;   // BLOCK_HEADER_SIZE
    std::uint32_t first_block_offset;  // header offset of the first block
    std::uint32_t init_state;          // (atomic) INIT_*
    std::uint32_t creator_pid;         // process that formatted the segment
    std::uint32_t geometry;            // fl_count | sl_log2 << 8 | align_log2 << 16 | tag_bits << 24
    std::uint64_t creator_start;       // creator's start time (clock ticks since boot), pid reuse guard
    std::uint64_t nonce;               // random per segment; seeds header check words
    std::uint32_t header_checksum;     // checksum over every immutable field above
    std::uint32_t heals_running;       // (atomic) heal passes in progress
    std::uint32_t heal_serial;         // (atomic) source of unique heal tokens
    std::uint32_t reserved0;
    std::uint64_t reserved[8];         // 0; room for later versions
};
static_assert(sizeof(SegmentHeader) == 144);
static_assert(offsetof(SegmentHeader, init_state) % 4 == 0);

// What a header field is for, which decides who writes and who reads it.
enum class FieldRole : std::uint8_t {
    immutable,  // written once by format, covered by header_checksum
    checksum,   // header_checksum itself
    atomic,     // changes while the segment is in use (format writes its initial value)
    reserved,   // 0, room for later versions (written by format, read by nobody)
};

// One field of the segment header. Words of `word` bytes (4 or 8) are accessed with that width
// only; `bytes` is a multiple of it (reserved[8] is eight 8-byte words).
struct SegmentField {
    const char* name;
    std::uint32_t offset, bytes, word;
    FieldRole role;
    const char* meaning;  // the row of the layout table (`amx layout`, docs/LAYOUT.md)
};

// The header's fields in address order: the one list that format, read_header, header_checksum,
// `amx info` and the layout table (`amx layout`, checked against docs/LAYOUT.md) walk.
#define AMX_FIELD(f, role, meaning)                                                              \
    SegmentField {                                                                              \
        #f, offsetof(SegmentHeader, f), sizeof(SegmentHeader::f),                               \
            sizeof(std::remove_all_extents_t<decltype(SegmentHeader::f)>), FieldRole::role, meaning \
    }
inline constexpr SegmentField SEGMENT_FIELDS[] = {
    AMX_FIELD(magic, immutable, "magic \"AMXSEG01\""),
    AMX_FIELD(layout_version, immutable, "layout version (3)"),
    AMX_FIELD(header_size, immutable, "sizeof(SegmentHeader)"),
    AMX_FIELD(fingerprint, immutable, "layout fingerprint (FNV-1a of sizes, offsets, geometry)"),
    AMX_FIELD(capacity, immutable, "segment bytes"),
    AMX_FIELD(block_header_size, immutable, "block header bytes (32)"),
    AMX_FIELD(first_block_offset, immutable, "header offset of the first block"),
    AMX_FIELD(init_state, atomic, "init state (atomic): 0 uninitialised, 1 initialising, 2 ready, 3 failed"),
    AMX_FIELD(creator_pid, immutable, "creator pid"),
    AMX_FIELD(geometry, immutable, "fl_count, sl_log2, align_log2, tag_bits (one byte each)"),
    AMX_FIELD(creator_start, immutable, "creator start time (clock ticks since boot)"),
    AMX_FIELD(nonce, immutable, "random nonce (seeds header check words)"),
    AMX_FIELD(header_checksum, checksum, "checksum of the immutable fields above"),
    AMX_FIELD(heals_running, atomic, "heals in progress (atomic)"),
    AMX_FIELD(heal_serial, atomic, "heal token source (atomic)"),
    AMX_FIELD(reserved0, reserved, "0"),
    AMX_FIELD(reserved, reserved, "0 (room for later versions)"),
};
#undef AMX_FIELD

// The list covers the struct exactly: in address order, no gap, no overlap, whole words.
constexpr bool segment_fields_tile_the_header() noexcept {
    std::uint32_t next = 0;
    for (const SegmentField& f : SEGMENT_FIELDS) {
        if (f.offset != next || (f.word != 4 && f.word != 8) || f.bytes % f.word != 0 || f.offset % f.word != 0) {
            return false;
        }
        next = f.offset + f.bytes;
    }
    return next == sizeof(SegmentHeader);
}
static_assert(segment_fields_tile_the_header());

// A field's value in a plain header (one word; 4-byte fields zero-extended).
inline std::uint64_t field_value(const SegmentHeader& h, const SegmentField& f, std::uint32_t word_index = 0) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(&h) + f.offset + word_index * f.word;
    if (f.word == 4) {
        std::uint32_t v;
        std::memcpy(&v, p, 4);
        return v;
    }
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}
inline void set_field_value(SegmentHeader& h, const SegmentField& f, std::uint32_t word_index, std::uint64_t v) noexcept {
    auto* p = reinterpret_cast<unsigned char*>(&h) + f.offset + word_index * f.word;
    if (f.word == 4) {
        const auto v32 = static_cast<std::uint32_t>(v);
        std::memcpy(p, &v32, 4);
    } else {
        std::memcpy(p, &v, 8);
    }
}

namespace seg {
inline constexpr std::uint32_t INIT_STATE = offsetof(SegmentHeader, init_state);
inline constexpr std::uint32_t HEALS_RUNNING = offsetof(SegmentHeader, heals_running);
inline constexpr std::uint32_t HEAL_SERIAL = offsetof(SegmentHeader, heal_serial);
}  // namespace seg

constexpr std::uint32_t align_up(std::uint32_t v, std::uint32_t a) noexcept {
    return (v + a - 1) & ~(a - 1);
}

// Transit slots (core/transit.hpp): one per thread that operates on the segment, plus the
// overflow line. 63 for a full geometry (4 KiB with the overflow line: an 8 KiB segment still
// holds blocks), 4 for a tiny one, unless the geometry names its own (G::TRANSIT_SLOTS, optional).
template <Geometry G>
constexpr std::uint32_t transit_slots() noexcept {
    if constexpr (requires { G::TRANSIT_SLOTS; }) {
        return G::TRANSIT_SLOTS;
    } else {
        return G::FL_COUNT * (1u << G::SL_LOG2) >= 16 ? 63 : 4;
    }
}

// Participant registry size: 64 processes; geometries for model checking (a handful of classes)
// keep the segment small with 4.
template <Geometry G>
constexpr std::uint32_t registry_slots() noexcept {
    return G::FL_COUNT * (1u << G::SL_LOG2) >= 16 ? 64 : 4;
}

// A registry slot's value: {start time (low 32 bits of clock ticks since boot) : hi, pid : lo}.
// Never 0 for a real process (pid > 0).
constexpr std::uint64_t pack_participant(std::uint32_t pid, std::uint64_t start) noexcept {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(start)) << 32) | pid;
}
constexpr std::uint32_t participant_pid(std::uint64_t w) noexcept { return static_cast<std::uint32_t>(w); }
constexpr std::uint32_t participant_start(std::uint64_t w) noexcept { return static_cast<std::uint32_t>(w >> 32); }

// The control area: fl bitmap, sl bitmaps, the heads (64-bit {tag:hi, offset:lo}), the registry.
template <Geometry G>
struct ControlLayout {
    static constexpr std::uint32_t SL_COUNT = 1u << G::SL_LOG2;
    static constexpr std::uint32_t CLASS_COUNT = G::FL_COUNT * SL_COUNT;
    static constexpr std::uint32_t ALIGN = 1u << G::ALIGN_LOG2;
    static constexpr std::uint32_t BEGIN = sizeof(SegmentHeader);
    static constexpr std::uint32_t FL_BITMAP = BEGIN;
    static constexpr std::uint32_t SL_BITMAPS = FL_BITMAP + 4;
    static constexpr std::uint32_t HEADS = align_up(SL_BITMAPS + 4 * G::FL_COUNT, 64);
    static constexpr std::uint32_t END = HEADS + 8 * CLASS_COUNT;
    // The participant registry (appended after the heads; docs/RELIABILITY.md): REGISTRY_SLOTS
    // 64-bit words, each 0 (free) or pack_participant(pid, start time), claimed by CAS at attach
    // and released at detach. recover() uses it to tell blocks of dead processes from live ones.
    static constexpr std::uint32_t REGISTRY = align_up(END, 64);
    static constexpr std::uint32_t REGISTRY_SLOTS = registry_slots<G>();
    static constexpr std::uint32_t REGISTRY_END = REGISTRY + 8 * REGISTRY_SLOTS;
    // Transit slots (docs/PROTOCOL.md §6): one 64-byte line per thread, {owner u64, hold u64},
    // then the overflow line. A thread announces in its slot what it holds (core/transit.hpp).
    static constexpr std::uint32_t TRANSIT = align_up(REGISTRY_END, 64);
    static constexpr std::uint32_t TRANSIT_SLOTS = transit_slots<G>();
    static_assert(TRANSIT_SLOTS >= 1 && TRANSIT_SLOTS <= 254);
    static constexpr std::uint32_t TRANSIT_END = TRANSIT + 64 * (TRANSIT_SLOTS + 1);
    static constexpr std::uint32_t FIRST_BLOCK = align_up(TRANSIT_END, ALIGN);
    static constexpr std::uint32_t MIN_BLOCK = align_up(BLOCK_HEADER_SIZE + G::MIN_PAYLOAD, ALIGN);
    // The smallest segment that holds one minimal block.
    static constexpr std::uint32_t MIN_CAPACITY = FIRST_BLOCK + MIN_BLOCK;

    static constexpr std::uint32_t sl_bitmap(std::uint32_t fl) noexcept { return SL_BITMAPS + 4 * fl; }
    static constexpr std::uint32_t head(std::uint32_t cls) noexcept { return HEADS + 8 * cls; }
};

constexpr std::uint64_t fnv1a(std::uint64_t h, std::uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i) {
        h ^= (v >> (8 * i)) & 0xFF;
        h *= 0x100000001B3ull;
    }
    return h;
}

// A hash of every layout decision a peer must share: struct sizes, field offsets, geometry.
template <Geometry G>
constexpr std::uint64_t layout_fingerprint() noexcept {
    using C = ControlLayout<G>;
    std::uint64_t h = 0xCBF29CE484222325ull;
    for (std::uint64_t v : {std::uint64_t{sizeof(SegmentHeader)}, std::uint64_t{sizeof(BlockHeader)},
                            std::uint64_t{hdr::SIZE}, std::uint64_t{hdr::STATE},
                            std::uint64_t{hdr::PREV_PHYS}, std::uint64_t{hdr::NEXT_FREE},
                            std::uint64_t{hdr::CHECK}, std::uint64_t{hdr::LIST_HINT},
                            std::uint64_t{hdr::HEAL_TOKEN}, std::uint64_t{hdr::GENERATION}, std::uint64_t{G::ALIGN_LOG2},
                            std::uint64_t{G::SL_LOG2}, std::uint64_t{G::FL_COUNT},
                            std::uint64_t{G::TAG_BITS}, std::uint64_t{G::MIN_PAYLOAD},
                            std::uint64_t{C::HEADS}, std::uint64_t{C::FIRST_BLOCK},
                            std::uint64_t{C::REGISTRY}, std::uint64_t{C::REGISTRY_SLOTS},
                            std::uint64_t{C::TRANSIT}, std::uint64_t{C::TRANSIT_SLOTS}}) {
        h = fnv1a(h, v);
    }
    return h;
}

template <Geometry G>
constexpr std::uint32_t geometry_word() noexcept {
    return G::FL_COUNT | (G::SL_LOG2 << 8) | (G::ALIGN_LOG2 << 16) | (G::TAG_BITS << 24);
}

// Checksum over the immutable fields in address order (the others are skipped): FNV-1a of 64-bit
// values, an 8-byte field as one value, two 4-byte fields in a row as one (the first in the low
// half), a 4-byte field with no 4-byte partner after it alone (zero-extended).
inline std::uint32_t header_checksum(const SegmentHeader& h) noexcept {
    std::uint64_t x = 0xCBF29CE484222325ull;
    std::uint64_t low = 0;
    bool pending = false;  // low holds a 4-byte field waiting for its partner
    for (const SegmentField& f : SEGMENT_FIELDS) {
        if (f.role != FieldRole::immutable) continue;
        const std::uint64_t v = field_value(h, f);
        if (f.word == 4 && pending) {
            x = fnv1a(x, low | v << 32);
            pending = false;
        } else if (f.word == 4) {
            low = v;
            pending = true;
        } else {
            if (pending) x = fnv1a(x, low);
            pending = false;
            x = fnv1a(x, v);
        }
    }
    if (pending) x = fnv1a(x, low);
    return static_cast<std::uint32_t>(x ^ (x >> 32));
}

}  // namespace amx
