// Writes the seed corpora (corpus/<target>_seed_corpus/seed-*): valid segment images for `image`,
// short programs for `ops` and `schedules`, a few sizes and bitmap programs. Run once by hand when
// a format changes: seedgen <fuzz/corpus dir>. The fuzzers grow the corpora from these.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "amx/core/heap.hpp"
#include "instrumented_policy.hpp"

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;
using P = amx::fuzz::InstrumentedAtomicPolicy;

static void put(const fs::path& dir, const std::string& name, const Bytes& b) {
    fs::create_directories(dir);
    std::ofstream(dir / name, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// A formatted segment with a few blocks allocated and some freed, as raw bytes.
template <amx::Geometry G>
static Bytes image(std::uint32_t blocks, int allocs, int frees) {
    using L = amx::ControlLayout<G>;
    const std::uint32_t cap = L::FIRST_BLOCK + blocks * L::MIN_BLOCK;
    Bytes img(cap);
    std::vector<std::uint64_t> buf(cap / 8);
    P::Memory mem(reinterpret_cast<std::byte*>(buf.data()), cap);
    amx::Heap<P, G>::format(mem, {0xfeed, 1, 1});
    auto h = *amx::Heap<P, G>::attach(mem);
    std::vector<std::uint32_t> got;
    for (int i = 0; i < allocs; ++i) {
        if (auto r = h.allocate(16 + 24 * i)) got.push_back(*r);
    }
    for (int i = 0; i < frees && i < static_cast<int>(got.size()); i += 1) h.free(got[i * 2 % got.size()]);
    std::memcpy(img.data(), buf.data(), cap);
    return img;
}

static Bytes cat(Bytes a, const Bytes& b) { a.insert(a.end(), b.begin(), b.end()); return a; }

int main(int argc, char** argv) {
    if (argc != 2) { std::fprintf(stderr, "usage: seedgen <fuzz/corpus>\n"); return 2; }
    const fs::path root = argv[1];
    // image: [mode][nops][ops][image]
    const Bytes ops = {0, 16, 0, 0, 0, 1, 0x80, 0, 0, 0x80, 6, 0, 0, 0, 0, 8, 0, 0, 0, 0};
    put(root / "image_seed_corpus", "seed-tiny-fresh", cat({8, 0}, image<amx::TinyGeometry>(8, 0, 0)));
    put(root / "image_seed_corpus", "seed-tiny-used", cat(cat({9, 4}, ops), image<amx::TinyGeometry>(12, 4, 2)));
    put(root / "image_seed_corpus", "seed-tiny-repair", cat({15, 0}, image<amx::TinyGeometry>(10, 3, 1)));
    put(root / "image_seed_corpus", "seed-default-used", cat(cat({1, 4}, ops), image<amx::DefaultGeometry>(16, 5, 2)));
    // ops: [geometry][blocks][nonce] ops...
    put(root / "ops_seed_corpus", "seed-default-basic", {0, 20, 1, 0, 40, 0, 100, 2, 0, 7, 3, 1, 1, 0, 8, 9, 10});
    put(root / "ops_seed_corpus", "seed-tiny-basic", {1, 6, 2, 0, 16, 0, 16, 0, 40, 1, 1, 8, 0, 16, 7, 1, 0, 11, 0});
    put(root / "ops_seed_corpus", "seed-states", {0, 30, 3, 0, 50, 4, 0, 60, 5, 0, 0x80, 70, 5, 0, 3, 70, 6, 0, 1, 0});
    put(root / "ops_seed_corpus", "seed-free-at", {1, 10, 4, 0, 16, 0, 16, 7, 1, 4, 0, 7, 0, 0x40, 0x0f, 7, 3, 0, 0});
    // schedules: [mode][...]
    for (int s = 0; s < 4; ++s) put(root / "schedules_seed_corpus", "seed-scenario-" + std::to_string(s), {4, static_cast<std::uint8_t>(s), 0, 1, 0x21, 0, 0x41, 1, 0x20});
    put(root / "schedules_seed_corpus", "seed-tiny-programs", {0, 0, 4, 0, 3, 0, 16, 2, 1, 1, 0, 3, 0, 16, 1, 0, 5, 0, 1, 0x20, 0, 0x21});
    put(root / "schedules_seed_corpus", "seed-default-programs", {4, 1, 10, 0, 2, 0, 40, 1, 0, 2, 0, 40, 5, 0, 0, 1, 1, 0, 0});
    put(root / "schedules_seed_corpus", "seed-death", {1, 0, 5, 1, 40, 0, 2, 0, 16, 1, 0, 2, 0, 16, 1, 0, 1, 0, 1, 0x21});
    put(root / "schedules_seed_corpus", "seed-spurious", {2, 0, 5, 0, 0xff, 0xff, 0, 0, 2, 0, 16, 1, 0, 2, 0, 16, 1, 0});
    // mapping: [geometry][size a][size b] records
    put(root / "mapping_seed_corpus", "seed-sizes", {0, 1, 48, 0, 0, 0, 3, 0x10, 0x27, 1, 2, 7, 0x01, 1, 0, 2, 0x20, 0xff, 3, 0x40, 0});
    // bitmap: [geometry] then (op, class) pairs
    put(root / "bitmap_seed_corpus", "seed-default", {0, 0, 9, 3, 0, 1, 9, 2, 9, 3, 0, 0, 200, 3, 100});
    put(root / "bitmap_seed_corpus", "seed-tiny", {1, 0, 5, 0, 2, 3, 0, 1, 2, 2, 2, 3, 0, 1, 5, 2, 5, 3, 0});
    std::printf("seeds written under %s\n", root.c_str());
    return 0;
}
