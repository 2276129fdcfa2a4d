// Fuzz target `image`: raw segment images go through Heap::attach and then every API call with
// fuzzer-chosen arguments. Nothing may crash, hang, touch memory outside the segment or exceed its
// loop bound (the instrumented policy range-checks every word and counts accesses per call), and
// every call returns success or a typed error. If attach and verify() succeed, an allocate/free
// round trip works and verify() stays clean through every later call.
//
// Input: [mode][n][n ops of 5 bytes][image bytes]
//   mode bit 0: repair the header checksum (so mutations get past it), bit 1: set the capacity
//   field to the image size, bit 2: set init_state READY, bit 3: tiny geometry (small images).
//   The image is truncated to a multiple of 16 bytes and MAX_IMAGE.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "amx/check/verify.hpp"
#include "amx/check/walker.hpp"
#include "amx/core/heap.hpp"
#include "amx/core/recover.hpp"
#include "instrumented_policy.hpp"
#include "support/input.hpp"
#include "support/known_bugs.hpp"

namespace amx::fuzz::image {
namespace {

using P = InstrumentedAtomicPolicy;
constexpr std::size_t MAX_IMAGE = 64 * 1024;

// The loop bound: accesses one API call may make. Generous (allocate may retry 32 times over
// every class), but a loop that follows a corrupted cycle exceeds it at once.
class Budget final : public PolicyHook {
public:
    std::uint64_t limit = 0, used = 0;
    std::string context;
    void point(const WordAccess&, const Site& w) override {
        if (++used > limit) {
            hook_off();
            fail("image", context, strf("call exceeded its loop bound (%llu accesses), at %s:%u (%s)",
                                        static_cast<unsigned long long>(limit), w.file, w.line, w.function));
        }
    }
    [[noreturn]] void wild(std::uint32_t off, std::size_t width, const Site& w) override {
        if (const char* id = known_wild_site(w); id != nullptr && !strict()) throw KnownBug{id};
        hook_off();
        fail("image", context, strf("wild %zu-byte access at 0x%x (outside the segment or misaligned) from %s:%u (%s)",
                                    width, off, w.file, w.line, w.function));
    }
    static void hook_off() { FuzzHook::target = nullptr; }
};

template <Geometry G>
class Runner {
    using H = Heap<P, G>;
    using L = ControlLayout<G>;

public:
    Runner(const std::uint8_t* ops, std::size_t nops, std::uint8_t mode) : ops_(ops), nops_(nops), mode_(mode) {}

    void run(const std::uint8_t* img, std::size_t len) {
        const std::uint32_t cap = static_cast<std::uint32_t>(std::min(len, MAX_IMAGE) & ~std::size_t{15});
        std::unique_ptr<std::uint64_t[]> buf(new std::uint64_t[cap / 8 + 1]);
        std::memcpy(buf.get(), img, cap);
        P::Memory mem(reinterpret_cast<std::byte*>(buf.get()), cap);
        repair(mem, cap);
        log("image %u bytes, mode 0x%x, %s geometry\n", cap, mode_, G::FL_COUNT < 26 ? "tiny" : "default");
        budget_.limit = 4ull * 1024 * 1024;
        FuzzHook::target = &budget_;
        try {
            run_attached(mem);
        } catch (const KnownBug&) {
            // An open bug (support/known_bugs.hpp) cut the run short; AMX_FUZZ_STRICT makes it fatal.
        }
        FuzzHook::target = nullptr;
    }

private:
    template <class... A>
    void log(const char* fmt, A... a) { budget_.context += strf(fmt, a...); }
    [[noreturn]] void die(const std::string& why) {
        FuzzHook::target = nullptr;
        fail("image", budget_.context, why);
    }
    void start_call() { budget_.used = 0; }

    void repair(const P::Memory& mem, std::uint32_t cap) {
        if (cap < sizeof(SegmentHeader)) return;
        if (mode_ & 2) mem.u32(offsetof(SegmentHeader, capacity)).store(cap, P::relaxed);
        if (mode_ & 4) mem.u32(seg::INIT_STATE).store(INIT_READY, P::relaxed);
        if (mode_ & 1) {
            const SegmentHeader h = H::read_header(mem);
            mem.u32(offsetof(SegmentHeader, header_checksum)).store(header_checksum(h), P::relaxed);
        }
    }

    template <class T>
    void typed(const Result<T>& r, const char* call) {
        if (!r && std::strcmp(errc_name(r.error().code), "unknown") == 0) {
            die(strf("%s returned an untyped error %d", call, static_cast<int>(r.error().code)));
        }
        log("  -> %s\n", r ? "ok" : errc_name(r.error().code));
    }

    void run_attached(const P::Memory& mem) {
        start_call();
        auto h = H::attach(mem);
        log("attach");
        typed(h, "attach");
        if (!h) return;
        const H heap = *h;
        start_call();
        const VerifyReport first = verify(heap);
        budget_.context += "verify -> " + (first.ok() ? std::string("clean\n") : first.to_string());
        start_call();
        recover_dry_run(heap);
        if (first.ok()) round_trip(heap);
        for (std::size_t i = 0; i < nops_; ++i) {
            call(heap, ops_ + 5 * i);
            if (first.ok()) {
                start_call();
                const VerifyReport r = verify(heap);
                if (!r.ok()) die("a clean image stopped verifying after an API call:\n" + r.to_string());
            }
        }
    }

    void round_trip(const H& heap) {
        start_call();
        auto a = heap.allocate(16);
        log("round trip: allocate(16)");
        typed(a, "allocate");
        if (!a) {
            const Stats s = stats(heap);
            if (a.error().code != Errc::out_of_memory || s.largest_free >= heap.block_size_for(16)) {
                die(strf("clean image: allocate(16) failed with %s, largest free block %u", errc_name(a.error().code), s.largest_free));
            }
            return;
        }
        start_call();
        auto f = heap.free(*a);
        log("round trip: free(0x%x)", *a);
        typed(f, "free");
        if (!f) die("clean image: freeing the block just allocated failed");
        const VerifyReport r = verify(heap);
        if (!r.ok()) die("clean image: not clean after the round trip:\n" + r.to_string());
    }

    // An offset argument: raw, or the header of the k-th block of a (bounded) walk.
    std::uint32_t offset_arg(const H& heap, std::uint32_t v) {
        if (!(v & 0x80000000u)) return v & 0xFFFFu;
        std::uint32_t k = v & 0xFF, found = v & 0xFFF0u;
        walk_chain(heap.context(), [&](const ChainBlock& b) { if (k-- == 0) found = b.offset; }, Unchecked::pass);
        return found;
    }

    // recover()'s plan walks the chain too (it once read past the end where verify did not).
    void recover_dry_run(const H& heap) {
        log("recover dry run");
        const auto nobody_alive = [](std::uint32_t, std::uint32_t) { return false; };
        typed(Recoverer<typename H::Ctx>(heap.context()).run({.dry_run = true}, 0, nobody_alive), "recover");
    }

    void call(const H& heap, const std::uint8_t* op) {
        std::uint32_t v;
        std::memcpy(&v, op + 1, 4);
        const std::uint32_t off = offset_arg(heap, v);
        start_call();
        switch (op[0] % 9) {
            case 0: log("allocate(%u)", v % 8192); typed(heap.allocate(v % 8192), "allocate"); break;
            case 1: log("free(0x%x)", off); typed(heap.free(off), "free"); break;
            case 2: log("get_state(0x%x)", off); typed(heap.get_state(off, P::acquire), "get_state"); break;
            case 3: log("set_state(0x%x)", off); typed(heap.set_state(off, 40 + op[1] % 20), "set_state"); break;
            case 4: log("transition(0x%x)", off); typed(heap.transition_state(off, 1 + (op[1] & 63), 49 + (op[2] & 7), P::acq_rel), "transition"); break;
            case 5: log("live_payload(0x%x)", off); typed(heap.live_payload(off), "live_payload"); break;
            case 6: { log("heal"); const HealReport r = heap.heal(); log(" -> corrupt %d\n", r.corrupt); break; }
            case 7: { log("verify"); const VerifyReport r = verify(heap, (v & 1) ? VerifyMode::after_heal : VerifyMode::quiescent); log(" -> %zu violations\n", r.violations.size()); recover_dry_run(heap); break; }
            default: { log("stats"); const Stats s = stats(heap); log(" -> %u blocks%s\n", s.blocks, s.complete ? "" : " (incomplete)"); break; }
        }
    }

    const std::uint8_t* ops_;
    std::size_t nops_;
    std::uint8_t mode_;
    Budget budget_;
};

}  // namespace
}  // namespace amx::fuzz::image

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace amx::fuzz::image;
    if (size < 2) return 0;
    const std::uint8_t mode = data[0];
    const std::size_t nops = std::min<std::size_t>(data[1] % 32, (size - 2) / 5);
    const std::uint8_t* ops = data + 2;
    const std::uint8_t* img = ops + 5 * nops;
    const std::size_t len = size - 2 - 5 * nops;
    if (mode & 8) {
        Runner<amx::TinyGeometry>(ops, nops, mode).run(img, len);
    } else {
        Runner<amx::DefaultGeometry>(ops, nops, mode).run(img, len);
    }
    return 0;
}
