// Bitmaps: a two-level summary of which free lists are non-empty (TLSF's fl/sl bitmaps).
//
// Invariants (checked by verify(), model-checked in model/):
//   BM1  at quiescence, a non-empty list has its sl bit set.
//   BM2  at quiescence, a non-zero sl word has its fl bit set.
//   A set bit over an empty list is allowed (conservative summary): the searcher tries the list,
//   finds it empty and clears the bit with mark_maybe_empty.
//
// Protocol (the original cleared bits unconditionally and lost blocks, U9):
//   set:   after a push is visible, make sure the leaf (sl) bit is set, then the summary (fl) bit:
//          each is tested with a load first and set with fetch_or only if it is clear (a push to a
//          list whose bit is set, the usual case, costs no RMW on the bitmap line).
//   clear: clear the leaf bit, then re-check the list; if it is non-empty, set the bits again as a
//          pusher does (both levels). Clearing the summary bit is the same one level up: clear it,
//          re-check the sl word, set it again if the word is non-zero.
//   Why it is enough: pusher = {head CAS; test sl [fetch_or]}, clearer = {fetch_and sl; load head}.
//   That is the store-buffering shape, so every one of these operations is seq_cst (@FL.push.cas,
//   @CO.splice, @BM.test, @BM.set, @BM.clear.*, @BM.recheck.*), and all of them lie in one total
//   order S. BM1, at quiescence: if a list is non-empty and its bit clear, take the last change of
//   that bit (a clear, by C) and the last change of the head (a push, by T). T's push before C's
//   re-check in S: the re-check reads it (every earlier change of the head is an RMW with release,
//   so all of them happen before T's push) and C sets the bit again. T's push after C's re-check:
//   T's test comes after C's clear in S, reads the bit clear, and T sets it. Either way the last
//   change is a set: contradiction. BM2 is the same one level up, because whoever makes an sl bit
//   set, or finds it set, tests the fl bit afterwards (a re-set included: a re-set that skipped the
//   fl bit left a non-zero sl word under a clear fl bit when a second clearer emptied the word
//   meanwhile; model scenario bitmap_reset_vs_fl_clear).
//   On x86-64 seq_cst costs nothing here: RMWs are locked instructions anyway, seq_cst loads are
//   plain loads.
#pragma once
#include <bit>
#include <cstdint>

#include "amx/core/context.hpp"

namespace amx {

template <class C>
class Bitmaps {
    using P = typename C::Policy;
    using Map = typename C::Map;

public:
    static constexpr std::uint32_t NONE = ~0u;
    // Bits beyond the class grid (a corrupted word) are ignored, never turned into a class index.
    static constexpr std::uint32_t SL_MASK = Map::SL_COUNT >= 32 ? ~0u : (1u << Map::SL_COUNT) - 1;
    explicit Bitmaps(const C& ctx) : c_(ctx) {}

    // Called after a push (or splice) made list cls non-empty.
    void mark_nonempty(std::uint32_t cls) const {
        ensure(c_.sl_w(cls / Map::SL_COUNT), 1u << (cls % Map::SL_COUNT));
        ensure(c_.fl_w(), 1u << (cls / Map::SL_COUNT));
    }

    // Called by a searcher that found the list of `cls` empty.
    void mark_maybe_empty(std::uint32_t cls) const {
        const std::uint32_t fl = cls / Map::SL_COUNT, sl = cls % Map::SL_COUNT;
        // @BM.clear.sl seq_cst: in S before our re-check (see the protocol above).
        const std::uint32_t before = c_.sl_w(fl).fetch_and(~(1u << sl), P::seq_cst);
        // @BM.recheck.head seq_cst: reads every push that precedes it in S.
        if (unpack_head(c_.head_w(cls).load(P::seq_cst)).offset != 0) {
            mark_nonempty(cls);  // both levels, as a pusher (BM2)
            return;
        }
        if ((before & ~(1u << sl)) != 0) return;  // other classes of this fl are still marked
        // @BM.clear.fl seq_cst: as @BM.clear.sl, one level up.
        c_.fl_w().fetch_and(~(1u << fl), P::seq_cst);
        // @BM.recheck.sl seq_cst: as @BM.recheck.head.
        if (c_.sl_w(fl).load(P::seq_cst) != 0) ensure(c_.fl_w(), 1u << fl);
    }

    // The first marked class >= from, or NONE. Relaxed reads: a stale answer costs one empty pop.
    std::uint32_t find_from(std::uint32_t from) const {
        if (from >= Map::CLASS_COUNT) return NONE;
        std::uint32_t fl = from / Map::SL_COUNT;
        const std::uint32_t sl = from % Map::SL_COUNT;
        std::uint32_t sl_map = c_.sl_w(fl).load(P::relaxed) & (~0u << sl) & SL_MASK;
        if (sl_map != 0) return fl * Map::SL_COUNT + std::countr_zero(sl_map);
        const std::uint32_t fl_mask = fl + 1 >= 32 ? 0u : (~0u << (fl + 1));
        std::uint32_t fl_map = c_.fl_w().load(P::relaxed) & fl_mask;
        while (fl_map != 0) {
            fl = std::countr_zero(fl_map);
            if (fl >= C::Geo::FL_COUNT) return NONE;
            sl_map = c_.sl_w(fl).load(P::relaxed) & SL_MASK;
            if (sl_map != 0) return fl * Map::SL_COUNT + std::countr_zero(sl_map);
            fl_map &= fl_map - 1;  // summary bit over an empty word: look further up
        }
        return NONE;
    }

private:
    // Sets `bit` in `word` unless it is set already.
    template <class Word>
    static void ensure(Word word, std::uint32_t bit) {
        // @BM.test seq_cst: after our push (or the re-check that found one) in S, so a clear that
        // comes before it in S is seen, and one after it re-checks after our push (protocol above).
        if ((word.load(P::seq_cst) & bit) != 0) return;
        word.fetch_or(bit, P::seq_cst);  // @BM.set seq_cst: as @BM.test
    }

    const C& c_;
};

}  // namespace amx
