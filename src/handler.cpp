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
    if (!id) return create(random_name(), size, o);
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

Result<MatrixHandler> MatrixHandler::in_memory(std::uint64_t size) {
    auto m = create_in_memory(size);
    if (!m) return tl::unexpected(m.error());
    return from_mapping(std::move(*m));
}

Result<void> MatrixHandler::die() const {
    if (map_->name().empty()) return {};
    return unlink_segment(map_->name());
}

}  // namespace amx
