// Heap<P, G>: one segment's allocator, instantiated with an atomic policy and a size geometry.
// It composes the protocols (free lists, coalescing, allocation, heal) and adds the block-state
// operations of the handler contract. It knows words at offsets only: no files, names or processes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "amx/core/allocate.hpp"
#include "amx/core/coalesce.hpp"
#include "amx/core/context.hpp"
#include "amx/core/free_list.hpp"
#include "amx/core/heal.hpp"
#include "amx/core/slot_directory.hpp"
#include "amx/core/transit.hpp"
#include "amx/errc.hpp"

namespace amx {

struct FormatParams {
    std::uint64_t nonce = 0;
    std::uint32_t creator_pid = 0;
    std::uint64_t creator_start = 0;
};

template <AtomicPolicy P, Geometry G = DefaultGeometry>
class Heap {
public:
    using Ctx = Context<P, G>;
    using Layout = ControlLayout<G>;
    using Map = SizeClasses<G>;
    using Memory = typename P::Memory;
    // Attempts before allocation reports contention: the geometry's G::MAX_ALLOC_ATTEMPTS if it
    // names one and the policy can give the CPU away (P::yield_thread), else 64. Late attempts
    // yield, so DefaultGeometry's 1024 ride out a holder preempted for several scheduler
    // timeslices (a few ms in all). Without P::yield_thread extra attempts would only spin. The
    // model geometries name no budget, so the model checker keeps 64 although its policy has
    // yield_thread (rl::yield): every attempt is a branch it explores.
    static constexpr int MAX_ALLOC_ATTEMPTS = [] {
        if constexpr (requires { G::MAX_ALLOC_ATTEMPTS; P::yield_thread(); }) {
            return static_cast<int>(G::MAX_ALLOC_ATTEMPTS);
        } else {
            return 64;
        }
    }();
    static constexpr int YIELD_AFTER = 10;
    static constexpr int MAX_CLAIM_TRIES = 64;

    // Writes layout v1 into mem (the caller owns it exclusively) and publishes READY last.
    static Result<void> format(const Memory& mem, const FormatParams& fp);
    // Reads and checks the segment header; the segment must be READY.
    static Result<Heap> attach(const Memory& mem);
    // Reads the header words into a plain struct (relaxed loads; for checks and tools).
    static SegmentHeader read_header(const Memory& mem);

    // Returns the header offset of a block holding at least n payload bytes. Its generation
    // (generation(h)) names this allocation: a handle that carries it is refused once the block
    // has been freed and its memory allocated again.
    Result<std::uint32_t> allocate(std::uint64_t n) const;
    // Frees the live block whose header is at h (ALLOCATED or a user state). `gen`: the
    // generation the caller's handle carries; ANY_GENERATION checks only that h is live.
    Result<void> free(std::uint32_t h, std::uint32_t gen = ANY_GENERATION) const;
    HealReport heal() const {
        Transit<Ctx> t(ctx_, thread_slot());
        const Protocols p(ctx_, t);
        return p.heal.run();
    }

    // Block states. Without an order, get_state and transition_state use the handler contract's
    // defaults (@ST.get acquire, @ST.transition acq_rel; the handler forwards to these), with one
    // the caller's (seed contract). set_state always releases (@ST.store). `gen`: the generation
    // the caller's handle carries (ANY_GENERATION: liveness only); a block freed and allocated
    // again since is refused with invalid_offset, also when that happens during the call (each
    // call reads or CASes state and generation as one word, the state pair).
    Result<std::uint32_t> get_state(std::uint32_t h, std::uint32_t gen = ANY_GENERATION) const;
    Result<std::uint32_t> get_state(std::uint32_t h, typename P::order o, std::uint32_t gen = ANY_GENERATION) const;
    Result<void> set_state(std::uint32_t h, std::uint32_t state, std::uint32_t gen = ANY_GENERATION) const;
    Result<std::uint32_t> transition_state(std::uint32_t h, std::uint32_t expected, std::uint32_t next,
                                           std::uint32_t gen = ANY_GENERATION) const;
    Result<std::uint32_t> transition_state(std::uint32_t h, std::uint32_t expected, std::uint32_t next,
                                           typename P::order success, std::uint32_t gen = ANY_GENERATION) const;
    // Validates that h names a live block (of generation gen, unless ANY_GENERATION) and returns its
    // payload capacity in bytes and its generation, read in one load with the state.
    struct LiveBlock {
        std::uint32_t payload = 0, generation = 0;
    };
    Result<LiveBlock> live_block(std::uint32_t h, std::uint32_t gen = ANY_GENERATION) const;
    Result<std::uint32_t> live_payload(std::uint32_t h, std::uint32_t gen = ANY_GENERATION) const {
        return live_block(h, gen).map([](LiveBlock b) { return b.payload; });
    }
    // The generation of the live block at h (the caller owns it or has validated it).
    std::uint32_t generation(std::uint32_t h) const { return ctx_.pair(h).generation; }
    static constexpr std::uint32_t ANY_GENERATION = 0;

    // Chaos hook (issue 8): the participant registry slot + 1 of the process using this heap, or 0
    // (unregistered). allocate() records it in the block header's `allocated_by` word so recover() can
    // attribute live blocks of dead processes. Set once by the handler before the heap is shared:
    // copies share one slot directory, which records it in the slots it claims.
    void set_participant(std::uint32_t id) noexcept {
        participant_ = id;
        if (slots_) slots_->set_participant(id);
    }
    // A copy as another process would attach this segment: a slot directory of its own, which
    // claims slots for participant `id` (tests that play several participants in one process; a
    // copy's set_participant would change the directory every copy shares, under their feet).
    Heap as_participant(std::uint32_t id) const {
        Heap h(ctx_);
        h.alive_ = alive_;
        h.set_participant(id);
        return h;
    }
    // The memory's owner (a handler's mapping): kept alive until the last copy of this heap goes,
    // which then releases the transit slots its threads claimed (core/slot_directory.hpp).
    void keep_alive(std::shared_ptr<const void> mapping) noexcept {
        if (slots_) slots_->keep_alive(std::move(mapping));
    }
    // How the out-of-memory decision tells a dead participant's transit slot from a live one's
    // (its registry word in, alive or not out); unset: every registered participant counts as alive.
    void set_liveness(bool (*alive)(std::uint64_t registry_word)) noexcept { alive_ = alive; }
    std::uint32_t participant() const noexcept { return participant_; }

    const Ctx& context() const noexcept { return ctx_; }
    // This thread's transit slot (core/transit.hpp): the policy names it (the model checker), or
    // the process-local directory does (claimed on first use).
    std::uint32_t thread_slot() const {
        if constexpr (requires { P::thread_slot(); }) {
            return static_cast<std::uint32_t>(P::thread_slot()) % Layout::TRANSIT_SLOTS;
        } else {
            return slots_->slot();
        }
    }
    std::uint32_t first_block_offset() const noexcept { return ctx_.first; }
    std::uint32_t capacity() const noexcept { return ctx_.end; }
    std::uint32_t block_size_for(std::uint64_t n) const noexcept {
        const FreeLists<Ctx> lists(ctx_);
        const Coalescer<Ctx> co(ctx_, lists);
        return Allocator<Ctx>(ctx_, lists, co).block_size_for(n);
    }

private:
    // The protocol objects: a few references each, built per call so Heap stays a plain value.
    struct Protocols {
        Protocols(const Ctx& c, Transit<Ctx>& t) : lists(c, &t), co(c, lists), alloc(c, lists, co), heal(c, lists, co) {}
        Protocols(const Protocols&) = delete;
        FreeLists<Ctx> lists;
        Coalescer<Ctx> co;
        Allocator<Ctx> alloc;
        Healer<Ctx> heal;
    };

    explicit Heap(const Ctx& c) : ctx_(c) {
        if constexpr (!requires { P::thread_slot(); }) slots_ = std::make_shared<SlotDirectory<Ctx>>(ctx_);
    }
    bool vetoed(const Transit<Ctx>& t, std::uint32_t need) const {
        return t.vetoed(need, [this](std::uint64_t w) { return alive_ == nullptr || alive_(w); });
    }
    // Every word of field f, one relaxed access each at the field's own width (format publishes
    // its stores with @SEG.ready).
    static void store_field(const Memory& mem, const SegmentHeader& h, const SegmentField& f);
    static void load_field(const Memory& mem, SegmentHeader& h, const SegmentField& f);
    Result<std::uint32_t> claim_for_free(std::uint32_t h, std::uint32_t gen) const;
    // A pair's generation `seen` is the one a handle carries (any, for ANY_GENERATION).
    static bool generation_matches(std::uint32_t seen, std::uint32_t gen) {
        return gen == ANY_GENERATION || seen == gen;
    }
    Result<void> transition_allowed(std::uint32_t h, std::uint32_t expected, std::uint32_t next) const;
    // The pair a transition's CAS expects: the expected state and the handle's generation (the
    // block's current one for ANY_GENERATION).
    StatePair expected_pair(std::uint32_t h, std::uint32_t expected, std::uint32_t gen) const {
        return StatePair{expected, gen != ANY_GENERATION ? gen : ctx_.pair(h).generation};
    }
    // A transition's CAS that expected `want` saw `now` instead. Worth another try only when the
    // generation alone moved under an ANY_GENERATION call (the block was allocated again).
    static bool only_generation_moved(StatePair want, StatePair now, std::uint32_t gen) {
        return gen == ANY_GENERATION && now.state == want.state && now.generation != want.generation;
    }
    Result<std::uint32_t> transition_refused(std::uint32_t h, std::uint32_t expected, std::uint32_t gen,
                                             StatePair now) const {
        if (!generation_matches(now.generation, gen)) return fail(Errc::invalid_offset, h, now.generation);
        return fail(Errc::transition_failed, now.state, expected);
    }
    bool decisive_miss(const Protocols& p, Transit<Ctx>& t, std::uint32_t need, FitResult& out) const;
    // The allocation's one heal (U14); it leaves transit when done.
    static void heal_once(const Protocols& p, Transit<Ctx>& t, bool& healed) {
        p.heal.run();
        t.leave();
        healed = true;
    }
    bool heads_empty_from(std::uint32_t cls, std::uint64_t* heads) const;
    bool heads_unchanged_from(std::uint32_t cls, const std::uint64_t* heads) const;
    // Backoff between attempts: exponential spinning, then, for the later attempts, giving the CPU
    // away if the policy can (P::yield_thread, optional): a participant preempted while holding
    // the block we need can only finish if it runs. Bounded: MAX_ALLOC_ATTEMPTS in all.
    // Past half the budget a yield is not enough: sched_yield only hands the CPU to tasks on our
    // own runqueue, and a holder queued on another core's needs time, so we sleep briefly
    // (P::sleep_briefly, optional; production: 50 us, about 25 ms over the whole budget).
    static void backoff(int attempt) {
        if (attempt >= MAX_ALLOC_ATTEMPTS / 2) {
            if constexpr (requires { P::sleep_briefly(); }) {
                P::sleep_briefly();
                return;
            }
        }
        if (attempt >= YIELD_AFTER) {
            if constexpr (requires { P::yield_thread(); }) {
                P::yield_thread();
                return;
            }
        }
        const std::uint32_t spins = attempt >= 16 ? G::SETTLE_SPINS : (1u << attempt);
        for (std::uint32_t i = 0; i < spins && i < G::SETTLE_SPINS; ++i) P::spin_hint();
    }
    // Chaos hook: the block is ours (popped, not yet published); @AL.publish releases the store.
    void record_allocated_by(std::uint32_t b) const { ctx_.word(b, hdr::ALLOCATED_BY).store(participant_, P::relaxed); }

    Ctx ctx_;
    std::uint32_t participant_ = 0;
    bool (*alive_)(std::uint64_t) = nullptr;
    std::shared_ptr<SlotDirectory<Ctx>> slots_;  // shared by copies; releases our slots at the end
};

// ---- format / attach -------------------------------------------------------------------------

template <AtomicPolicy P, Geometry G>
void Heap<P, G>::store_field(const Memory& mem, const SegmentHeader& h, const SegmentField& f) {
    for (std::uint32_t k = 0; k < f.bytes / f.word; ++k) {
        const std::uint32_t off = f.offset + k * f.word;
        if (f.word == 4) mem.u32(off).store(static_cast<std::uint32_t>(field_value(h, f, k)), P::relaxed);
        else mem.u64(off).store(field_value(h, f, k), P::relaxed);
    }
}

template <AtomicPolicy P, Geometry G>
void Heap<P, G>::load_field(const Memory& mem, SegmentHeader& h, const SegmentField& f) {
    for (std::uint32_t k = 0; k < f.bytes / f.word; ++k) {
        const std::uint32_t off = f.offset + k * f.word;
        set_field_value(h, f, k, f.word == 4 ? mem.u32(off).load(P::relaxed) : mem.u64(off).load(P::relaxed));
    }
}

template <AtomicPolicy P, Geometry G>
SegmentHeader Heap<P, G>::read_header(const Memory& mem) {
    SegmentHeader h{};
    for (const SegmentField& f : SEGMENT_FIELDS) {
        if (f.role != FieldRole::reserved) load_field(mem, h, f);  // reserved: read by nobody
    }
    return h;
}

template <AtomicPolicy P, Geometry G>
Result<void> Heap<P, G>::format(const Memory& mem, const FormatParams& fp) {
    const std::uint64_t cap = mem.capacity();
    if (cap < Layout::MIN_CAPACITY || cap > 0xFFFFFFFFull || cap % Layout::ALIGN != 0) {
        return fail(Errc::invalid_size, cap, Layout::MIN_CAPACITY);
    }
    auto w32 = [&](std::uint32_t off, std::uint32_t v) { mem.u32(off).store(v, P::relaxed); };
    auto w64 = [&](std::uint32_t off, std::uint64_t v) { mem.u64(off).store(v, P::relaxed); };
    w32(seg::INIT_STATE, INIT_INITIALIZING);
    SegmentHeader h{};  // the atomic and reserved fields start at 0
    h.magic = SEGMENT_MAGIC;
    h.layout_version = LAYOUT_VERSION;
    h.header_size = sizeof(SegmentHeader);
    h.fingerprint = layout_fingerprint<G>();
    h.capacity = static_cast<std::uint32_t>(cap);
    h.block_header_size = BLOCK_HEADER_SIZE;
    h.first_block_offset = Layout::FIRST_BLOCK;
    h.creator_pid = fp.creator_pid;
    h.geometry = geometry_word<G>();
    h.creator_start = fp.creator_start;
    h.nonce = fp.nonce;
    h.header_checksum = header_checksum(h);
    for (const SegmentField& f : SEGMENT_FIELDS) {
        if (f.offset != seg::INIT_STATE) store_field(mem, h, f);  // init_state: READY, last
    }
    for (std::uint32_t off = Layout::FL_BITMAP; off < Layout::HEADS; off += 4) w32(off, 0);
    for (std::uint32_t c = 0; c < Map::CLASS_COUNT; ++c) w64(Layout::head(c), 0);
    // Registry and transit slots are 64-bit words; every offset is accessed with one width.
    static_assert(Layout::END % 8 == 0 && Layout::FIRST_BLOCK % 8 == 0);
    for (std::uint32_t off = Layout::END; off < Layout::FIRST_BLOCK; off += 8) w64(off, 0);

    Ctx ctx{mem, Layout::FIRST_BLOCK, h.capacity, static_cast<std::uint32_t>(h.nonce)};
    ctx.write_header(ctx.first, ctx.end - ctx.first, STATE_FREE, 0);
    FreeLists<Ctx> lists(ctx);
    lists.push(Map::mapping_insert(ctx.end - ctx.first), ctx.first);
    // @SEG.ready release: pairs with @SEG.attach acquire (every word above is visible to attachers).
    mem.u32(seg::INIT_STATE).store(INIT_READY, P::release);
    return {};
}

template <AtomicPolicy P, Geometry G>
Result<Heap<P, G>> Heap<P, G>::attach(const Memory& mem) {
    if (mem.capacity() < sizeof(SegmentHeader)) return fail(Errc::size_mismatch, mem.capacity(), sizeof(SegmentHeader));
    // @SEG.attach acquire: pairs with @SEG.ready release.
    const std::uint32_t init = mem.u32(seg::INIT_STATE).load(P::acquire);
    const SegmentHeader h = read_header(mem);
    if (h.magic != SEGMENT_MAGIC) return fail(Errc::bad_magic, h.magic, SEGMENT_MAGIC);
    if (h.layout_version != LAYOUT_VERSION) return fail(Errc::version_mismatch, h.layout_version, LAYOUT_VERSION);
    if (h.header_size != sizeof(SegmentHeader)) return fail(Errc::layout_mismatch, h.header_size, sizeof(SegmentHeader));
    if (h.fingerprint != layout_fingerprint<G>()) return fail(Errc::layout_mismatch, h.fingerprint, layout_fingerprint<G>());
    if (h.geometry != geometry_word<G>()) return fail(Errc::layout_mismatch, h.geometry, geometry_word<G>());
    if (h.header_checksum != header_checksum(h)) return fail(Errc::header_corrupted, h.header_checksum, header_checksum(h));
    if (h.capacity != mem.capacity()) return fail(Errc::size_mismatch, mem.capacity(), h.capacity);
    if (h.block_header_size != BLOCK_HEADER_SIZE || h.first_block_offset != Layout::FIRST_BLOCK) {
        return fail(Errc::layout_mismatch, h.first_block_offset, Layout::FIRST_BLOCK);
    }
    if (h.capacity < Layout::MIN_CAPACITY || h.capacity % Layout::ALIGN != 0) return fail(Errc::header_corrupted, h.capacity, Layout::MIN_CAPACITY);
    if (init == INIT_FAILED) return fail(Errc::init_failed, init, INIT_READY);
    if (init != INIT_READY) return fail(Errc::init_timeout, init, INIT_READY);
    return Heap(Ctx{mem, h.first_block_offset, h.capacity, static_cast<std::uint32_t>(h.nonce)});
}

// ---- allocate / free -------------------------------------------------------------------------

// The out-of-memory decision (U15; docs/PROTOCOL.md §6). One exhaustive attempt (every class head
// from the search class up, no bitmaps, then the request's own class, whose blocks we hold while we
// decide), then, in this order: H, the heads of every class that could hold a fitting block (from
// the request's insert class up), all empty; the transit slots, none of another live thread
// announcing a block of `need` bytes or more (@TR.scan); H2, the same heads again, unchanged (tags
// included, so no push, pop or detach touched them). Then at the moment we read the slots no list
// held a fitting block, and no thread held one:
//   - a block popped (or detached) before our H reading was announced before its CAS; our acquire
//     reading of that head saw the CAS or a later one, so the slot reading after it sees the
//     announcement, or the cleared word of a thread that published it since (@TR.leave release),
//     and then H2 sees that push; an allocation that took it took it before our decision;
//   - a block pushed between H and H2 changed a head's tag.
// A thread that holds nothing writes nothing and vetoes nobody. We announce only the blocks we
// really hold (settle), which are all smaller than `need`: two deciders never veto each other.
template <AtomicPolicy P, Geometry G>
bool Heap<P, G>::decisive_miss(const Protocols& p, Transit<Ctx>& t, std::uint32_t need, FitResult& out) const {
    std::uint32_t held = 0;
    out = p.alloc.try_fit(need, held, /*exhaustive=*/true);
    bool miss = false;
    if (out.status == FitStatus::none) {
        t.settle(p.alloc.largest_held(held));
        const std::uint32_t from = Map::mapping_insert(need);
        std::uint64_t heads[Map::CLASS_COUNT];
        miss = heads_empty_from(from, heads) && !vetoed(t, need) && heads_unchanged_from(from, heads);
    }
    p.alloc.release_held(held);
    // A fitting block we got stays announced until it is published (take: @AL.publish, then the
    // destructor's @TR.leave); everything else we held is back on its list.
    if (out.status != FitStatus::got) t.leave();
    return miss;
}

// H: every head from class `from` up is empty (acquire: pairs with the pops and detaches that
// emptied them, @FL.pop.cas / @FL.detach, so their transit announcements are visible to @TR.scan).
template <AtomicPolicy P, Geometry G>
bool Heap<P, G>::heads_empty_from(std::uint32_t from, std::uint64_t* heads) const {
    for (std::uint32_t c = from; c < Map::CLASS_COUNT; ++c) {
        heads[c] = ctx_.head_w(c).load(P::acquire);  // @OM.heads acquire: as above
        if (unpack_head(heads[c]).offset != 0) return false;
    }
    return true;
}

// H2: no head from class `from` up changed since H (same tag: no CAS at all in between).
template <AtomicPolicy P, Geometry G>
bool Heap<P, G>::heads_unchanged_from(std::uint32_t from, const std::uint64_t* heads) const {
    for (std::uint32_t c = from; c < Map::CLASS_COUNT; ++c) {
        // @OM.recheck relaxed: a push whose holder's cleared word @TR.scan read (acquire, pairing
        // with @TR.leave) happens-before this load, which therefore reads it or a later value
        // (coherence); a push that did not happen-before it is one we may linearize after.
        if (ctx_.head_w(c).load(P::relaxed) != heads[c]) return false;
    }
    return true;
}

template <AtomicPolicy P, Geometry G>
Result<std::uint32_t> Heap<P, G>::allocate(std::uint64_t n) const {
    Transit<Ctx> t(ctx_, thread_slot());
    const Protocols p(ctx_, t);
    const std::uint32_t need = p.alloc.block_size_for(n);
    if (need == 0) return fail(Errc::invalid_size, n, ctx_.end - ctx_.first - BLOCK_HEADER_SIZE);
    auto take = [&](std::uint32_t b) {
        record_allocated_by(b);
        p.alloc.finish(b, need, t.generation());
        return b;  // t's destructor clears our announcement (@TR.leave) after @AL.publish
    };
    bool healed = false;
    for (int attempt = 0; attempt < MAX_ALLOC_ATTEMPTS; ++attempt) {
        std::uint32_t held = 0;
        const FitResult r = p.alloc.try_fit(need, held);
        p.alloc.release_held(held);
        if (r.status == FitStatus::got) return take(r.block);
        t.leave();  // we hold nothing now: veto nobody while we back off
        if (r.status == FitStatus::corrupt) return fail(Errc::corrupted, r.block);
        if (r.status == FitStatus::none) {
            // A clean miss: decide. A block another thread holds (vetoed) is waited for, not
            // healed around; only a miss nobody vetoes heals (fragments may add up to a fit,
            // U14) and then decides again: out_of_memory needs a decisive miss after a heal.
            FitResult last{};
            const bool miss = decisive_miss(p, t, need, last);
            if (last.status == FitStatus::got) return take(last.block);
            if (last.status == FitStatus::corrupt) return fail(Errc::corrupted, last.block);
            if (miss && healed) return fail(Errc::out_of_memory, need);
            if (miss) {
                heal_once(p, t, healed);
                continue;
            }
        }
        // Interfered or vetoed for half the budget: heal anyway; fragments may add up to a fit
        // while the block we wait for stays held.
        if (!healed && attempt >= MAX_ALLOC_ATTEMPTS / 2) {
            heal_once(p, t, healed);
            continue;
        }
        backoff(attempt);
    }
    return fail(Errc::contention, need);
}

// Validates h (and its generation) and moves it from a live state to ACKED; returns the state it
// had. The claim's CAS compares state and generation in one word: a stale handle never claims the
// block of a later allocation at the same offset (STALE-STATE, docs/PROTOCOL.md §9).
template <AtomicPolicy P, Geometry G>
Result<std::uint32_t> Heap<P, G>::claim_for_free(std::uint32_t h, std::uint32_t gen) const {
    if (!ctx_.genuine_header(h)) return fail(Errc::invalid_offset, h);
    std::uint64_t seen = ctx_.pair_w(h).load(P::relaxed);
    for (int i = 0; i < MAX_CLAIM_TRIES; ++i) {
        const StatePair s = unpack_pair(seen);
        if (!is_live_state(s.state)) return fail(Errc::invalid_offset, h, s.state);
        if (!generation_matches(s.generation, gen)) return fail(Errc::invalid_offset, h, s.generation);
        const std::uint64_t acked = pack_pair({STATE_ACKED, s.generation});
        // @FR.claim acquire: pairs with @AL.publish and @ST.store release (the block's header as
        // its allocator left it). Failure relaxed: we only re-examine the pair.
        if (ctx_.pair_w(h).cas_strong(seen, acked, P::acquire, P::relaxed)) {
            if (ctx_.has_check_word(h) && ctx_.plausible_size(h, ctx_.size_w(h).load(P::relaxed))) {
                return s.state;
            }
            // h's header was absorbed and its memory reused by bytes that read as a live pair
            // (ANY_GENERATION or forged): undo and refuse.
            std::uint64_t mine = acked;
            ctx_.pair_w(h).cas_strong(mine, pack_pair(s), P::relaxed, P::relaxed);
            return fail(Errc::invalid_offset, h);
        }
        P::spin_hint();
    }
    return fail(Errc::contention, h);
}

template <AtomicPolicy P, Geometry G>
Result<void> Heap<P, G>::free(std::uint32_t h, std::uint32_t gen) const {
    auto claimed = claim_for_free(h, gen);
    if (!claimed) return tl::unexpected(claimed.error());
    Transit<Ctx> t(ctx_, thread_slot());  // coalescing announces the neighbours it pops
    const Protocols p(ctx_, t);
    const std::uint32_t survivor = p.co.coalesce(h);
    if (!p.co.publish_free(survivor)) return fail(Errc::contention, survivor);
    return {};
}

// ---- block states ----------------------------------------------------------------------------
// Each call reads or CASes the state pair (state and generation in one word): a handle whose block
// was freed and allocated again is refused with invalid_offset, never served the new owner's state.

template <AtomicPolicy P, Geometry G>
auto Heap<P, G>::live_block(std::uint32_t h, std::uint32_t gen) const -> Result<LiveBlock> {
    if (!ctx_.genuine_header(h)) return fail(Errc::invalid_offset, h);
    // @ST.load acquire: pairs with @AL.publish / @ST.store release.
    const StatePair s = unpack_pair(ctx_.pair_w(h).load(P::acquire));
    if (!is_live_state(s.state)) return fail(Errc::invalid_offset, h, s.state);
    if (!generation_matches(s.generation, gen)) return fail(Errc::invalid_offset, h, s.generation);
    const std::uint32_t size = ctx_.size_w(h).load(P::relaxed);
    if (!ctx_.plausible_size(h, size)) return fail(Errc::invalid_offset, h, size);
    return LiveBlock{size - BLOCK_HEADER_SIZE, s.generation};
}

template <AtomicPolicy P, Geometry G>
Result<std::uint32_t> Heap<P, G>::get_state(std::uint32_t h, std::uint32_t gen) const {
    if (!ctx_.genuine_header(h)) return fail(Errc::invalid_offset, h);
    // @ST.get acquire: the default; pairs with @ST.store and @ST.transition release (payload
    // written before the state change is visible; model scenario state_handoff).
    const StatePair s = unpack_pair(ctx_.pair_w(h).load(P::acquire));
    if (!generation_matches(s.generation, gen)) return fail(Errc::invalid_offset, h, s.generation);
    return s.state;
}

template <AtomicPolicy P, Geometry G>
Result<std::uint32_t> Heap<P, G>::get_state(std::uint32_t h, typename P::order o, std::uint32_t gen) const {
    if (!ctx_.genuine_header(h)) return fail(Errc::invalid_offset, h);
    const StatePair s = unpack_pair(ctx_.pair_w(h).load(o));  // the caller's ordering (seed contract)
    if (!generation_matches(s.generation, gen)) return fail(Errc::invalid_offset, h, s.generation);
    return s.state;
}

template <AtomicPolicy P, Geometry G>
Result<void> Heap<P, G>::set_state(std::uint32_t h, std::uint32_t state, std::uint32_t gen) const {
    if (!is_user_state(state)) return fail(Errc::reserved_status, state, USER_STATE_MIN);
    if (!ctx_.genuine_header(h)) return fail(Errc::invalid_offset, h);
    std::uint64_t seen = ctx_.pair_w(h).load(P::relaxed);
    for (int i = 0; i < MAX_CLAIM_TRIES; ++i) {
        const StatePair s = unpack_pair(seen);
        // Only a live block's state is replaced (U23: the original clobbered free blocks), and only
        // while it is the allocation the handle names.
        if (!is_live_state(s.state)) return fail(Errc::invalid_offset, h, s.state);
        if (!generation_matches(s.generation, gen)) return fail(Errc::invalid_offset, h, s.generation);
        // @ST.store release: pairs with @ST.load / @FR.claim acquire (payload written before the
        // state change is visible to whoever observes the new state).
        if (ctx_.pair_w(h).cas_weak(seen, pack_pair({state, s.generation}), P::release, P::relaxed)) return {};
        P::spin_hint();
    }
    return fail(Errc::contention, h);
}

template <AtomicPolicy P, Geometry G>
Result<void> Heap<P, G>::transition_allowed(std::uint32_t h, std::uint32_t expected, std::uint32_t next) const {
    if (!is_user_state(next)) return fail(Errc::reserved_status, next, USER_STATE_MIN);
    if (!is_live_state(expected)) return fail(Errc::reserved_status, expected, USER_STATE_MIN);
    if (!ctx_.genuine_header(h)) return fail(Errc::invalid_offset, h);
    return {};
}

template <AtomicPolicy P, Geometry G>
Result<std::uint32_t> Heap<P, G>::transition_state(std::uint32_t h, std::uint32_t expected, std::uint32_t next,
                                                   std::uint32_t gen) const {
    if (auto ok = transition_allowed(h, expected, next); !ok) return tl::unexpected(ok.error());
    for (int i = 0; i < MAX_CLAIM_TRIES; ++i) {
        const StatePair want = expected_pair(h, expected, gen);
        std::uint64_t seen = pack_pair(want);
        // @ST.transition acq_rel: the default. Release: pairs with @ST.get / @ST.load / @FR.claim and
        // this CAS of the next owner (the payload written before the hand-off); acquire: pairs with
        // @AL.publish, @ST.store and this CAS of the previous owner (model scenario
        // transition_handoff). Failure relaxed (seed contract).
        if (ctx_.pair_w(h).cas_strong(seen, pack_pair({next, want.generation}), P::acq_rel, P::relaxed)) return expected;
        const StatePair now = unpack_pair(seen);
        if (!only_generation_moved(want, now, gen)) return transition_refused(h, expected, gen, now);
        P::spin_hint();
    }
    return fail(Errc::contention, h);
}

template <AtomicPolicy P, Geometry G>
Result<std::uint32_t> Heap<P, G>::transition_state(std::uint32_t h, std::uint32_t expected,
                                                   std::uint32_t next, typename P::order success,
                                                   std::uint32_t gen) const {
    if (auto ok = transition_allowed(h, expected, next); !ok) return tl::unexpected(ok.error());
    for (int i = 0; i < MAX_CLAIM_TRIES; ++i) {
        const StatePair want = expected_pair(h, expected, gen);
        std::uint64_t seen = pack_pair(want);
        // The caller's success ordering; failure relaxed (seed contract).
        if (ctx_.pair_w(h).cas_strong(seen, pack_pair({next, want.generation}), success, P::relaxed)) return expected;
        const StatePair now = unpack_pair(seen);
        if (!only_generation_moved(want, now, gen)) return transition_refused(h, expected, gen, now);
        P::spin_hint();
    }
    return fail(Errc::contention, h);
}

}  // namespace amx
