// A production-policy heap over a private buffer, for core unit tests (no handler, no files).
#pragma once
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "amx/check/verify.hpp"
#include "amx/check/walker.hpp"
#include "amx/core/heap.hpp"
#include "amx/policy/std_policy.hpp"

namespace amx::test {

template <Geometry G = DefaultGeometry>
struct TestHeap {
    using H = Heap<StdAtomicPolicy, G>;
    std::vector<std::uint64_t> buf;
    std::unique_ptr<H> heap;

    explicit TestHeap(std::uint32_t capacity, std::uint64_t nonce = 0x5eed) : buf(capacity / 8) {
        StdAtomicPolicy::Memory mem(base(), capacity);
        if (!H::format(mem, {nonce, 1, 1})) throw std::runtime_error("format failed");
        heap = std::make_unique<H>(*H::attach(mem));
    }
    std::byte* base() { return reinterpret_cast<std::byte*>(buf.data()); }
    H& operator*() { return *heap; }
    H* operator->() { return heap.get(); }
    VerifyReport verify(VerifyMode m = VerifyMode::quiescent) const { return amx::verify(*heap, m); }
    std::uint32_t data_bytes() const { return heap->capacity() - heap->first_block_offset(); }
    // Allocates `size`-byte blocks until allocation fails; their header offsets in allocation order.
    std::vector<std::uint32_t> allocate_until_full(std::uint32_t size) {
        std::vector<std::uint32_t> blocks;
        for (auto b = heap->allocate(size); b; b = heap->allocate(size)) blocks.push_back(*b);
        return blocks;
    }
};

// Fill patterns: a payload owned by `tag` holds bytes derived from (tag, offset, index).
inline std::uint8_t fill_byte(std::uint32_t tag, std::uint32_t i) {
    return static_cast<std::uint8_t>((tag * 131u) ^ (i * 7u) ^ (tag >> 8));
}
// Written as relaxed atomic byte stores, not plain bytes: the core reads words of a block it does
// not own speculatively (relaxed loads whose value a later pop or CAS confirms or discards,
// docs/PROTOCOL.md section 7), and after a merge and a reuse such a word may be this payload.
// Against plain writes ThreadSanitizer reports that by-design overlap as a race (it did,
// intermittently, in Regression.U15 under the tsan preset); against atomic writes it reports only
// what matters: the core's own accesses racing, or a core store landing in a payload (check_fill's
// plain reads then race with that store, and the pattern breaks).
inline void fill(std::byte* payload, std::uint32_t n, std::uint32_t tag) {
    for (std::uint32_t i = 0; i < n; ++i) {
        std::atomic_ref<std::uint8_t>(*reinterpret_cast<std::uint8_t*>(payload + i)).store(fill_byte(tag, i), std::memory_order_relaxed);
    }
}
inline bool check_fill(const std::byte* payload, std::uint32_t n, std::uint32_t tag) {
    for (std::uint32_t i = 0; i < n; ++i) {
        if (payload[i] != std::byte{fill_byte(tag, i)}) return false;
    }
    return true;
}

}  // namespace amx::test
