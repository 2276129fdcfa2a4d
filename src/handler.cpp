#include "amx/handler/handler.hpp"

namespace amx {

template class Heap<StdAtomicPolicy, DefaultGeometry>;

// The dry run: recover applied to a private copy-on-write mapping. Beside live participants the walk
// reads a chain they are changing and can meet a header a merge has just killed (a torn read, not
// corruption): it walks again, up to LIVE_WALKS times, as the core's own dry run does; a chain
// broken at every walk is reported. A plan that fails writes nothing, so one private mapping serves
// every walk.
Result<RecoverReport> HandlerBase::recover_on_private_copy(RecoverOptions o) const {
    auto copy = map_->map_private();
    if (!copy) return tl::unexpected(copy.error());
    StdAtomicPolicy::Memory mem((*copy)->base(), (*copy)->size());
    auto heap = ProductionHeap::attach(mem);
    if (!heap) return tl::unexpected(heap.error());
    o.dry_run = false;
    o.force = true;  // on the copy, others' liveness refuses nothing (it is reported all the same)
    using R = Recoverer<ProductionHeap::Ctx>;
    bool others_live = false;
    for_each_participant([&](std::uint32_t slot, std::uint32_t, bool alive) { others_live |= alive && slot + 1 != heap_.participant(); });
    const int walks = others_live ? R::LIVE_WALKS : 1;
    Result<RecoverReport> r = fail(Errc::corrupted);
    for (int walk = 0; walk < walks; ++walk) {
        r = R(heap->context()).run(o, heap_.participant(), participant_alive);
        if (r || r.error().code != Errc::corrupted) break;
    }
    if (r) r->dry_run = true;
    return r;
}

Result<MatrixHandler> MatrixHandler::from_mapping(MappingPtr map) {
    StdAtomicPolicy::Memory mem(map->base(), map->size());
    auto heap = ProductionHeap::attach(mem);
    if (!heap) return tl::unexpected(heap.error());
    return MatrixHandler(std::move(map), *heap);
}

Result<MatrixHandler> MatrixHandler::bootstrap(std::optional<std::string_view> id, std::uint64_t size,
                                               const SegmentOptions& o) {
    if (!id) {
        // The name was free when generated; another process may still take it before us.
        for (int i = 0;; ++i) {
            auto h = create(random_name(), size, o);
            if (h || h.error().code != Errc::already_exists || i == 7) return h;
        }
    }
    auto m = create_or_attach(*id, size, o);
    if (!m) return tl::unexpected(m.error());
    return from_mapping(std::move(*m));
}

Result<MatrixHandler> MatrixHandler::create(std::string_view id, std::uint64_t size, const SegmentOptions& o) {
    auto m = create_segment(id, size, o);
    if (!m) return tl::unexpected(m.error());
    return from_mapping(std::move(*m));
}

Result<MatrixHandler> MatrixHandler::attach(std::string_view id, const SegmentOptions& o) {
    auto m = attach_segment(id, o);
    if (!m) return tl::unexpected(m.error());
    return from_mapping(std::move(*m));
}

Result<SharedHandler> MatrixHandler::observe(std::string_view id, SegmentOptions o) {
    o.read_only = true;
    auto m = attach_segment(id, o);
    if (!m) return tl::unexpected(m.error());
    StdAtomicPolicy::Memory mem((*m)->base(), (*m)->size());
    auto heap = ProductionHeap::attach(mem);
    if (!heap) return tl::unexpected(heap.error());
    return SharedHandler(std::move(*m), *heap);
}

Result<MatrixHandler> MatrixHandler::in_memory(std::uint64_t size) {
    auto m = create_in_memory(size);
    if (!m) return tl::unexpected(m.error());
    return from_mapping(std::move(*m));
}

Result<void> MatrixHandler::die(UnlinkMode how) const {
    return unlink_mapped(*map_, how);
}

}  // namespace amx
