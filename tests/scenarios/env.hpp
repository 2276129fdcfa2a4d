// Scenario environment: a heap of a tiny or default geometry over a policy's memory, plus the test
// instruments every policy shares:
//   - fill / check_fill: payload patterns written through the same policy words, at the same
//     widths, as headers (relaxed, H9), so a CAS or store that lands on a stale header shows up as
//     a broken pattern;
//   - own / disown: a shadow of plain policy cells (rl::var under Relacy), one per 16-byte
//     granule, written by whoever owns the block; two owners of one block are a data race for the
//     model checker (and for TSan under the production policy).
// Scenarios (scenarios.hpp) are written once against this and run under every policy.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "amx/check/verify.hpp"
#include "amx/core/heap.hpp"

namespace amx::scenario {

template <AtomicPolicy P, Geometry G>
struct Env {
    using H = Heap<P, G>;
    using L = ControlLayout<G>;
    // The class of a minimal block: where the list scenarios (lists.hpp) push and pop.
    static constexpr std::uint32_t MIN_CLASS = SizeClasses<G>::mapping_insert(L::MIN_BLOCK);
    static constexpr std::uint32_t SHADOW_SLOTS = 128;  // one per 16-byte granule: 2 KiB of blocks

    H heap;
    std::array<typename P::template cell<std::uint32_t>, SHADOW_SLOTS> shadow{};

    explicit Env(H h) : heap(h) {}

    const auto& ctx() const { return heap.context(); }
    // The heap's free lists and bitmaps, driven directly by the list scenarios.
    FreeLists<typename H::Ctx> lists() const { return FreeLists<typename H::Ctx>(ctx()); }
    std::uint32_t payload_words(std::uint32_t hdr) const {
        return (ctx().size_w(hdr).load(P::relaxed) - BLOCK_HEADER_SIZE) / 4;
    }
    static std::uint32_t pattern(std::uint32_t tag, std::uint32_t i) { return (tag * 0x9E3779B1u) ^ (i * 0x85EBCA6Bu) ^ 0xA5A5A5A5u; }

    // Payload words at the width a header puts there: 64 bits where a header's state pair would
    // sit (offset % ALIGN == hdr::STATE_PAIR % ALIGN), 32 bits elsewhere. Under Relacy the two
    // widths are separate variables, so this is what lets a write to a stale header land on the
    // pattern.
    static bool pair_word(std::uint32_t off) { return off % L::ALIGN == hdr::STATE_PAIR % L::ALIGN; }
    static std::uint64_t pattern_pair(std::uint32_t tag, std::uint32_t i) {
        return pattern(tag, i) | (std::uint64_t{pattern(tag, i + 1)} << 32);
    }

    void fill(std::uint32_t hdr, std::uint32_t tag) const {
        const std::uint32_t n = payload_words(hdr);
        for (std::uint32_t i = 0; i < n; ++i) {
            const std::uint32_t off = hdr + BLOCK_HEADER_SIZE + 4 * i;
            if (pair_word(off)) {
                ctx().mem.u64(off).store(pattern_pair(tag, i++), P::relaxed);
            } else {
                ctx().mem.u32(off).store(pattern(tag, i), P::relaxed);
            }
        }
    }
    bool check_fill(std::uint32_t hdr, std::uint32_t tag) const {
        const std::uint32_t n = payload_words(hdr);
        for (std::uint32_t i = 0; i < n; ++i) {
            const std::uint32_t off = hdr + BLOCK_HEADER_SIZE + 4 * i;
            const bool ok = pair_word(off) ? ctx().mem.u64(off).load(P::relaxed) == pattern_pair(tag, i++)
                                           : ctx().mem.u32(off).load(P::relaxed) == pattern(tag, i);
            if (!ok) return false;
        }
        return true;
    }

    // Marks the slots of an owned block with `who` (non-zero); returns false if a slot was already
    // marked by someone else (a second owner).
    bool own(std::uint32_t hdr, std::uint32_t who) {
        bool alone = true;
        for_slots(hdr, [&](auto& cell) {
            if (cell.load() != 0) alone = false;
            cell.store(who);
        });
        return alone;
    }
    // A block a thread now holds: owned (as own) and filled with tag's pattern.
    bool hold(std::uint32_t hdr, std::uint32_t who, std::uint32_t tag) {
        const bool alone = own(hdr, who);
        fill(hdr, tag);
        return alone;
    }
    void disown(std::uint32_t hdr) {
        for_slots(hdr, [&](auto& cell) { cell.store(0); });
    }

    VerifyReport verify(VerifyMode m = VerifyMode::quiescent) const { return amx::verify(heap, m); }

private:
    template <class F>
    void for_slots(std::uint32_t hdr, F&& f) {
        const std::uint32_t size = ctx().size_w(hdr).load(P::relaxed);
        for (std::uint32_t off = hdr; off < hdr + size; off += L::ALIGN) {
            const std::uint32_t slot = (off - ctx().first) / L::ALIGN;
            if (slot < SHADOW_SLOTS) f(shadow[slot]);
        }
    }
};

// Collects failed expectations of a scenario; each policy's runner turns them into its own failure
// (gtest assertion, Relacy RL_ASSERT, fuzzer abort with the program).
struct Outcome {
    bool ok = true;
    std::string why;
    void expect(bool cond, const char* what) {
        if (!cond && ok) {
            ok = false;
            why = what;
        }
    }
    template <std::size_t N>
    void expect_each(const bool (&flags)[N], const char* what) {
        for (const bool f : flags) expect(f, what);
    }
    void expect_clean(const VerifyReport& r) {
        if (!r.ok() && ok) {
            ok = false;
            why = r.to_string();
        }
    }
};

}  // namespace amx::scenario
