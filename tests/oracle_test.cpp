// The oracle tested (issue 15, item 6): for every invariant id of verify() (docs/PROTOCOL.md
// section 14) and every way it can break, one row builds a healthy segment through the core API
// (tests/support/oracle_segment.hpp), corrupts it in exactly that way, word by word, and expects
// exactly that id: the set of ids reported is the row's set, and the row's first id is reported
// once, at the offsets the row names. A row with a second id names a corruption that necessarily
// breaks a second invariant (a bad size stops the walk, so blocks listed beyond it are not blocks
// of the chain: FL1). Rows with no id are healthy segments: no violation. Before every corruption
// the shape itself must verify clean, so each row fails in both directions.
//
// Positions: the first, a middle and the last block of the chain; the first, middle and last
// element of a list; the first and last first level and second level of the class grid (the
// overflow class through TinyGeometry); every transit slot. ci/mutants/oracle-*.mutant skip or
// invert each check and die here.
#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "support/oracle_segment.hpp"

namespace amx {
namespace {

using test::Fate;
using test::OracleSegment;
using test::Part;
using D = OracleSegment<DefaultGeometry>;
using T = OracleSegment<TinyGeometry>;
constexpr VerifyMode Q = VerifyMode::quiescent, AH = VerifyMode::after_heal;

// Where the row's first id must be reported: the violation's a and b (verify.hpp names them).
struct Where {
    std::uint32_t a = 0, b = 0;
};
enum class Shape { fresh, mixed };

template <Geometry G>
struct Case {
    std::string name;
    Shape shape;
    VerifyMode mode;
    std::function<Where(const OracleSegment<G>&)> corrupt;  // none: the healthy shape
    std::vector<std::string> ids;
};
template <Geometry G>
void PrintTo(const Case<G>& k, std::ostream* os) { *os << k.name; }

template <Geometry G>
struct Rows {
    using Corrupt = std::function<Where(const OracleSegment<G>&)>;
    std::vector<Case<G>> v;
    // A row on the mixed shape (most rows).
    void add(std::string name, Corrupt f, std::vector<std::string> ids, VerifyMode mode = Q) {
        v.push_back({std::move(name), Shape::mixed, mode, std::move(f), std::move(ids)});
    }
    // A healthy shape, verified as it is.
    void healthy(std::string name, Shape shape, VerifyMode mode) { v.push_back({std::move(name), shape, mode, {}, {}}); }
};

// DefaultGeometry, 64 KiB: free blocks between live ones in classes 3 (fl 0), 8 (sl 0, three
// blocks: list F5 -> F3 -> F1), 15 (sl 7) and 36; a MIN_BLOCK block first; both user-state bounds;
// a 96-byte last block (room to shorten it).
enum : int { A0, F1, A2, F3, U4, F5, A6, F7, A8, F9, U10, F11, A12, BIG, LAST };
constexpr std::uint32_t C3 = 3, C8 = 8, C15 = 15, C36 = 36;
using DMap = SizeClasses<DefaultGeometry>;
static_assert(DMap::mapping_insert(48) == C3 && DMap::mapping_insert(128) == C8 && DMap::mapping_insert(240) == C15 &&
              DMap::mapping_insert(1536) == C36);
const std::vector<Part> DEFAULT_MIXED = {
    {48, Fate::live}, {128, Fate::freed}, {48, Fate::live}, {128, Fate::freed}, {64, Fate::user_min},
    {128, Fate::freed}, {48, Fate::live}, {240, Fate::freed}, {48, Fate::live}, {48, Fate::freed},
    {48, Fate::user_max}, {1536, Fate::freed}, {48, Fate::live}, {0, Fate::live}, {96, Fate::live}};

// TinyGeometry (3 x 2 classes), 2 KiB: classes 3 (fl 1, sl 1), 4 (fl 2, sl 0) and the overflow
// class 5 (the last class, fl 2, sl 1; list F9 -> F7 -> F5); a MIN_BLOCK last block.
enum : int { TF1 = 1, TF3 = 3, TF5 = 5, TF7 = 7, TF9 = 9 };
const std::vector<Part> TINY_MIXED = {
    {48, Fate::live}, {64, Fate::freed}, {48, Fate::live}, {48, Fate::freed}, {48, Fate::live},
    {96, Fate::freed}, {48, Fate::live}, {128, Fate::freed}, {48, Fate::live}, {0, Fate::freed}, {48, Fate::live}};

template <Geometry G>
OracleSegment<G> make(Shape shape) {
    const bool tiny = std::is_same_v<G, TinyGeometry>;
    if (shape == Shape::fresh) return OracleSegment<G>(tiny ? 1u << 11 : 1u << 16, {});
    return OracleSegment<G>(tiny ? 1u << 11 : 1u << 16, tiny ? TINY_MIXED : DEFAULT_MIXED);
}

// Files listed block b (taken off its own list) at position pos of list cls.
template <Geometry G>
void file_under(const OracleSegment<G>& s, std::uint32_t b, std::uint32_t cls, std::size_t pos) {
    s.unlist(b);
    std::vector<std::uint32_t> l = s.list(cls);
    l.insert(l.begin() + static_cast<std::ptrdiff_t>(pos), b);
    s.relink(cls, l);
}

// TR1, every transit slot and the overflow line (core/transit.hpp).
template <Geometry G>
void add_transit_rows(Rows<G>& r) {
    using S = OracleSegment<G>;
    constexpr std::uint32_t last = S::SLOTS - 1;  // the overflow line
    for (std::uint32_t sl = 0; sl < S::SLOTS; ++sl) {
        const auto held = [sl](const S& s) { s.set_transit(sl, 0, 48); return Where{sl, 48}; };
        r.add("TR1_Slot" + std::to_string(sl) + "Holds", held, {"TR1"});
    }
    const auto underflow = [](const S& s) { s.set_transit(last, 9, ~0u); return Where{last, ~0u}; };
    r.add("TR1_OverflowLeftOnceTooOften", underflow, {"TR1"});
    r.add("Healthy_CountsOnEverySlot", [](const S& s) {
        for (std::uint32_t sl = 0; sl < S::SLOTS; ++sl) s.set_transit(sl, 7 + sl, 0);
        return Where{};
    }, {});
}

// The chain: HD1, SZ1, CH1, BL1, ST1, CO1.
void add_chain_rows(Rows<DefaultGeometry>& r) {
    const auto at = [](const D& s, int i, std::uint32_t field, std::uint32_t v) { s.put(s.block(i), field, v); };
    const auto check = [](const D& s, int i) { return s.c().expected_check(s.block(i)); };
    r.add("HD1_CheckZeroFirstBlock", [=](const D& s) { at(s, A0, hdr::CHECK, 0); return Where{s.block(A0)}; }, {"HD1"});
    const auto off_by = [=](const D& s, std::uint32_t d) { at(s, A6, hdr::CHECK, check(s, A6) + d); return Where{s.block(A6)}; };
    r.add("HD1_CheckAboveMiddleBlock", [=](const D& s) { return off_by(s, 2); }, {"HD1"});
    r.add("HD1_CheckBelowMiddleBlock", [=](const D& s) { return off_by(s, -2u); }, {"HD1"});
    r.add("HD1_CheckZeroListedBlock", [=](const D& s) { at(s, F7, hdr::CHECK, 0); return Where{s.block(F7)}; }, {"HD1"});
    r.add("HD1_CheckZeroLastBlock", [=](const D& s) { at(s, LAST, hdr::CHECK, 0); return Where{s.block(LAST)}; }, {"HD1"});
    const auto hd1_sz1 = [=](const D& s, int i) {
        at(s, i, hdr::CHECK, 0);
        at(s, i, hdr::SIZE, 8);
        return Where{s.block(i)};
    };
    r.add("HD1_AndSZ1FirstBlock", [=](const D& s) { return hd1_sz1(s, A0); }, {"HD1", "SZ1", "FL1"});
    r.add("HD1_AndSZ1LastBlock", [=](const D& s) { return hd1_sz1(s, LAST); }, {"HD1", "SZ1"});

    const auto size = [=](const D& s, int i, std::uint32_t v) { at(s, i, hdr::SIZE, v); return Where{s.block(i), v}; };
    r.add("SZ1_ZeroFirstBlock", [=](const D& s) { return size(s, A0, 0); }, {"SZ1", "FL1"});
    r.add("SZ1_BelowMinMiddleBlock", [=](const D& s) { return size(s, A6, 32); }, {"SZ1", "FL1"});
    r.add("SZ1_PastTheEndMiddleBlock", [=](const D& s) { return size(s, A6, s.end() - s.block(A6) + 16); }, {"SZ1", "FL1"});
    r.add("SZ1_BelowMinLastBlock", [=](const D& s) { return size(s, LAST, 32); }, {"SZ1"});
    r.add("SZ1_MisalignedLastBlock", [=](const D& s) { return size(s, LAST, 88); }, {"SZ1"});
    r.add("SZ1_PastTheEndLastBlock", [=](const D& s) { return size(s, LAST, 96 + 16); }, {"SZ1"});
    r.add("SZ1_WrapsLastBlock", [=](const D& s) { return size(s, LAST, 0xFFFFFFF0u); }, {"SZ1"});

    // The last block shortened: the next "header" lies 16 or 32 bytes before the end (no room), or
    // MIN_BLOCK before it (room: it is read, and what it holds is no header).
    const auto shorten = [=](const D& s, std::uint32_t by) {
        at(s, LAST, hdr::SIZE, 96 - by);
        return Where{s.end() - by, s.end()};
    };
    r.add("CH1_HeaderStraddlesTheEndBy16", [=](const D& s) { return shorten(s, 16); }, {"CH1"});
    r.add("CH1_HeaderStraddlesTheEndBy32", [=](const D& s) { return shorten(s, 32); }, {"CH1"});
    r.add("CH1_MinBlockBeforeTheEndIsReadAsAHeader", [=](const D& s) {
                     const std::uint32_t h = shorten(s, 48).a;
                     s.put(h, hdr::SIZE, 0);
                     s.put(h, hdr::CHECK, 0);
                     return Where{h};
                 }, {"HD1", "SZ1"});

    const auto prev = [=](const D& s, int i, std::uint32_t v) { at(s, i, hdr::PREV_PHYS, v); return Where{s.block(i), v}; };
    r.add("BL1_FirstBlockNotZero", [=](const D& s) { return prev(s, A0, 16); }, {"BL1"});
    r.add("BL1_MiddleBlockBelow", [=](const D& s) { return prev(s, A6, s.block(U4)); }, {"BL1"});
    r.add("BL1_MiddleBlockAbove", [=](const D& s) { return prev(s, A6, s.block(A6)); }, {"BL1"});
    r.add("BL1_ListedBlockZero", [=](const D& s) { return prev(s, F7, 0); }, {"BL1"});
    r.add("BL1_LastBlockBelow", [=](const D& s) { return prev(s, LAST, s.block(A12)); }, {"BL1"});
    r.add("BL1_LastBlockAbove", [=](const D& s) { return prev(s, LAST, s.block(LAST)); }, {"BL1"});

    const auto state = [=](const D& s, int i, std::uint32_t v) { at(s, i, hdr::STATE, v); return Where{s.block(i), v}; };
    r.add("ST1_AckedFirstBlock", [=](const D& s) { return state(s, A0, STATE_ACKED); }, {"ST1"});
    r.add("ST1_CoalescingMiddleBlock", [=](const D& s) { return state(s, A6, STATE_COALESCING); }, {"ST1"});
    r.add("ST1_LowestReservedMiddleBlock", [=](const D& s) { return state(s, A6, STATE_COALESCING + 1); }, {"ST1"});
    r.add("ST1_HighestReservedMiddleBlock", [=](const D& s) { return state(s, A6, USER_STATE_MIN - 1); }, {"ST1"});
    r.add("ST1_AckedLastBlock", [=](const D& s) { return state(s, LAST, STATE_ACKED); }, {"ST1"});
    r.add("ST1_CoalescingListedBlock", [=](const D& s) { return state(s, F5, STATE_COALESCING); }, {"ST1", "FL2"});

    // Two adjacent FREE blocks, both listed: a live block made FREE and pushed, word by word.
    const auto pair = [](const D& s, int listed, int left, int right) {
        s.list_free(s.block(listed));
        return Where{s.block(left), s.block(right)};
    };
    r.add("CO1_FirstPair", [=](const D& s) { return pair(s, A0, A0, F1); }, {"CO1"}, AH);
    r.add("CO1_MiddlePair", [=](const D& s) { return pair(s, A12, F11, A12); }, {"CO1"}, AH);
    r.add("CO1_LastPair", [=](const D& s) { s.list_free(s.block(BIG)); return pair(s, LAST, BIG, LAST); }, {"CO1"}, AH);
    r.add("Healthy_AdjacentFreeBlocksWhenQuiescent", [=](const D& s) { return pair(s, A12, F11, A12); }, {});
}

// The lists and their bits: FL1..FL6, BM1, BM2; and HL1.
void add_list_rows(Rows<DefaultGeometry>& r) {
    const auto b = [](const D& s, int i) { return s.block(i); };
    const auto in_big = [](const D& s) { return s.block(BIG) + 64; };  // aligned, inside a payload
    const auto inserted = [=](const D& s, std::size_t pos) {
        std::vector<std::uint32_t> l = {b(s, F5), b(s, F3), b(s, F1)};
        l.insert(l.begin() + static_cast<std::ptrdiff_t>(pos), in_big(s));
        s.relink(C8, l);
        return Where{C8, in_big(s)};
    };
    r.add("FL1_HeadNotABlock", [=](const D& s) { return inserted(s, 0); }, {"FL1", "FL6"});
    r.add("FL1_MiddleNotABlock", [=](const D& s) { return inserted(s, 1); }, {"FL1", "FL6"});
    const auto tail_to = [=](const D& s, std::uint32_t to) { s.link(b(s, F1), to); return Where{C8, to}; };
    r.add("FL1_TailLinkNotABlock", [=](const D& s) { return tail_to(s, in_big(s)); }, {"FL1"});
    r.add("FL1_TailLinkJustPastABlock", [=](const D& s) { return tail_to(s, b(s, F5) + 16); }, {"FL1"});
    r.add("FL1_TailLinkJustBeforeABlock", [=](const D& s) { return tail_to(s, b(s, A6) - 16); }, {"FL1"});
    r.add("FL1_TailLinkPastTheLastBlock", [=](const D& s) { return tail_to(s, b(s, LAST) + 16); }, {"FL1"});
    const auto head = [](const D& s, std::uint32_t h) { s.set_head(C8, h); return Where{C8, h}; };
    r.add("FL1_HeadInTheControlArea", [=](const D& s) { return head(s, s.c().first - 16); }, {"FL1", "FL6"});
    r.add("FL1_HeadPastTheEnd", [=](const D& s) { return head(s, s.end() + 64); }, {"FL1", "FL6"});

    const auto state = [=](const D& s, int i, std::uint32_t cls, std::uint32_t v) {
        s.put(b(s, i), hdr::STATE, v);
        return Where{cls, b(s, i)};
    };
    r.add("FL2_HeadAllocated", [=](const D& s) { return state(s, F5, C8, STATE_ALLOCATED); }, {"FL2"});
    r.add("FL2_MiddleInAUserState", [=](const D& s) { return state(s, F3, C8, USER_STATE_MIN); }, {"FL2"});
    r.add("FL2_TailAllocated", [=](const D& s) { return state(s, F1, C8, STATE_ALLOCATED); }, {"FL2"});
    r.add("FL2_FirstLevel0", [=](const D& s) { return state(s, F9, C3, STATE_ALLOCATED); }, {"FL2"});
    r.add("FL2_Class36", [=](const D& s) { return state(s, F11, C36, STATE_ALLOCATED); }, {"FL2"});

    // Listed twice: a cycle closes on the head, a middle element or the tail itself; a block of
    // class 3 also linked from a later class's list (FL3 there), or a class-8 block from class 3's
    // (walked first under the wrong class: FL4, then FL3 on its own list).
    const auto twice = [=](const D& s, int from, int to, std::uint32_t cls) {
        s.link(b(s, from), b(s, to));
        return Where{cls, b(s, to)};
    };
    r.add("FL3_CycleToTheHead", [=](const D& s) { return twice(s, F1, F5, C8); }, {"FL3"});
    r.add("FL3_CycleToTheMiddle", [=](const D& s) { return twice(s, F1, F3, C8); }, {"FL3"});
    r.add("FL3_TailLinksToItself", [=](const D& s) { return twice(s, F1, F1, C8); }, {"FL3"});
    r.add("FL3_AlsoOnALaterList", [=](const D& s) { return twice(s, F7, F9, C15); }, {"FL3"});
    r.add("FL3_AlsoOnAnEarlierList", [=](const D& s) { return twice(s, F9, F1, C8); }, {"FL3", "FL4"});

    const auto misfiled = [=](const D& s, std::uint32_t cls, std::size_t pos) {
        file_under(s, b(s, F9), cls, pos);
        return Where{cls, b(s, F9)};
    };
    r.add("FL4_SizeAboveItsClass", [=](const D& s) { return misfiled(s, C3 - 1, 0); }, {"FL4"});
    r.add("FL4_SizeBelowItsClass", [=](const D& s) { return misfiled(s, C3 + 1, 0); }, {"FL4"});
    r.add("FL4_HeadOfAnotherList", [=](const D& s) { return misfiled(s, C8, 0); }, {"FL4"});
    r.add("FL4_MiddleOfAnotherList", [=](const D& s) { return misfiled(s, C8, 1); }, {"FL4"});
    r.add("FL4_TailOfAnotherList", [=](const D& s) { return misfiled(s, C8, 3); }, {"FL4"});

    const auto link = [=](const D& s, int i, std::uint32_t to) { s.link(b(s, i), to); return Where{C8, to}; };
    r.add("FL5_TailLinkAtTheEnd", [=](const D& s) { return link(s, F1, s.end()); }, {"FL5"});
    r.add("FL5_TailLinkStraddlesTheEnd", [=](const D& s) { return link(s, F1, s.end() - 16); }, {"FL5"});
    r.add("FL5_TailLinkInTheControlArea", [=](const D& s) { return link(s, F1, s.c().first - 16); }, {"FL5"});
    r.add("FL5_TailLinkMisaligned", [=](const D& s) { return link(s, F1, b(s, A6) + 8); }, {"FL5"});
    r.add("FL5_HeadLinkAtTheEnd", [=](const D& s) { return link(s, F5, s.end()); }, {"FL5", "FL6"});
    r.add("FL5_MiddleLinkWraps", [=](const D& s) { return link(s, F3, 0xFFFFFFF0u); }, {"FL5", "FL6"});

    const auto unlisted = [=](const D& s, int i) { s.put(b(s, i), hdr::STATE, STATE_FREE); return Where{b(s, i)}; };
    r.add("FL6_FirstBlockFreeUnlisted", [=](const D& s) { return unlisted(s, A0); }, {"FL6"});
    r.add("FL6_MiddleBlockFreeUnlisted", [=](const D& s) { return unlisted(s, A6); }, {"FL6"});
    r.add("FL6_LastBlockFreeUnlisted", [=](const D& s) { return unlisted(s, LAST); }, {"FL6"});
    r.add("FL6_HeadDropped", [=](const D& s) { s.set_head(C8, b(s, F3)); return Where{b(s, F5)}; }, {"FL6"});
    r.add("FL6_TailDropped", [=](const D& s) { s.link(b(s, F3), 0); return Where{b(s, F1)}; }, {"FL6"});

    const auto no_sl = [](const D& s, std::uint32_t cls) { s.sl_bit(cls, false); return Where{cls}; };
    r.add("BM1_Class3FirstLevel0", [=](const D& s) { return no_sl(s, C3); }, {"BM1"});
    r.add("BM1_Class8SecondLevel0", [=](const D& s) { return no_sl(s, C8); }, {"BM1"});
    r.add("BM1_Class15LastSecondLevel", [=](const D& s) { return no_sl(s, C15); }, {"BM1"});
    r.add("BM1_Class36", [=](const D& s) { return no_sl(s, C36); }, {"BM1"});
    const auto no_fl = [](const D& s, std::uint32_t fl) { s.fl_bit(fl, false); return Where{fl, s.sl_word(fl)}; };
    r.add("BM2_FirstLevel0", [=](const D& s) { return no_fl(s, 0); }, {"BM2"});
    r.add("BM2_FirstLevel1", [=](const D& s) { return no_fl(s, 1); }, {"BM2"});
    r.add("BM2_FirstLevel4", [=](const D& s) { return no_fl(s, C36 / 8); }, {"BM2"});
    r.add("BM2_LastFirstLevelStaleSlBit", [](const D& s) {
                     const std::uint32_t last = DefaultGeometry::FL_COUNT - 1;
                     s.sl_bit(last * 8, true);
                     return Where{last, 1};
                 }, {"BM2"});
    r.add("Healthy_StaleBits", [](const D& s) { s.mark(20, true); s.fl_bit(10, true); return Where{}; }, {});

    const auto heals = [](const D& s, std::uint32_t v) { s.put(0, seg::HEALS_RUNNING, v); return Where{}; };
    r.add("HL1_OneHealRunning", [=](const D& s) { return heals(s, 1); }, {"HL1"});
    r.add("HL1_CounterWrapped", [=](const D& s) { return heals(s, ~0u); }, {"HL1"});
}

template <Geometry G>
void add_healthy_rows(Rows<G>& r) {
    r.healthy("Healthy_Fresh", Shape::fresh, Q);
    r.healthy("Healthy_FreshAfterHeal", Shape::fresh, AH);
    r.healthy("Healthy_Mixed", Shape::mixed, Q);
    r.healthy("Healthy_MixedAfterHeal", Shape::mixed, AH);
    r.add("Healthy_MixedHealed", [](const OracleSegment<G>& s) { s.heap.heap->heal(); return Where{}; }, {}, AH);
}

std::vector<Case<DefaultGeometry>> default_rows() {
    Rows<DefaultGeometry> r;
    add_healthy_rows(r);
    add_chain_rows(r);
    add_list_rows(r);
    add_transit_rows(r);
    return r.v;
}

// TinyGeometry: the last first level and the overflow class (the last class) are reachable.
std::vector<Case<TinyGeometry>> tiny_rows() {
    Rows<TinyGeometry> r;
    add_healthy_rows(r);
    const auto b = [](const T& s, int i) { return s.block(i); };
    r.add("BM1_Class3", [](const T& s) { s.sl_bit(3, false); return Where{3}; }, {"BM1"});
    r.add("BM1_Class4SecondLevel0", [](const T& s) { s.sl_bit(4, false); return Where{4}; }, {"BM1"});
    r.add("BM1_OverflowClass", [](const T& s) { s.sl_bit(5, false); return Where{5}; }, {"BM1"});
    r.add("BM2_FirstLevel1", [](const T& s) { s.fl_bit(1, false); return Where{1, s.sl_word(1)}; }, {"BM2"});
    r.add("BM2_LastFirstLevel", [](const T& s) { s.fl_bit(2, false); return Where{2, s.sl_word(2)}; }, {"BM2"});
    const auto allocated = [=](const T& s, int i) { s.put(b(s, i), hdr::STATE, STATE_ALLOCATED); return Where{5, b(s, i)}; };
    r.add("FL2_OverflowClassHead", [=](const T& s) { return allocated(s, TF9); }, {"FL2"});
    r.add("FL2_OverflowClassMiddle", [=](const T& s) { return allocated(s, TF7); }, {"FL2"});
    r.add("FL2_OverflowClassTail", [=](const T& s) { return allocated(s, TF5); }, {"FL2"});
    r.add("FL4_OverflowClass", [=](const T& s) { file_under(s, b(s, TF3), 5, 1); return Where{5, b(s, TF3)}; }, {"FL4"});
    r.add("FL6_Class4Dropped", [=](const T& s) { s.relink(4, {}); return Where{b(s, TF1)}; }, {"FL6"});
    r.add("HD1_LastMinBlock", [=](const T& s) { s.put(b(s, -1), hdr::CHECK, 0); return Where{b(s, -1)}; }, {"HD1"});
    add_transit_rows(r);
    return r.v;
}

template <Geometry G>
void expect_exactly_its_ids(const Case<G>& k) {
    const OracleSegment<G> s = make<G>(k.shape);
    const VerifyReport healthy = s.verify(k.mode);
    ASSERT_TRUE(healthy.ok()) << "the shape before the corruption\n" << healthy.to_string();
    const Where w = k.corrupt ? k.corrupt(s) : Where{};
    const VerifyReport r = s.verify(k.mode);
    std::set<std::string> ids;
    for (const Violation& v : r.violations) ids.insert(v.id);
    EXPECT_EQ(ids, std::set<std::string>(k.ids.begin(), k.ids.end())) << r.to_string();
    if (k.ids.empty()) return;
    int at = 0, anywhere = 0;
    for (const Violation& v : r.violations) {
        if (v.id != k.ids.front()) continue;
        ++anywhere;
        if (v.a == w.a && v.b == w.b) ++at;
    }
    EXPECT_EQ(anywhere, 1) << k.ids.front() << " reported once\n" << r.to_string();
    EXPECT_EQ(at, 1) << k.ids.front() << " at (0x" << std::hex << w.a << ", 0x" << w.b << ")\n" << r.to_string();
}

class OracleDefault : public ::testing::TestWithParam<Case<DefaultGeometry>> {};
class OracleTiny : public ::testing::TestWithParam<Case<TinyGeometry>> {};
TEST_P(OracleDefault, ReportsExactlyItsIds) { expect_exactly_its_ids(GetParam()); }
TEST_P(OracleTiny, ReportsExactlyItsIds) { expect_exactly_its_ids(GetParam()); }
const auto row_name = [](const auto& info) { return info.param.name; };
INSTANTIATE_TEST_SUITE_P(Rows, OracleDefault, ::testing::ValuesIn(default_rows()), row_name);
INSTANTIATE_TEST_SUITE_P(Rows, OracleTiny, ::testing::ValuesIn(tiny_rows()), row_name);

}  // namespace
}  // namespace amx
