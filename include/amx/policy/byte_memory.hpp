// ByteMemory<Word>: the Memory of a policy whose segment is real bytes and whose word handles also
// want to know their offset (for counting, interposing or reporting). Word<T> must be constructible
// from (T*, std::uint32_t offset). Used by test and benchmark policies that wrap production words
// with a hook; the production policy has its own (its words do not carry the offset).
#pragma once
#include <cstddef>
#include <cstdint>

namespace amx {

template <template <class> class Word>
class ByteMemory {
public:
    ByteMemory() = default;
    ByteMemory(std::byte* base, std::uint64_t capacity) noexcept : base_(base), capacity_(capacity) {}
    Word<std::uint32_t> u32(std::uint32_t off) const noexcept {
        return Word<std::uint32_t>(reinterpret_cast<std::uint32_t*>(base_ + off), off);
    }
    Word<std::uint64_t> u64(std::uint32_t off) const noexcept {
        return Word<std::uint64_t>(reinterpret_cast<std::uint64_t*>(base_ + off), off);
    }
    std::byte* base() const noexcept { return base_; }
    std::uint64_t capacity() const noexcept { return capacity_; }

private:
    std::byte* base_ = nullptr;
    std::uint64_t capacity_ = 0;
};

}  // namespace amx
