// Fuzz target `bitmap`: differential check of Bitmaps<C> (the fl/sl summary of the free lists)
// against a std::bitset model, single-threaded, for the default and the tiny geometry.
// Operations: fill a list (a non-zero head word) and mark it, empty a list, mark_maybe_empty,
// find_from(c). The model: a class bit is set by mark_nonempty and cleared by mark_maybe_empty only
// if its list is empty (BM protocol); the fl bit is exactly "some sl bit of that level is set".
// After every step: both bitmap words equal the model and find_from(c) is the model's first set
// bit >= c (single-threaded, the summary is exact, so find_from must never miss or invent a class).
#include <bitset>
#include <cstdint>
#include <memory>
#include <string>

#include "amx/core/bitmaps.hpp"
#include "amx/policy/std_policy.hpp"
#include "support/input.hpp"

namespace amx::fuzz::bitmap {
namespace {

using P = StdAtomicPolicy;

template <Geometry G>
class Runner {
    using C = Context<P, G>;
    using L = ControlLayout<G>;
    using M = SizeClasses<G>;

public:
    Runner() : buf_(new std::uint64_t[L::FIRST_BLOCK / 8 + 8]()) {
        ctx_.mem = P::Memory(reinterpret_cast<std::byte*>(buf_.get()), L::FIRST_BLOCK + 64);
        ctx_.first = L::FIRST_BLOCK;
        ctx_.end = L::FIRST_BLOCK + 64;
    }

    void run(ByteReader& in) {
        const Bitmaps<C> bits(ctx_);
        while (!in.empty()) {
            const std::uint8_t op = in.u8() % 4;
            const std::uint32_t cls = in.u8() % (M::CLASS_COUNT + 2);  // a little past the end
            if (cls >= M::CLASS_COUNT && op != 3) continue;
            switch (op) {
                case 0:  // a push: the head becomes non-empty, then the bits are set
                    ctx_.head_w(cls).store(pack_head({L::FIRST_BLOCK, 1}), P::relaxed);
                    listed_.set(cls);
                    bits.mark_nonempty(cls);
                    model_.set(cls);
                    log("push+mark %u\n", cls);
                    break;
                case 1:  // the list drains (bits untouched: a set bit over an empty list is allowed)
                    ctx_.head_w(cls).store(0, P::relaxed);
                    listed_.reset(cls);
                    log("empty %u\n", cls);
                    break;
                case 2:
                    bits.mark_maybe_empty(cls);
                    if (!listed_.test(cls)) model_.reset(cls);
                    log("mark_maybe_empty %u\n", cls);
                    break;
                default: {
                    const std::uint32_t got = bits.find_from(cls);
                    log("find_from %u -> %u\n", cls, got);
                    if (got != first_from(cls)) die(strf("find_from(%u) = %u, model %u", cls, got, first_from(cls)));
                    break;
                }
            }
            compare();
        }
    }

private:
    template <class... A>
    void log(const char* fmt, A... a) { text_ += strf(fmt, a...); }
    [[noreturn]] void die(const std::string& why) { fail("bitmap", text_, why); }

    std::uint32_t first_from(std::uint32_t c) const {
        for (; c < M::CLASS_COUNT; ++c) {
            if (model_.test(c)) return c;
        }
        return Bitmaps<C>::NONE;
    }

    void compare() {
        std::uint32_t fl_model = 0;
        for (std::uint32_t fl = 0; fl < G::FL_COUNT; ++fl) {
            std::uint32_t sl_model = 0;
            for (std::uint32_t sl = 0; sl < M::SL_COUNT; ++sl) {
                if (model_.test(fl * M::SL_COUNT + sl)) sl_model |= 1u << sl;
            }
            const std::uint32_t sl_word = ctx_.sl_w(fl).load(P::relaxed);
            if (sl_word != sl_model) die(strf("sl word %u = 0x%x, model 0x%x", fl, sl_word, sl_model));
            if (sl_model != 0) fl_model |= 1u << fl;
        }
        const std::uint32_t fl_word = ctx_.fl_w().load(P::relaxed);
        if (fl_word != fl_model) die(strf("fl word = 0x%x, model 0x%x", fl_word, fl_model));
    }

    std::unique_ptr<std::uint64_t[]> buf_;
    C ctx_{};
    std::bitset<M::CLASS_COUNT> model_, listed_;
    std::string text_;
};

}  // namespace
}  // namespace amx::fuzz::bitmap

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    amx::fuzz::ByteReader in(data, size);
    if (in.u8() & 1) {
        amx::fuzz::bitmap::Runner<amx::TinyGeometry>().run(in);
    } else {
        amx::fuzz::bitmap::Runner<amx::DefaultGeometry>().run(in);
    }
    return 0;
}
