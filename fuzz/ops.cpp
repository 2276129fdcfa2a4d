// Fuzz target `ops`: a program of heap operations (ops_program.hpp) runs against a reference model,
// a std::map of the live blocks. After every operation: verify() is clean, the physical chain holds
// exactly the model's live blocks (so they cannot overlap), every fill pattern is intact and stats()
// agrees with the model. Every call's result is predicted: success, or the one typed error the
// contract names. A failing input prints the program with the offsets it resolved to.
#include <cstdint>
#include <cstring>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "amx/check/verify.hpp"
#include "amx/check/walker.hpp"
#include "amx/core/heap.hpp"
#include "amx/policy/std_policy.hpp"
#include "ops_program.hpp"
#include "support/fill.hpp"
#include "support/known_bugs.hpp"

namespace amx::fuzz::ops {
namespace {

using P = StdAtomicPolicy;

struct Live {
    std::uint32_t size;   // block size from the header at allocation (header included)
    std::uint32_t state;  // ALLOCATED or a user state
    std::uint32_t tag;    // fill pattern tag, 0 = never filled
};

template <Geometry G>
class Runner {
public:
    using H = Heap<P, G>;
    using L = ControlLayout<G>;

    // Thrown by a failing check in the quiet first run; the program is then replayed with logging.
    struct Failed {};

    Runner(const Program& p, bool logging)
        : prog_(p), logging_(logging), cap_(L::FIRST_BLOCK + p.blocks * L::MIN_BLOCK), buf_(new std::uint64_t[cap_ / 8]()) {}

    void run() {
        P::Memory mem(base(), cap_);
        if (!H::format(mem, FormatParams{prog_.nonce, 1, 1})) die("format failed");
        auto h = H::attach(mem);
        if (!h) die("attach of a fresh format failed");
        heap_ = std::make_unique<H>(*h);
        log("format %s geometry, capacity %u (%u minimal blocks)\n", prog_.tiny ? "tiny" : "default", cap_, prog_.blocks);
        check_all(VerifyMode::after_heal);
        for (const Op& op : prog_.ops) {
            const bool healed = step(op);
            check_all(healed ? VerifyMode::after_heal : VerifyMode::quiescent);
        }
        finish();
    }

private:
    std::byte* base() { return reinterpret_cast<std::byte*>(buf_.get()); }
    // Formatting every step costs more than the step: the first run is quiet, and only a failing
    // input runs again with logging (the run is deterministic).
    template <class... A>
    void log(const char* fmt, A... args) {
        if (logging_) text_ += strf(fmt, args...);
    }
    [[noreturn]] void die(const std::string& why) {
        if (!logging_) throw Failed{};
        fail("ops", text_, why);
    }
    void expect(bool cond, const std::string& why) { if (!cond) die(why); }
    template <class... A>
    void expect(bool cond, const char* fmt, A... args) {  // formats only on failure
        if (!cond) die(strf(fmt, args...));
    }
    void expect_err(const Error& e, Errc want, const char* call) {
        expect(e.code == want, "%s: expected error %s, got %s (found %llu)", call, errc_name(want),
                                    errc_name(e.code), static_cast<unsigned long long>(e.found));
    }

    // The i-th live block (modulo their count); 0 if there is none.
    std::uint32_t pick(std::uint32_t i) const {
        if (live_.empty()) return 0;
        return std::next(live_.begin(), static_cast<long>(i % live_.size()))->first;
    }

    bool step(const Op& op) {
        log("%-11s ", kind_name(op.kind));
        switch (op.kind) {
            case Kind::alloc: do_alloc(op.n); break;
            case Kind::free: do_free(pick(op.a)); break;
            case Kind::fill: do_fill(pick(op.a), (op.b & 0xFF) | 1); break;
            case Kind::check: do_check(pick(op.a)); break;
            case Kind::set_state: do_set_state(pick(op.a), op.b); break;
            case Kind::transition: do_transition(pick(op.a), op.b, op.c); break;
            case Kind::get_state: do_get_state(pick(op.a)); break;
            case Kind::free_at: do_free_at(op.a, op.b); break;
            case Kind::heal: {
                const HealReport r = heap_->heal();
                log("detached %u merged %u listed %u\n", r.detached, r.merged, r.listed);
                expect(!r.corrupt, "heal reports a corrupt chain on a healthy heap");
                return true;
            }
            case Kind::verify: log("\n"); return last_healed_;
            case Kind::stats: log("\n"); break;
            case Kind::double_free: do_double_free(op.a); break;
            default: log("\n"); break;
        }
        return false;
    }

    void do_alloc(std::uint64_t n) {
        log("%llu", static_cast<unsigned long long>(n));
        const std::uint32_t need = heap_->block_size_for(n);
        const std::uint32_t placed = need == 0 ? 0 : expected_block(need);
        auto r = heap_->allocate(n);
        if (n == 0 || need == 0) {
            log(" -> invalid_size?\n");
            expect(!r, "allocate of an impossible size succeeded");
            return expect_err(r.error(), Errc::invalid_size, "allocate");
        }
        if (!r) {
            log(" -> %s\n", errc_name(r.error().code));
            // OPS-1 (fixed; regressions/ops/ops-1-*): a lone caller with no fitting block got
            // contention instead of out_of_memory.
            expect_err(r.error(), Errc::out_of_memory, "allocate");
            const Stats s = stats(*heap_);  // allocate healed before giving up: no block fits
            expect(s.largest_free < need, "out_of_memory although a free block of %u holds %u", s.largest_free, need);
            return;
        }
        const std::uint32_t h = *r;
        log(" -> 0x%x\n", h);
        expect(!live_.count(h), "allocate returned live block 0x%x", h);
        expect(placed == 0 || h == placed, "good fit: expected the head 0x%x of the first non-empty class that holds %u, got 0x%x",
               placed, need, h);
        const std::uint32_t size = heap_->context().size_w(h).load(P::relaxed);
        expect(size >= need && size - need < L::MIN_BLOCK, "block of %u for need %u (good fit, split)", size, need);
        auto pay = heap_->live_payload(h);
        expect(pay && *pay >= n, "live_payload of a new block");
        live_[h] = Live{size, STATE_ALLOCATED, 0};
    }

    // Placement (good fit, docs/PROTOCOL.md section 6): on a quiescent heap allocate pops the
    // head of the first non-empty class all of whose blocks hold `need`. Found here without
    // Map::search (the first class whose minimum is at least need), so a search that does not round
    // up is caught even though the popped block's size check keeps it safe. 0 = not predicted: only
    // the overflow class (blocks of any size) or the request's own class could serve it.
    std::uint32_t expected_block(std::uint32_t need) const {
        using Map = typename H::Ctx::Map;
        for (std::uint32_t cls = 0; cls < Map::OVERFLOW_CLASS; ++cls) {
            if (Map::class_min(cls) < need) continue;
            const std::uint32_t head = unpack_head(heap_->context().head_w(cls).load(P::relaxed)).offset;
            if (head != 0) return head;
        }
        return 0;
    }

    void do_free(std::uint32_t h) {
        log("0x%x\n", h);
        if (h == 0) return;
        auto r = heap_->free(h);
        expect(static_cast<bool>(r), "free of live block 0x%x failed: %s", h, r ? "" : errc_name(r.error().code));
        forget(h);
    }

    void forget(std::uint32_t h) {
        live_.erase(h);
        freed_.push_back(h);
        if (freed_.size() > 16) freed_.erase(freed_.begin());
    }

    void do_fill(std::uint32_t h, std::uint32_t tag) {
        log("0x%x tag %u\n", h, tag);
        if (h == 0) return;
        fill_payload(base() + h + BLOCK_HEADER_SIZE, live_[h].size - BLOCK_HEADER_SIZE, tag);
        live_[h].tag = tag;
    }

    void do_check(std::uint32_t h) {
        log("0x%x\n", h);
        if (h == 0) return;
        auto r = heap_->live_payload(h);
        expect(r && *r == live_[h].size - BLOCK_HEADER_SIZE, "live_payload disagrees with the model");
    }

    void do_set_state(std::uint32_t h, std::uint32_t s) {
        log("0x%x %u\n", h, s);
        if (h == 0) return;
        auto r = heap_->set_state(h, s);
        if (!is_user_state(s)) return expect(!r && r.error().code == Errc::reserved_status, "set_state to a reserved state");
        expect(static_cast<bool>(r), "set_state on a live block failed");
        live_[h].state = s;
    }

    void do_transition(std::uint32_t h, std::uint32_t e, std::uint32_t next) {
        if (h == 0) return log("(none)\n");
        Live& b = live_[h];
        if (e == 0x100) e = b.state;
        log("0x%x %u -> %u (model %u)\n", h, e, next, b.state);
        auto r = heap_->transition_state(h, e, next, P::acq_rel);
        if (!is_user_state(next) || !is_live_state(e)) {
            return expect(!r && r.error().code == Errc::reserved_status, "transition with a reserved state");
        }
        if (b.state != e) {
            expect(!r, "transition from the wrong state succeeded");
            expect_err(r.error(), Errc::transition_failed, "transition_state");
            return expect(r.error().found == b.state, "transition_failed reports the actual state");
        }
        expect(r && *r == e, "transition from the current state failed");
        b.state = next;
    }

    void do_get_state(std::uint32_t h) {
        log("0x%x\n", h);
        if (h == 0) return;
        auto r = heap_->get_state(h, P::acquire);
        expect(r && *r == live_[h].state, "get_state disagrees with the model");
    }

    void do_free_at(std::uint32_t mode, std::uint32_t v) {
        std::uint32_t off = v;
        if (mode == 1 && !live_.empty()) off = pick(v >> 8) + static_cast<std::uint32_t>(static_cast<std::int8_t>(v & 0xFF)) * 4;
        if (mode == 2 && !freed_.empty()) off = freed_[v % freed_.size()];
        if (mode == 3) off = 0xFFFF0000u | v;
        const bool is_live = live_.count(off) != 0;
        log("0x%x (%s)\n", off, is_live ? "live" : "not a live block");
        auto r = heap_->free(off);
        if (is_live) {
            expect(static_cast<bool>(r), "free_at of a live block failed");
            return forget(off);
        }
        expect(!r, "free_at(0x%x) of something not live succeeded", off);
        expect_err(r.error(), Errc::invalid_offset, "free_at");
    }

    void do_double_free(std::uint32_t i) {
        if (freed_.empty()) return log("(none)\n");
        const std::uint32_t h = freed_[i % freed_.size()];
        log("0x%x%s\n", h, live_.count(h) ? " (reused: live)" : "");
        if (live_.count(h)) return;
        auto r = heap_->free(h);
        expect(!r, "double free succeeded");
        expect_err(r.error(), Errc::invalid_offset, "double free");
    }

    // The oracle: verify, the chain against the model, fills, stats.
    void check_all(VerifyMode mode) {
        last_healed_ = mode == VerifyMode::after_heal;
        const VerifyReport rep = verify(*heap_, mode);
        if (!rep.ok()) die(rep.to_string());
        std::size_t seen = 0;
        std::uint64_t used = 0;
        const ChainEnd end = walk_chain(heap_->context(), [&](const ChainBlock& v) {
            if (!is_live_state(v.state)) return;
            auto it = live_.find(v.offset);
            expect(it != live_.end(), "chain holds live block 0x%x the model does not know", v.offset);
            expect(it->second.size == v.size && it->second.state == v.state, "block 0x%x: size %u state %u, model %u/%u",
                   v.offset, v.size, v.state, it->second.size, it->second.state);
            ++seen;
            used += v.size;
        });
        expect(end.complete() && seen == live_.size(), "chain shows %zu of the model's %zu live blocks", seen, live_.size());
        for (const auto& [h, b] : live_) {
            if (b.tag != 0 && !check_payload(base() + h + BLOCK_HEADER_SIZE, b.size - BLOCK_HEADER_SIZE, b.tag)) {
                die(strf("fill pattern of block 0x%x (tag %u) broken", h, b.tag));
            }
        }
        const Stats s = stats(*heap_);
        expect(s.complete && s.transient_blocks == 0, "stats walk incomplete or transient blocks");
        expect(s.allocated_blocks + s.user_state_blocks == live_.size(), "stats live count != model");
        expect(s.free_bytes + used == s.data_bytes, "stats free bytes != data bytes - model bytes");
    }

    // All memory deallocated, then one block (Boost.Interprocess's closing check).
    void finish() {
        log("-- free all, heal\n");
        while (!live_.empty()) do_free(live_.begin()->first);
        heap_->heal();
        check_all(VerifyMode::after_heal);
        const VerifyReport rep = verify(*heap_, VerifyMode::after_heal);
        expect(rep.blocks == 1, "%u blocks after freeing everything and heal", rep.blocks);
    }

    const Program& prog_;
    bool logging_;
    std::uint32_t cap_;
    std::unique_ptr<std::uint64_t[]> buf_;
    std::unique_ptr<H> heap_;
    std::map<std::uint32_t, Live> live_;
    std::vector<std::uint32_t> freed_;
    std::string text_;
    bool last_healed_ = true;
};

}  // namespace
}  // namespace amx::fuzz::ops

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace amx::fuzz::ops;
    const Program p = decode(data, size);
    auto run = [&](bool logging) {
        if (p.tiny) {
            Runner<amx::TinyGeometry>(p, logging).run();
        } else {
            Runner<amx::DefaultGeometry>(p, logging).run();
        }
    };
    try {
        run(false);
    } catch (const Runner<amx::TinyGeometry>::Failed&) {
        run(true);
    } catch (const Runner<amx::DefaultGeometry>::Failed&) {
        run(true);
    }
    return 0;
}
