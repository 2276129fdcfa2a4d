#include "amx/handler/handler.hpp"

namespace amx {

template class Heap<StdAtomicPolicy, DefaultGeometry>;

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
