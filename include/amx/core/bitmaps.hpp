// Bitmaps: a two-level summary of which free lists are non-empty (TLSF's fl/sl bitmaps).
//
// Invariants (checked by verify(), model-checked in model/):
//   BM1  at quiescence, a non-empty list has its sl bit set.
//   BM2  at quiescence, a non-zero sl word has its fl bit set.
//   A set bit over an empty list is allowed (conservative summary): the searcher tries the list,
//   finds it empty and clears the bit with mark_maybe_empty.
//
// Protocol (the original cleared bits unconditionally and lost blocks, U9):
//   set:   after a push is visible, set the leaf (sl) bit, then the summary (fl) bit.
//   clear: clear the leaf bit, then re-check the list; re-set the bit if it is non-empty. Clearing
//          the summary bit is the same one level up: clear it, re-check the sl word.
//   Why it is enough: pusher = {head CAS; fetch_or sl}, clearer = {fetch_and sl; load head}. Both
//   RMW the sl word, so one comes first. Pusher first: the clearer's acquire RMW reads from the
//   pusher's release RMW (or later), so the push happens-before the clearer's head load, which then
//   sees a non-empty list and re-sets the bit. Clearer first: the pusher's fetch_or sets it again.
//   Orderings: only the pushers' bit-sets release (@BM.set.*) and only the clears acquire
//   (@BM.clear.*). Outside recover (at quiescence) every change of a bitmap word is an RMW, so a
//   pusher's release RMW heads a release sequence that every later RMW of the word continues: a
//   clearer's acquire RMW synchronises with every pusher whose bit-set comes before it in the
//   word's modification order, whoever wrote the value it read. After that, coherence alone makes
//   the re-checks (@BM.recheck.head, @BM.recheck.sl) see those pushes: they read a value and use no
//   data behind it, so they are relaxed; a re-set (@BM.recheck.set.*) publishes nothing a clearer
//   needs (the pusher's own bit-set does), so it is relaxed; a clear publishes nothing (its thread
//   has only read), so it does not release.
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

    void mark_nonempty(std::uint32_t cls) const {
        const std::uint32_t fl = cls / Map::SL_COUNT, sl = cls % Map::SL_COUNT;
        // @BM.set.sl release: pairs with @BM.clear.sl acquire (the clearer then sees our push).
        c_.sl_w(fl).fetch_or(1u << sl, P::release);
        // @BM.set.fl release: pairs with @BM.clear.fl acquire (the clearer then sees our sl bit).
        c_.fl_w().fetch_or(1u << fl, P::release);
    }

    // Called by a searcher that found the list of `cls` empty.
    void mark_maybe_empty(std::uint32_t cls) const {
        const std::uint32_t fl = cls / Map::SL_COUNT, sl = cls % Map::SL_COUNT;
        // @BM.clear.sl acquire: pairs with @BM.set.sl (through the release sequence of the sl word's
        // RMWs): every push whose bit-set came first happens-before the re-check below.
        const std::uint32_t before = c_.sl_w(fl).fetch_and(~(1u << sl), P::acquire);
        // @BM.recheck.head relaxed: coherence (see the protocol above); only the offset is used.
        if (unpack_head(c_.head_w(cls).load(P::relaxed)).offset != 0) {
            c_.sl_w(fl).fetch_or(1u << sl, P::relaxed);  // @BM.recheck.set.sl relaxed: the re-set
            return;
        }
        if ((before & ~(1u << sl)) != 0) return;  // other classes of this fl are still marked
        // @BM.clear.fl acquire: pairs with @BM.set.fl (release sequence, as @BM.clear.sl).
        c_.fl_w().fetch_and(~(1u << fl), P::acquire);
        // @BM.recheck.sl relaxed: coherence, as @BM.recheck.head.
        if (c_.sl_w(fl).load(P::relaxed) != 0) {
            c_.fl_w().fetch_or(1u << fl, P::relaxed);  // @BM.recheck.set.fl relaxed: the re-set
        }
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
    const C& c_;
};

}  // namespace amx
