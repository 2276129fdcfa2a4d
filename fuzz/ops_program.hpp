// The `ops` vocabulary: fuzz bytes decode to a program of heap operations that prints as text.
//
// Input layout: [geometry][blocks][nonce] then one op per opcode byte, each followed by its
// arguments. Bytes past the end read as 0, so every input is a program. Handles are indices into
// the model's live blocks (taken modulo their count at run time), so mutations keep programs
// meaningful: freeing "#3" still names a live block after an earlier op is deleted.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "support/input.hpp"

namespace amx::fuzz::ops {

enum class Kind : std::uint8_t {
    alloc,        // a = payload bytes
    free,         // a = handle index
    fill,         // a = handle index, b = tag
    check,        // a = handle index: live_payload and the fill pattern
    set_state,    // a = handle index, b = state (may be reserved)
    transition,   // a = handle index, b = expected (0x100 | x: "the current state"), c = next
    get_state,    // a = handle index
    free_at,      // a = mode (raw / near a live block / a freed block / huge), b = value
    heal,
    verify,       // verify(after_heal) right after a heal, quiescent otherwise
    stats,
    double_free,  // a = index into the recently freed offsets
    COUNT
};

struct Op {
    Kind kind;
    std::uint32_t a = 0, b = 0, c = 0;
    std::uint64_t n = 0;  // alloc size (64-bit: oversize requests are part of the contract)
};

struct Program {
    bool tiny = false;            // TinyGeometry instead of DefaultGeometry
    std::uint32_t blocks = 0;     // minimal blocks in the data area
    std::uint64_t nonce = 0;
    std::vector<Op> ops;
};

inline constexpr std::size_t MAX_OPS = 96;

// Request sizes: mostly small (the segment holds a few KiB), sometimes 16-bit, sometimes huge.
inline std::uint64_t decode_size(ByteReader& in) {
    const std::uint8_t b = in.u8();
    if (b < 0xF0) return b;
    if (b < 0xFE) return in.u16();
    if (b == 0xFE) return std::uint64_t{in.u32()} << 8;
    return ~std::uint64_t{0} - in.u8();  // near 2^64: must not wrap (U22)
}

inline Program decode(const std::uint8_t* data, std::size_t size) {
    ByteReader in(data, size);
    Program p;
    p.tiny = (in.u8() & 1) != 0;
    p.blocks = 2 + in.u8() % 62;
    p.nonce = in.u8() * 0x9E3779B97F4A7C15ull + 1;
    while (!in.empty() && p.ops.size() < MAX_OPS) {
        Op op{static_cast<Kind>(in.u8() % static_cast<std::uint8_t>(Kind::COUNT))};
        switch (op.kind) {
            case Kind::alloc: op.n = decode_size(in); break;
            case Kind::free: case Kind::check: case Kind::get_state: op.a = in.u8(); break;
            case Kind::fill: case Kind::set_state: op.a = in.u8(); op.b = in.u8(); break;
            case Kind::transition: {
                op.a = in.u8();
                const std::uint8_t e = in.u8();
                op.b = (e & 0x80) ? 0x100u : e;
                op.c = in.u8();
                break;
            }
            case Kind::free_at: op.a = in.u8() % 4; op.b = in.u16(); break;
            case Kind::double_free: op.a = in.u8(); break;
            default: break;
        }
        p.ops.push_back(op);
    }
    return p;
}

inline const char* kind_name(Kind k) {
    static const char* const names[] = {"alloc", "free", "fill", "check", "set_state", "transition",
                                        "get_state", "free_at", "heal", "verify", "stats", "double_free"};
    return names[static_cast<int>(k)];
}

}  // namespace amx::fuzz::ops
