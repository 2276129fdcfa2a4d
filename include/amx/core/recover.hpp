// Recovery after process death: the participant registry and recover().
//
// Registry. ControlLayout::REGISTRY holds REGISTRY_SLOTS 64-bit words, each 0 (free) or
// pack_participant(pid, start time). A process claims a slot by CAS 0 -> identity when it attaches
// and releases it by CAS identity -> 0 when it detaches; allocate() records slot + 1 in the block
// header's `allocated_by` word (Heap::record_allocated_by), so a live block names the process that
// allocated it.
// The core knows no processes: whether an identity is alive is the caller's predicate.
//
// recover() rebuilds every list from the physical chain. It is explicit (allocate and free never
// run it) and has a dry-run mode that only reports.
//   1. Plan (read-only): walk the chain (walk_chain, core/chain.hpp: every header is checked to
//      fit before the end before it is read, every size before it is followed; bounded by
//      max_blocks()). Every reachable header must carry its check word and a plausible size, and
//      the blocks must end exactly at the segment's end, or nothing is written: the error names
//      the broken invariant (chain_fault: "CH1: ...", "HD1: ..." or "SZ1: ...") and the offset
//      where the walk stopped. The walk is consistent at every point a participant can die: a
//      split writes M's header, then prev_phys(W), and only then shrinks B (before that store the
//      walk skips M); a join stores prev_phys(W), then grows the survivor, then kills the absorbed
//      header (before the size store the walk still meets it).
//   2. Classify: FREE, ACKED and COALESCING blocks become free (an ACKED block's user gave it up;
//      a COALESCING one was popped by a merger, a split or a heal). Live blocks (ALLOCATED, user
//      states) are kept if their recorded participant is alive; if it is dead they are orphans,
//      reclaimed when asked (reclaim_dead), else reported. Live blocks whose participant is unknown
//      (0, or its slot is empty) and blocks in reserved states are reported as leaked.
//   3. Apply: reset heals_running; empty every list (offset 0, tag kept), so no listed block is
//      absorbed; merge every run of adjacent free blocks into its first block (fields first, its
//      size last, then the absorbed headers are killed: a recover killed midway leaves a chain the
//      next recover walks); fix every prev_phys; rebuild each list from scratch with head tag =
//      old tag + 1 (TG1: tags keep growing); rewrite the bitmaps; clear the slots of dead
//      participants; last, reset the transit counts with release stores (@RC.transit): the one
//      publication of all the above to every operation that starts later (each enters transit).
//
// When it is safe (docs/RELIABILITY.md): only while every other participant is stopped or dead.
// recover() refuses (Errc::contention) when another live participant is registered, unless forced.
// A participant working concurrently could hold a popped block that recover lists, or lose a
// block it pushes while lists are rebuilt. Dry runs are safe at any time (they only read; on a
// live segment they report in-flight blocks as transient).
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "amx/core/chain.hpp"
#include "amx/core/context.hpp"
#include "amx/core/transit.hpp"
#include "amx/errc.hpp"

namespace amx {

// ---- registry -------------------------------------------------------------------------------

template <class C>
class Registry {
    using P = typename C::Policy;
    using L = typename C::Layout;

public:
    static constexpr std::uint32_t NONE = ~0u;
    explicit Registry(const C& ctx) : c_(ctx) {}

    // Claims the first free slot for `ident` (pack_participant); NONE if the registry is full.
    std::uint32_t claim(std::uint64_t ident) const {
        for (std::uint32_t i = 0; i < L::REGISTRY_SLOTS; ++i) {
            std::uint64_t seen = 0;
            // @RG.claim relaxed: the claim publishes nothing (our blocks come after it) and reads
            // nothing of the slot's past owner; the slot word itself is ordered by coherence (the
            // CAS reads 0 only after the release or clear that wrote it). A recover's scan that
            // reads our identity still synchronises with the previous owner's @RG.release, whose
            // release sequence our RMW continues. Whatever we read of recover's rewrite comes with
            // @RC.transit (docs/PROTOCOL.md §10).
            if (slot_w(i).load(P::relaxed) == 0 && slot_w(i).cas_strong(seen, ident, P::relaxed, P::relaxed)) {
                return i;
            }
            P::spin_hint();
        }
        return NONE;
    }

    // Takes over slot i from a participant the caller found dead (CAS, so two newcomers cannot both
    // take it). The dead one's live blocks are then attributed to the newcomer.
    bool take_over(std::uint32_t i, std::uint64_t dead, std::uint64_t ident) const {
        std::uint64_t seen = dead;
        // @RG.takeover relaxed: as @RG.claim (the dead participant published nothing we read; its
        // blocks are reached through lists and recover, never through its slot).
        return i < L::REGISTRY_SLOTS && slot_w(i).cas_strong(seen, ident, P::relaxed, P::relaxed);
    }

    // Registers `ident` (attach): claims a free slot; if none is free, takes over the slot of a
    // participant that alive(pid, start32) says is dead. NONE if every slot names a live one.
    template <class Alive>
    std::uint32_t enroll(std::uint64_t ident, Alive&& alive) const {
        const std::uint32_t got = claim(ident);
        for (std::uint32_t i = 0; got == NONE && i < L::REGISTRY_SLOTS; ++i) {
            const std::uint64_t v = read(i);
            if (v != 0 && !alive(participant_pid(v), participant_start(v)) && take_over(i, v, ident)) return i;
        }
        return got;
    }

    // Releases slot i if it still holds `ident` (a recover may have cleared it already).
    void release(std::uint32_t i, std::uint64_t ident) const {
        if (i >= L::REGISTRY_SLOTS) return;
        std::uint64_t seen = ident;
        // @RG.release release: pairs with @RG.scan acquire (our last block writes happen-before a
        // recover that sees the slot free; model scenario detach_vs_recover).
        slot_w(i).cas_strong(seen, 0, P::release, P::relaxed);
    }

    // @RG.scan acquire: pairs with @RG.release (detach_vs_recover).
    std::uint64_t read(std::uint32_t i) const { return slot_w(i).load(P::acquire); }
    // @RG.clear relaxed (recover only): a newcomer that claims the cleared slot reads recover's
    // rewrite only inside its operations, each of which first synchronises with @RC.transit.
    void clear(std::uint32_t i) const { slot_w(i).store(0, P::relaxed); }

private:
    auto slot_w(std::uint32_t i) const { return c_.mem.u64(L::REGISTRY + 8 * i); }
    const C& c_;
};

// ---- recover --------------------------------------------------------------------------------

struct RecoverOptions {
    bool dry_run = false;       // only report; write nothing
    bool reclaim_dead = false;  // free live blocks whose participant is dead
    bool force = false;         // run although other live participants are registered (unsafe)
};

struct RecoveredBlock {
    std::uint32_t offset, size, state, participant;  // participant: slot + 1, 0 = unknown
};

struct RecoverReport {
    bool dry_run = false;
    std::uint32_t blocks_before = 0, blocks_after = 0;
    std::uint32_t free_before = 0;       // FREE blocks found (listed or not)
    std::uint32_t transient = 0;         // ACKED or COALESCING blocks made FREE
    std::uint32_t merged = 0;            // free blocks absorbed into a left free neighbour
    std::uint32_t listed = 0;            // free blocks on the rebuilt lists
    std::uint32_t prev_fixed = 0;        // prev_phys words corrected
    std::uint32_t heals_reset = 0;       // heals_running found raised
    std::uint32_t transit_reset = 0;     // transit announcements found (participants in flight)
    std::uint32_t slots_released = 0;    // transit slots of participants that are gone
    std::uint32_t live_participants = 0, dead_participants = 0;
    std::uint64_t free_bytes = 0, live_bytes = 0, orphan_bytes = 0, leaked_bytes = 0;
    std::vector<RecoveredBlock> orphans;  // live blocks of dead participants (freed if reclaimed)
    bool orphans_reclaimed = false;
    std::vector<RecoveredBlock> leaked;   // live blocks nobody can be found for (kept as they are)
    std::string to_string() const;
};

inline std::string RecoverReport::to_string() const {
    std::string s = dry_run ? "recover (dry run): " : "recover: ";
    s += std::to_string(blocks_before) + " blocks -> " + std::to_string(blocks_after) + "; " +
         std::to_string(transient) + " transient freed, " + std::to_string(merged) + " merged, " +
         std::to_string(listed) + " listed, " + std::to_string(prev_fixed) + " back-links fixed, " +
         std::to_string(orphans.size()) + (orphans_reclaimed ? " orphans reclaimed (" : " orphans (") +
         std::to_string(orphan_bytes) + " B), " + std::to_string(leaked.size()) + " leaked (" +
         std::to_string(leaked_bytes) + " B); participants " + std::to_string(live_participants) +
         " live, " + std::to_string(dead_participants) + " dead";
    for (const auto& b : leaked) {
        char line[128];
        std::snprintf(line, sizeof line, "\n  leaked block at 0x%x, size %u, state %u, participant %u",
                      b.offset, b.size, b.state, b.participant);
        s += line;
    }
    return s;
}

template <class C>
class Recoverer {
    using P = typename C::Policy;
    using L = typename C::Layout;
    using Map = typename C::Map;
    using G = typename C::Geo;

public:
    explicit Recoverer(const C& ctx) : c_(ctx) {}
    static constexpr int LIVE_WALKS = 16;

    // alive(pid, start32) -> bool; self = the caller's participant id (slot + 1, 0 if none).
    template <class Alive>
    Result<RecoverReport> run(const RecoverOptions& o, std::uint32_t self, Alive&& alive) {
        rep_.dry_run = o.dry_run;
        scan_registry(self, alive);
        if (!o.dry_run && !o.force && others_alive_ > 0) {
            Error e{Errc::contention, others_alive_, 0, "recover: other live participants are registered"};
            return tl::unexpected(e);
        }
        // A dry run beside live participants reads a chain they are changing: a walk can meet a
        // header a merge has just killed, or a size being rewritten (a torn read, not corruption).
        // It walks again, up to LIVE_WALKS times; a chain broken at every walk is reported.
        const RecoverReport base = rep_;
        const int walks = o.dry_run && others_alive_ > 0 ? LIVE_WALKS : 1;
        std::string bad;
        for (int w = 0; w < walks; ++w) {
            rep_ = base;
            seen_.clear();
            bad = plan(o);
            if (bad.empty()) break;
        }
        if (!bad.empty()) return tl::unexpected(Error{Errc::corrupted, bad_at_, 0, bad});
        if (o.dry_run) return std::move(rep_);
        apply();
        return std::move(rep_);
    }

private:
    enum class Fate : std::uint8_t { keep, make_free };
    struct Seen {
        std::uint32_t offset, size, state, prev, participant;
        Fate fate;
    };

    template <class Alive>
    void scan_registry(std::uint32_t self, Alive& alive) {
        const Registry<C> reg(c_);
        dead_.assign(L::REGISTRY_SLOTS, false);
        live_.assign(L::REGISTRY_SLOTS, false);
        keep_slot_.assign(L::REGISTRY_SLOTS, false);
        for (std::uint32_t i = 0; i < L::REGISTRY_SLOTS; ++i) {
            const std::uint64_t v = reg.read(i);
            if (v == 0) continue;
            if (alive(participant_pid(v), participant_start(v))) {
                live_[i] = true;
                ++rep_.live_participants;
                if (i + 1 != self) ++others_alive_;
            } else {
                dead_[i] = true;
                ++rep_.dead_participants;
            }
        }
    }

    // The walk (core/chain.hpp, stopping at a header without its check word) and the
    // classification; returns a non-empty message, "ID: what", if the chain is broken.
    std::string plan(const RecoverOptions& o) {
        const ChainEnd end = walk_chain(c_, [&](const ChainBlock& b) { seen_.push_back(classify(b, o)); });
        if (!end.complete()) {
            bad_at_ = end.at;
            const ChainFault f = chain_fault(end.why);
            return std::string(f.id) + ": " + f.what;
        }
        rep_.blocks_before = static_cast<std::uint32_t>(seen_.size());
        return {};
    }

    Seen classify(const ChainBlock& blk, const RecoverOptions& o) {
        const std::uint32_t b = blk.offset, size = blk.size, state = blk.state;
        const std::uint32_t who = c_.word(b, hdr::ALLOCATED_BY).load(P::relaxed);
        Seen s{b, size, state, c_.prev_w(b).load(P::relaxed), who, Fate::make_free};
        if (state == STATE_FREE) { ++rep_.free_before; return s; }
        if (state == STATE_ACKED || state == STATE_COALESCING) { ++rep_.transient; return s; }
        const RecoveredBlock rb{b, size, state, who};
        const bool known = who >= 1 && who <= L::REGISTRY_SLOTS;
        if (is_live_state(state) && known && live_[who - 1]) {
            rep_.live_bytes += size;
        } else if (is_live_state(state) && known && dead_[who - 1]) {
            rep_.orphans.push_back(rb);
            rep_.orphan_bytes += size;
            rep_.orphans_reclaimed = o.reclaim_dead;
            if (o.reclaim_dead) return s;
            keep_slot_[who - 1] = true;  // its blocks stay attributed for a later reclaim
        } else {
            rep_.leaked.push_back(rb);  // unknown participant, or a reserved state (4..48)
            rep_.leaked_bytes += size;
        }
        s.fate = Fate::keep;
        return s;
    }

    void apply() {
        rep_.heals_reset = c_.seg_w(seg::HEALS_RUNNING).load(P::relaxed);
        // @RC.heals relaxed: the dead heal's raise; a heal's RMW reads the latest value anyway, and
        // @RC.transit publishes the store.
        c_.seg_w(seg::HEALS_RUNNING).store(0, P::relaxed);
        empty_lists();
        std::vector<std::uint32_t> heads(Map::CLASS_COUNT, 0);
        std::uint32_t prev = 0;
        for (std::size_t i = 0; i < seen_.size();) {
            const Seen& s = seen_[i];
            if (s.prev != prev) { c_.prev_w(s.offset).store(prev, P::relaxed); ++rep_.prev_fixed; }
            if (s.fate == Fate::keep) { prev = s.offset; ++i; continue; }
            std::size_t j = i + 1;
            std::uint32_t run = s.size;
            while (j < seen_.size() && seen_[j].fate == Fate::make_free) run += seen_[j++].size;
            make_free_block(s.offset, run, prev, i, j);
            const std::uint32_t cls = Map::mapping_insert(run);
            c_.hint_w(s.offset).store(cls, P::relaxed);
            c_.next_w(s.offset).store(heads[cls], P::relaxed);
            heads[cls] = s.offset;
            ++rep_.listed;
            rep_.free_bytes += run;
            prev = s.offset;
            i = j;
        }
        rep_.blocks_after = rep_.blocks_before - rep_.merged;
        publish_lists(heads);
        clear_dead_slots();
        reset_transit();
    }

    // Every list is emptied before any block is merged, so no listed block is ever absorbed (FL1
    // holds at every step; a recover killed midway leaves the lists empty, and the chain for the
    // next recover).
    void empty_lists() const {
        for (std::uint32_t cls = 0; cls < Map::CLASS_COUNT; ++cls) {
            const Head old = unpack_head(c_.head_w(cls).load(P::relaxed));
            c_.head_w(cls).store(pack_head({0, old.tag}), P::relaxed);
        }
    }

    // Transit slots (core/transit.hpp): with every other participant stopped or dead, nothing is
    // in transit: every announcement is stale (a dead thread's, or garbage). Clear them (keeping
    // each slot's allocation count, which generations continue from) and release the slots whose
    // participant is gone: dead, cleared from the registry, or no participant id at all.
    void reset_transit() {
        using T = Transit<C>;
        for (std::uint32_t i = 0; i <= L::TRANSIT_SLOTS; ++i) {
            auto hold = T::hold_w(c_, i);
            const std::uint64_t v = hold.load(P::relaxed);
            if (static_cast<std::uint32_t>(v) == 0) continue;
            ++rep_.transit_reset;
            // @RC.transit relaxed: a decider synchronises with recover through the rebuilt heads
            // (@RC.head); a cleared announcement publishes nothing else, and a newcomer in a
            // released slot reads it after @TR.claim, which pairs with @RC.slot below.
            hold.store(v & ~std::uint64_t{0xFFFFFFFF}, P::relaxed);
        }
        for (std::uint32_t i = 0; i < L::TRANSIT_SLOTS; ++i) {
            const std::uint64_t owner = T::owner_w(c_, i).load(P::relaxed);
            const std::uint32_t p = T::owner_participant(owner);
            if (owner == 0 || p == 0 || (p <= L::REGISTRY_SLOTS && live_[p - 1])) continue;
            // @RC.slot release: pairs with @TR.claim (a newcomer in the slot sees its word as we
            // left it and continues its count: model scenario recover_frees_slot).
            T::owner_w(c_, i).store(0, P::release);
            ++rep_.slots_released;
        }
    }

    // Blocks seen_[i..j) become one FREE block at seen_[i].offset of `run` bytes.
    void make_free_block(std::uint32_t b, std::uint32_t run, std::uint32_t prev, std::size_t i, std::size_t j) {
        c_.set_owned_state(b, STATE_FREE);
        c_.heal_token_w(b).store(0, P::relaxed);
        c_.word(b, hdr::ALLOCATED_BY).store(0, P::relaxed);
        c_.prev_w(b).store(prev, P::relaxed);
        if (j < seen_.size()) {
            const std::uint32_t w = seen_[j].offset;  // the next kept block: its left neighbour is b
            if (seen_[j].prev != b) { c_.prev_w(w).store(b, P::relaxed); ++rep_.prev_fixed; }
            seen_[j].prev = b;
        }
        c_.size_w(b).store(run, P::relaxed);  // from here on the walk skips the absorbed blocks
        for (std::size_t k = i + 1; k < j; ++k) {
            c_.kill_header(seen_[k].offset);
            ++rep_.merged;
        }
    }

    // Fresh lists: every head gets its rebuilt chain and the old tag + 1; bitmaps follow the lists.
    // The bitmap words are stored first, so that the heads' release publishes them too.
    void publish_lists(const std::vector<std::uint32_t>& heads) const {
        std::vector<std::uint32_t> sl(G::FL_COUNT, 0);
        std::uint32_t fl = 0;
        for (std::uint32_t cls = 0; cls < Map::CLASS_COUNT; ++cls) {
            if (heads[cls] == 0) continue;
            sl[cls / Map::SL_COUNT] |= 1u << (cls % Map::SL_COUNT);
            fl |= 1u << (cls / Map::SL_COUNT);
        }
        // @RC.bits.sl, @RC.bits.fl relaxed: published by @RC.head below. Every later change of a
        // bitmap word is an RMW, which reads the latest value; every bit test (@BM.test, a load)
        // follows a head CAS or a head re-check of its own, which synchronises with @RC.head, so
        // it reads these words or later ones (coherence). Stored after the heads, a pusher's test
        // could read the old word, skip a bit these stores then clear (model scenario
        // recover_then_resume: BM2).
        for (std::uint32_t f = 0; f < G::FL_COUNT; ++f) c_.sl_w(f).store(sl[f], P::relaxed);
        c_.fl_w().store(fl, P::relaxed);
        for (std::uint32_t cls = 0; cls < Map::CLASS_COUNT; ++cls) {
            const Head old = unpack_head(c_.head_w(cls).load(P::relaxed));
            // @RC.head release: pairs with @FL.pop.head, @OM.heads, @BM.recheck.head and the push
            // and splice CASes (@FL.push.cas, @CO.splice: seq_cst, so acquire too): whoever pops,
            // pushes or decides after recover sees the rebuilt chain, every header recover
            // rewrote and the bitmap words above (recover_then_resume, recover_then_attach).
            // Operations announce nothing when they start (core/transit.hpp), so the heads are
            // recover's publication.
            c_.head_w(cls).store(pack_head({heads[cls], next_tag<G>(old.tag)}), P::release);
        }
    }

    void clear_dead_slots() const {
        const Registry<C> reg(c_);
        for (std::uint32_t i = 0; i < L::REGISTRY_SLOTS; ++i) {
            if (dead_[i] && !keep_slot_[i]) reg.clear(i);
        }
    }

    const C& c_;
    RecoverReport rep_;
    std::vector<Seen> seen_;
    std::vector<bool> dead_, live_, keep_slot_;
    std::uint32_t others_alive_ = 0;
    std::uint32_t bad_at_ = 0;
};

}  // namespace amx
