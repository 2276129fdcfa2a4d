// The handler: the seed's MatrixHandler / SharedHandler API in C++ idiom (README has the name map).
//
// MatrixHandler owns the mapping (move-only); share() hands out SharedHandlers, which are copyable
// and keep the mapping alive (shared ownership), so none can outlive it. Both expose the same
// operations through HandlerBase. Errors are tl::expected<T, Error>; nothing throws on the hot path.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <unistd.h>

#include "amx/check/verify.hpp"
#include "amx/check/walker.hpp"
#include "amx/core/heap.hpp"
#include "amx/core/recover.hpp"
#include "amx/errc.hpp"
#include "amx/handler/block.hpp"
#include "amx/platform/segment.hpp"
#include "amx/policy/std_policy.hpp"

namespace amx {

using ProductionHeap = Heap<StdAtomicPolicy, DefaultGeometry>;
extern template class Heap<StdAtomicPolicy, DefaultGeometry>;

// Memory orderings for get_state / transition_state (the policy's, so no std:: names leak here).
using Order = StdAtomicPolicy::order;
namespace order {
inline constexpr Order relaxed = StdAtomicPolicy::relaxed;
inline constexpr Order acquire = StdAtomicPolicy::acquire;
inline constexpr Order release = StdAtomicPolicy::release;
inline constexpr Order acq_rel = StdAtomicPolicy::acq_rel;
inline constexpr Order seq_cst = StdAtomicPolicy::seq_cst;
}  // namespace order

class SharedHandler;

// Whether the process a registry slot names still runs: same pid and the same low 32 bits of its
// start time (pid reuse; a slot that recorded no start time matches any). process_alive decides, so
// a zombie counts as dead here exactly as it does for a segment's creator.
inline bool participant_alive(std::uint32_t pid, std::uint32_t start32) {
    return process_alive(pid, start32, start32 == 0 ? 0 : 0xFFFFFFFFu);
}
// The same for a registry word (the out-of-memory decision's view of a transit slot's owner).
inline bool registry_word_alive(std::uint64_t w) { return participant_alive(participant_pid(w), participant_start(w)); }

// This process's registry slot while a MatrixHandler lives. Claimed at attach; released at
// destruction, and only by the process that claimed it (a forked child keeps its parent's slot).
// It keeps the mapping alive until the release (a handler move-assigned over another drops the
// old mapping before its claim).
// A full registry recycles the slot of a dead participant (its blocks are then attributed to us).
class ParticipantClaim {
    using Ctx = ProductionHeap::Ctx;

public:
    ParticipantClaim() = default;
    ParticipantClaim(const Ctx& ctx, MappingPtr keep) : ctx_(ctx), keep_(std::move(keep)) {
        const auto pid = static_cast<std::uint32_t>(::getpid());
        ident_ = pack_participant(pid, process_start_time(static_cast<pid_t>(pid)));
        slot_ = Registry<Ctx>(ctx_).enroll(ident_, participant_alive);
        // Transit slots still naming this registry slot belong to a participant that is gone
        // (dead, or detached): they would otherwise look like ours (PROTOCOL.md §6).
        if (slot_ != NONE) SlotDirectory<Ctx>::release_participant(ctx_, slot_ + 1);
    }
    ParticipantClaim(ParticipantClaim&& o) noexcept
        : ctx_(o.ctx_), keep_(std::move(o.keep_)), slot_(std::exchange(o.slot_, NONE)), ident_(o.ident_) {}
    ParticipantClaim& operator=(ParticipantClaim&& o) noexcept {
        if (this != &o) {
            release();
            ctx_ = o.ctx_;
            keep_ = std::move(o.keep_);
            slot_ = std::exchange(o.slot_, NONE);
            ident_ = o.ident_;
        }
        return *this;
    }
    ~ParticipantClaim() { release(); }
    // slot + 1, or 0 when unregistered (registry full of live participants).
    std::uint32_t id() const noexcept { return slot_ == NONE ? 0 : slot_ + 1; }

private:
    static constexpr std::uint32_t NONE = Registry<Ctx>::NONE;
    void release() {
        if (slot_ != NONE && participant_pid(ident_) == static_cast<std::uint32_t>(::getpid())) {
            Registry<Ctx>(ctx_).release(slot_, ident_);
        }
        slot_ = NONE;
        keep_.reset();
    }
    Ctx ctx_{};
    MappingPtr keep_;
    std::uint32_t slot_ = NONE;
    std::uint64_t ident_ = 0;
};

// Through a read-only view (MatrixHandler::observe) every writing call below (allocate, write, free,
// free_at, set_state, transition_state, heal, recover without dry_run) returns Errc::read_only and
// touches nothing; the reading ones work. read_mut, raw_base_ptr and raw_matrix are unchecked
// access: a write through what they return faults on a read-only view.
class HandlerBase {
public:
    template <Storable T>
    Result<Block<T>> allocate() const {
        return allocate_raw(sizeof(T) == 0 ? 1 : sizeof(T)).map([](Block<std::byte> b) { return Block<T>{b.offset, b.generation}; });
    }
    Result<Block<std::byte>> allocate_raw(std::uint64_t size) const {
        if (read_only()) return refuse_write();
        auto h = heap_.allocate(size);
        if (!h) return tl::unexpected(h.error());
        return Block<std::byte>{*h + BLOCK_HEADER_SIZE, heap_.generation(*h)};  // ours: no race
    }

    // Unchecked typed access, as in the seed: the block must be live and hold a T, and the caller
    // synchronises concurrent access. Use block_at() for offsets received from elsewhere.
    template <class T>
    Result<void> write(Block<T> b, const T& value) const {
        if (read_only()) return refuse_write();
        std::memcpy(ptr(b.offset), &value, sizeof(T));
        return {};
    }
    template <class T>
    const T& read(Block<T> b) const { return *std::launder(reinterpret_cast<const T*>(ptr(b.offset))); }
    template <class T>
    T& read_mut(Block<T> b) const { return *std::launder(reinterpret_cast<T*>(ptr(b.offset))); }

    template <class T>
    Result<void> free(Block<T> b) const {
        if (read_only()) return refuse_write();
        return heap_.free(b.header_offset(), b.generation);
    }
    Result<void> free_at(std::uint32_t header_offset) const {
        if (read_only()) return refuse_write();
        return heap_.free(header_offset);
    }

    template <class T>
    Result<void> set_state(Block<T> b, std::uint32_t state) const {
        if (read_only()) return refuse_write();
        return heap_.set_state(b.header_offset(), state, b.generation);
    }
    // Without an order: the core's defaults (acquire, acq_rel: @ST.get, @ST.transition), which the
    // model scenarios state_handoff and transition_handoff check. With one: the caller's. Every
    // call checks the handle's generation (a block freed and allocated again: invalid_offset).
    template <class T>
    Result<std::uint32_t> get_state(Block<T> b) const { return heap_.get_state(b.header_offset(), b.generation); }
    template <class T>
    Result<std::uint32_t> get_state(Block<T> b, Order o) const { return heap_.get_state(b.header_offset(), o, b.generation); }
    template <class T>
    Result<std::uint32_t> transition_state(Block<T> b, std::uint32_t expected, std::uint32_t next) const {
        if (read_only()) return refuse_write();
        return heap_.transition_state(b.header_offset(), expected, next, b.generation);
    }
    template <class T>
    Result<std::uint32_t> transition_state(Block<T> b, std::uint32_t expected, std::uint32_t next, Order success) const {
        if (read_only()) return refuse_write();
        return heap_.transition_state(b.header_offset(), expected, next, success, b.generation);
    }

    // A validated handle for a payload offset received from another process: the block must be
    // live and large enough for T. The handle gets the generation of the allocation it validated.
    template <Storable T>
    Result<Block<T>> block_at(std::uint32_t payload_offset) const { return block_at<T>(payload_offset, 0); }
    // The same for a handle received with its generation (Block::generation): refused with
    // invalid_offset if that allocation has been freed (and the memory reused) since.
    template <Storable T>
    Result<Block<T>> block_at(std::uint32_t payload_offset, std::uint32_t generation) const {
        if (payload_offset < BLOCK_HEADER_SIZE) return fail(Errc::invalid_offset, payload_offset);
        const std::uint32_t h = payload_offset - BLOCK_HEADER_SIZE;
        auto live = heap_.live_block(h, generation);  // state, generation and size of one allocation
        if (!live) return tl::unexpected(live.error());
        if (live->payload < sizeof(T)) return fail(Errc::type_too_large, sizeof(T), live->payload);
        return Block<T>{payload_offset, live->generation};
    }

    // Block statistics plus the registered participants.
    Stats stats() const {
        Stats s = amx::stats(heap_);
        for_each_participant([&](std::uint32_t slot, std::uint32_t pid, bool alive) {
            s.participants.push_back({slot, pid, alive});
            ++(alive ? s.live_participants : s.dead_participants);
        });
        return s;
    }
    // Rebuilds lists and bitmaps from the physical chain (docs/RELIABILITY.md). Never implicit.
    // Safe only while every other participant is stopped or dead: refuses (contention) if another
    // live participant is registered, unless o.force. o.dry_run writes nothing to the segment: it
    // runs the same recover on a private copy-on-write mapping (Mapping::map_private), so its
    // report holds what the apply would do and leave (blocks_after, merged, listed, free_bytes...).
    Result<RecoverReport> recover(const RecoverOptions& o = {}) const {
        if (o.dry_run) return recover_on_private_copy(o);
        if (read_only()) return refuse_write();
        return Recoverer<ProductionHeap::Ctx>(heap_.context()).run(o, heap_.participant(), participant_alive);
    }
    // This handler's registry slot + 1 (recorded in every block it allocates), 0 if unregistered.
    std::uint32_t participant_id() const noexcept { return heap_.participant(); }
    VerifyReport verify(VerifyMode m = VerifyMode::quiescent) const { return amx::verify(heap_, m); }
    Result<HealReport> heal() const {
        if (read_only()) return refuse_write();
        return heap_.heal();
    }
    // A read-only view (observe()): the writing calls return Errc::read_only.
    bool read_only() const noexcept { return map_->read_only(); }

    const ProductionHeap& raw_matrix() const noexcept { return heap_; }
    std::byte* raw_base_ptr() const noexcept { return map_->base(); }
    std::uint32_t first_block_offset() const noexcept { return heap_.first_block_offset(); }
    std::uint32_t segment_size() const noexcept { return heap_.capacity(); }
    const std::string& name() const noexcept { return map_->name(); }

protected:
    HandlerBase(MappingPtr map, ProductionHeap heap) : map_(std::move(map)), heap_(heap) { heap_.keep_alive(map_); }
    std::byte* ptr(std::uint32_t off) const noexcept { return map_->base() + off; }
    Result<RecoverReport> recover_on_private_copy(RecoverOptions o) const;  // handler.cpp
    // fn(slot, pid, alive) for every registered participant.
    template <class Fn>
    void for_each_participant(Fn&& fn) const {
        const Registry<ProductionHeap::Ctx> reg(heap_.context());
        for (std::uint32_t i = 0; i < ProductionHeap::Layout::REGISTRY_SLOTS; ++i) {
            const std::uint64_t v = reg.read(i);
            if (v != 0) fn(i, participant_pid(v), participant_alive(participant_pid(v), participant_start(v)));
        }
    }
    tl::unexpected<Error> refuse_write() const {
        const std::string what = map_->name().empty() ? std::string("the segment") : "/dev/shm" + shm_path(map_->name());
        return tl::unexpected(Error{Errc::read_only, 0, 0, what + " is open read-only"});
    }

    MappingPtr map_;
    ProductionHeap heap_;
};

// Copyable view for other threads; keeps the mapping alive.
class SharedHandler : public HandlerBase {
public:
    using HandlerBase::HandlerBase;
    friend class MatrixHandler;
};

class MatrixHandler : public HandlerBase {
public:
    // Creates the segment `id` (or attaches if it exists; exactly one racing caller formats);
    // no id: a fresh random name, retried if another process takes it first.
    static Result<MatrixHandler> bootstrap(std::optional<std::string_view> id, std::uint64_t size,
                                           const SegmentOptions& o = {});
    static Result<MatrixHandler> create(std::string_view id, std::uint64_t size, const SegmentOptions& o = {});
    static Result<MatrixHandler> attach(std::string_view id, const SegmentOptions& o = {});
    static Result<MatrixHandler> in_memory(std::uint64_t size);
    // A view for tools that only look: attaches read-only (o.read_only is forced: PROT_READ) and does
    // not register as a participant. The reading operations work; every writing one returns
    // Errc::read_only and writes nothing (see HandlerBase).
    static Result<SharedHandler> observe(std::string_view id, SegmentOptions o = {});
    // Wraps an existing mapping (e.g. Mapping::map_again()) after checking its header.
    static Result<MatrixHandler> from_mapping(MappingPtr map);

    MatrixHandler(MatrixHandler&&) noexcept = default;
    MatrixHandler& operator=(MatrixHandler&&) noexcept = default;
    MatrixHandler(const MatrixHandler&) = delete;
    MatrixHandler& operator=(const MatrixHandler&) = delete;

    SharedHandler share() const { return SharedHandler(map_, heap_); }
    // Unlinks the segment's name (this handler's own, never bytes from the segment). Not found is
    // success; mappings stay valid. In-memory segments have no name: a no-op. Unless forced, it
    // refuses when the name now designates another file (not_ours) or another user's (foreign_owner).
    Result<void> die(UnlinkMode how = UnlinkMode::if_ours) const;
    // True if this handler's process created and formatted the segment (bootstrap's winner).
    bool created() const noexcept { return map_->created(); }
    const MappingPtr& mapping() const noexcept { return map_; }

private:
    // Attaching registers this process as a participant (released when the handler dies).
    MatrixHandler(MappingPtr map, ProductionHeap heap)
        : HandlerBase(std::move(map), heap), claim_(heap_.context(), map_) {
        heap_.set_participant(claim_.id());
        heap_.set_liveness(&registry_word_alive);
    }
    ParticipantClaim claim_;
};

}  // namespace amx
