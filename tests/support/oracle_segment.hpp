// A healthy segment of a known shape, built through the public core API, and the word-level edits
// the oracle tests (tests/oracle_test.cpp) corrupt it with. Every edit is a relaxed store through
// the policy: the segment is quiescent, so what verify() reads is exactly what the test wrote.
#pragma once
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "amx/core/chain.hpp"
#include "support/test_heap.hpp"

namespace amx::test {

// One block of a shape, in address order: its block size (header included; 0: whatever the other
// blocks leave of the data area) and what it is once the shape is built.
enum class Fate : std::uint8_t { live, freed, user_min, user_max };
struct Part {
    std::uint32_t size;
    Fate fate;
};

template <Geometry G>
class OracleSegment {
public:
    using H = typename TestHeap<G>::H;
    using Ctx = typename H::Ctx;
    using Map = SizeClasses<G>;
    using P = StdAtomicPolicy;
    static constexpr std::uint32_t USER_MAX = 0xFFFFFFFFu;

    // Allocates every part in address order (each allocation splits the front off the remainder),
    // then frees the `freed` ones in that order and sets the user states. Free blocks must have
    // live neighbours, so no free merges and the chain is exactly `parts` (plus a free remainder if
    // the sizes leave one).
    OracleSegment(std::uint32_t capacity, const std::vector<Part>& parts) : heap(capacity) {
        std::uint32_t fixed = 0;
        for (const Part& p : parts) fixed += p.size;
        std::vector<std::uint32_t> offs;
        for (const Part& p : parts) {
            const std::uint32_t size = p.size != 0 ? p.size : heap.data_bytes() - fixed;
            const auto b = heap->allocate(size - BLOCK_HEADER_SIZE);
            if (!b || heap->context().size_w(*b).load(P::relaxed) != size) {
                throw std::runtime_error("shape does not fit");
            }
            offs.push_back(*b);
        }
        for (std::size_t i = 0; i < parts.size(); ++i) {
            const Fate f = parts[i].fate;
            if (f == Fate::freed && !heap->free(offs[i])) throw std::runtime_error("free failed");
            if (f == Fate::user_min || f == Fate::user_max) {
                const std::uint32_t state = f == Fate::user_min ? USER_STATE_MIN : USER_MAX;
                if (!heap->set_state(offs[i], state)) throw std::runtime_error("set_state failed");
            }
        }
        walk_chain(c(), [&](const ChainBlock& b) { blocks_.push_back(b.offset); });
        if (blocks_.size() < parts.size() || !std::equal(offs.begin(), offs.end(), blocks_.begin())) {
            throw std::runtime_error("the chain is not the shape");
        }
    }

    const Ctx& c() const { return heap.heap->context(); }
    VerifyReport verify(VerifyMode m) const { return heap.verify(m); }
    // Header offset of block i in address order; i < 0 counts from the last block (-1).
    std::uint32_t block(int i) const { return blocks_.at(i >= 0 ? i : static_cast<int>(blocks_.size()) + i); }
    std::uint32_t end() const { return c().end; }

    std::uint32_t get(std::uint32_t b, std::uint32_t field) const { return c().word(b, field).load(P::relaxed); }
    void put(std::uint32_t b, std::uint32_t field, std::uint32_t v) const { c().word(b, field).store(v, P::relaxed); }
    std::uint32_t class_of(std::uint32_t b) const { return Map::mapping_insert(get(b, hdr::SIZE)); }

    // Lists: the head's offset (its tag moves on, as a CAS would move it) and the next links.
    std::uint32_t head(std::uint32_t cls) const { return unpack_head(c().head_w(cls).load(P::relaxed)).offset; }
    void set_head(std::uint32_t cls, std::uint32_t b) const {
        const Head h = unpack_head(c().head_w(cls).load(P::relaxed));
        c().head_w(cls).store(pack_head({b, next_tag<G>(h.tag)}), P::relaxed);
    }
    void link(std::uint32_t b, std::uint32_t next) const { put(b, hdr::NEXT_FREE, next); }
    std::vector<std::uint32_t> list(std::uint32_t cls) const {
        std::vector<std::uint32_t> out;
        for (std::uint32_t b = head(cls); b != 0 && out.size() < c().max_blocks(); b = get(b, hdr::NEXT_FREE)) {
            out.push_back(b);
        }
        return out;
    }
    // Makes list cls exactly `elems` (distinct offsets whose next words may be written) and sets its
    // bits, as a push would.
    void relink(std::uint32_t cls, const std::vector<std::uint32_t>& elems) const {
        for (std::size_t i = 0; i < elems.size(); ++i) link(elems[i], i + 1 < elems.size() ? elems[i + 1] : 0);
        set_head(cls, elems.empty() ? 0 : elems.front());
        if (!elems.empty()) mark(cls, true);
    }
    // Takes listed block b off its list (its bits stay: a stale bit is no violation).
    void unlist(std::uint32_t b) const {
        std::vector<std::uint32_t> l = list(class_of(b));
        std::erase(l, b);
        relink(class_of(b), l);
    }
    // Makes live block b FREE and pushes it on the list of its size, word by word.
    void list_free(std::uint32_t b) const {
        std::vector<std::uint32_t> l = list(class_of(b));
        l.insert(l.begin(), b);
        put(b, hdr::STATE, STATE_FREE);
        relink(class_of(b), l);
    }

    // Bitmaps: the sl bit of a class (with its fl bit when set, as a push sets both), the fl bit.
    void mark(std::uint32_t cls, bool on) const {
        sl_bit(cls, on);
        if (on) fl_bit(cls / Map::SL_COUNT, true);
    }
    void sl_bit(std::uint32_t cls, bool on) const { flip(c().sl_w(cls / Map::SL_COUNT), 1u << (cls % Map::SL_COUNT), on); }
    void fl_bit(std::uint32_t fl, bool on) const { flip(c().fl_w(), 1u << fl, on); }
    std::uint32_t sl_word(std::uint32_t fl) const { return c().sl_w(fl).load(P::relaxed); }

    // Transit slots (TR1): the hold word of each line, {count : high 32, held : low 32}; the last
    // line is the overflow line, {count, holders}. This and the TR1 rows of oracle_test.cpp are
    // all that name them.
    static constexpr std::uint32_t SLOTS = Ctx::Layout::TRANSIT_SLOTS + 1;
    void set_transit(std::uint32_t slot, std::uint32_t count, std::uint32_t held) const {
        Transit<Ctx>::hold_w(c(), slot).store(std::uint64_t{count} << 32 | held, P::relaxed);
    }

    TestHeap<G> heap;

private:
    template <class W>
    static void flip(W w, std::uint32_t bit, bool on) {
        w.store(on ? w.load(P::relaxed) | bit : w.load(P::relaxed) & ~bit, P::relaxed);
    }
    std::vector<std::uint32_t> blocks_;
};

}  // namespace amx::test
