// Writes the seed corpora (corpus/<target>_seed_corpus/seed-*): valid segment images for `image`,
// short programs for `ops` and `schedules`, a few sizes and bitmap programs; and the `image`
// fuzzer's named regressions (regressions/image/img-*), each the corruption its finding's input had
// (docs/verification/fuzz.md), rebuilt on an image of the current layout. Run by hand when a format
// changes: seedgen <fuzz/corpus dir> (the regressions go to its sibling regressions/). Images of
// an older layout stop at attach's version check and test nothing else: layout version 3 found
// the regressions and all but 4 seeds still of version 1 (session 9). The fuzzers grow the corpora
// from these.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "amx/core/chain.hpp"
#include "amx/core/free_list.hpp"
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

// A freshly formatted tiny segment of `blocks` minimal blocks, attached, to corrupt by hand.
struct TinySegment {
    using G = amx::TinyGeometry;
    using L = amx::ControlLayout<G>;
    using H = amx::Heap<P, G>;
    std::vector<std::uint64_t> buf;
    P::Memory mem;
    H heap;
    explicit TinySegment(std::uint32_t blocks)
        : buf((L::FIRST_BLOCK + blocks * L::MIN_BLOCK) / 8),
          mem(reinterpret_cast<std::byte*>(buf.data()), static_cast<std::uint32_t>(buf.size() * 8)),
          heap(format(mem)) {}
    static H format(const P::Memory& m) {
        H::format(m, {0xfeed, 1, 1});
        return *H::attach(m);
    }
    const auto& c() const { return heap.context(); }
    std::uint32_t take(std::uint32_t payload) { return *heap.allocate(payload); }
    std::uint32_t tail() const {  // the last block
        std::uint32_t last = 0;
        amx::walk_chain(c(), [&](const amx::ChainBlock& b) { last = b.offset; }, amx::Unchecked::pass);
        return last;
    }
    // [mode 0x0f: checksum, capacity, READY, tiny][ops][image]
    Bytes input(const Bytes& ops) const {
        Bytes in = {0x0f, static_cast<std::uint8_t>(ops.size() / 5)};
        in.insert(in.end(), ops.begin(), ops.end());
        const auto* p = reinterpret_cast<const std::uint8_t*>(buf.data());
        in.insert(in.end(), p, p + buf.size() * 8);
        return in;
    }
};
constexpr std::uint8_t OP_ALLOCATE = 0, OP_HEAL = 6;

// IMG-1, IMG-2: the last block's size 16 bytes short, so the block after it would start 16 bytes
// before the end, where no header fits: verify's and recover's chain walk (at attach) and, with
// `heal`, heal's merge (R = B + size(B)) must stop there, not read the "header".
static Bytes header_past_end(bool heal) {
    TinySegment s(10);
    s.take(16);
    s.take(16);
    const std::uint32_t t = s.tail();
    s.c().size_w(t).store(s.c().size_w(t).load(P::relaxed) - 16, P::relaxed);
    return s.input(heal ? Bytes{OP_HEAL, 0, 0, 0, 0} : Bytes{});
}

// IMG-3: heal's merge absorbs R (a block with heal's next token, forged, and COALESCING) into the
// free block B before it, and must check R's size before it stores prev_phys at R + size(R): here
// that is misaligned.
static Bytes forged_token_bad_size() {
    TinySegment s(10);
    s.take(16);
    const std::uint32_t b = s.take(16), r = s.take(16);
    s.take(16);
    (void)s.heap.free(b);  // its neighbours are live: b stays alone on its list
    const std::uint32_t token = s.mem.u32(amx::seg::HEAL_SERIAL).load(P::relaxed) + 1;  // the next heal's
    s.c().set_owned_state(r, amx::STATE_COALESCING);
    s.c().heal_token_w(r).store(token, P::relaxed);
    s.c().size_w(r).store(0x41, P::relaxed);  // R + size(R): misaligned, inside the segment
    return s.input({OP_HEAL, 0, 0, 0, 0});
}

// IMG-4: a list that hands out one block twice: block B (48 bytes) listed on class {64..95} with
// its link naming itself, and class {48}'s head a wild offset. An allocation of 80 bytes finds the
// overflow class empty and scans its own class {64..95}: the first pop holds B (too small), the
// second pops B again and must find it held (COALESCING) and report corrupted. Holding it twice
// instead, the allocation pushes B back on class {48} (its size) twice: the first push links it
// to the wild head, and release_held follows that link (the finding's wild read).
static Bytes block_listed_twice() {
    using Map = amx::SizeClasses<TinySegment::G>;
    TinySegment s(10);
    s.take(16);
    const std::uint32_t b = s.take(16);
    s.take(16);
    while (s.heap.allocate(16)) {}  // nothing else free
    const amx::FreeLists<TinySegment::H::Ctx> lists(s.c());
    s.c().set_owned_state(b, amx::STATE_FREE);
    lists.push(Map::mapping_insert(64), b);
    s.c().next_w(b).store(b, P::relaxed);
    s.c().head_w(Map::mapping_insert(48)).store(amx::pack_head({0x31000c, 0}), P::relaxed);
    return s.input({OP_ALLOCATE, 80 - amx::BLOCK_HEADER_SIZE, 0, 0, 0});
}

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
    // image regressions (docs/verification/fuzz.md, "Findings")
    const fs::path regress = root / ".." / "regressions" / "image";
    put(regress, "img-1-verify-walk-reads-header-past-end", header_past_end(false));
    put(regress, "img-2-heal-reads-owner-past-end", header_past_end(true));
    put(regress, "img-3-heal-merge-stores-prev-at-wild-offset", forged_token_bad_size());
    put(regress, "img-4-release-held-follows-a-block-held-twice", block_listed_twice());
    std::printf("seeds written under %s, image regressions under %s\n", root.c_str(), regress.c_str());
    return 0;
}
