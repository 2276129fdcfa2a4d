// The two allocators the driver compares, behind one small shape so the workload is identical:
//   Backend::create(name, bytes, err) / Backend::attach(name, err): a segment by name (a process
//       attaches with its own mapping, as a real participant would);
//   backend.worker(): the per-worker view Worker<A> uses (allocate / free / payload / offset);
//   backend.end_check(summary, figures): the end-of-run oracle; false means the run was not clean
//       (figures: what it saw after the drain, where the backend can tell);
//   backend.unlink(): removes the name.
// Handles are offsets from the segment base, meaningful in every process.
#pragma once
#include <cstdint>
#include <memory>
#include <new>
#include <string>

#include <boost/interprocess/managed_shared_memory.hpp>

#include "amx/handler/handler.hpp"
#include "runner.hpp"

namespace amxb {

// ---- atomic-matrix ---------------------------------------------------------------------------

class AmxAlloc {
public:
    using Handle = std::uint32_t;  // payload offset
    explicit AmxAlloc(amx::SharedHandler h) : h_(std::move(h)), base_(h_.raw_base_ptr()) {}
    int allocate(std::uint32_t n, Handle& out) const {
        auto b = h_.allocate_raw(n);
        if (!b) return static_cast<int>(b.error().code);
        out = b->offset;
        return 0;
    }
    int free(Handle off) const {
        auto r = h_.free(amx::Block<std::byte>{off});
        return r ? 0 : static_cast<int>(r.error().code);
    }
    std::byte* payload(Handle off) const { return base_ + off; }
    static std::uint32_t offset(Handle off) { return off; }

private:
    amx::SharedHandler h_;
    std::byte* base_;
};

class AmxBackend {
public:
    static constexpr const char* NAME = "amx";
    using Alloc = AmxAlloc;

    static std::unique_ptr<AmxBackend> create(const std::string& name, std::uint64_t bytes, std::string& err) {
        return wrap(amx::MatrixHandler::create(name, bytes), err);
    }
    static std::unique_ptr<AmxBackend> attach(const std::string& name, std::string& err) {
        return wrap(amx::MatrixHandler::attach(name), err);
    }
    Alloc worker() const { return Alloc(m_.share()); }
    static const char* code_name(int code) { return amx::errc_name(static_cast<amx::Errc>(code)); }

    const amx::MatrixHandler& handler() const { return m_; }

    // Heals run so far on this segment, automatic or explicit (each takes a token from
    // heal_serial). The one figure of the targets read below the handler API: the handler does not
    // count heals. Automatic heals are the allocator's slow path, so the count explains dips.
    static std::uint32_t heals_so_far(const amx::HandlerBase& h) {
        return h.raw_matrix().context().seg_w(amx::seg::HEAL_SERIAL).load(amx::StdAtomicPolicy::relaxed);
    }

    // Quiescent verify, nothing left allocated, then heal: the segment must be one free block.
    bool end_check(std::string& summary, EndFigures& figures) const {
        const std::uint32_t heals = heals_so_far(m_);
        const auto before = m_.verify(amx::VerifyMode::quiescent);
        const auto st = m_.stats();
        if (!before.ok() || st.allocated_blocks + st.user_state_blocks + st.transient_blocks != 0) {
            summary = "verify before heal: " + before.to_string() + " live blocks after drain: " +
                      std::to_string(st.allocated_blocks + st.user_state_blocks + st.transient_blocks);
            return false;
        }
        const std::uint32_t blocks_before = st.free_blocks;
        figures = {blocks_before, heals};
        m_.heal();
        const auto after = m_.verify(amx::VerifyMode::after_heal);
        if (!after.ok() || after.blocks != 1) {
            summary = "verify after heal (expected 1 free block): " + after.to_string();
            return false;
        }
        summary = "verify: clean (" + std::to_string(blocks_before) + " free blocks after the drain, 1 after heal; " +
                  std::to_string(heals) + " automatic heals during the run)";
        return true;
    }
    void unlink() const { (void)m_.die(); }

private:
    explicit AmxBackend(amx::MatrixHandler m) : m_(std::move(m)) {}
    static std::unique_ptr<AmxBackend> wrap(amx::Result<amx::MatrixHandler> r, std::string& err) {
        if (!r) {
            err = r.error().message();
            return nullptr;
        }
        return std::unique_ptr<AmxBackend>(new AmxBackend(std::move(*r)));
    }
    amx::MatrixHandler m_;
};

// ---- Boost.Interprocess (the baseline) ---------------------------------------------------------

namespace bip = boost::interprocess;

class BoostAlloc {
public:
    using Handle = std::uint32_t;  // offset from the segment base
    explicit BoostAlloc(bip::managed_shared_memory& s)
        : s_(s), base_(static_cast<std::byte*>(s.get_address())) {}
    int allocate(std::uint32_t n, Handle& out) const {
        void* p = s_.allocate(n, std::nothrow);
        if (p == nullptr) return 1;  // Boost has one failure: no memory
        out = static_cast<std::uint32_t>(static_cast<std::byte*>(p) - base_);
        return 0;
    }
    int free(Handle off) const {
        s_.deallocate(base_ + off);  // no validation, no error: a bad free is UB (Boost contract)
        return 0;
    }
    std::byte* payload(Handle off) const { return base_ + off; }
    static std::uint32_t offset(Handle off) { return off; }

private:
    bip::managed_shared_memory& s_;
    std::byte* base_;
};

class BoostBackend {
public:
    static constexpr const char* NAME = "boost";
    using Alloc = BoostAlloc;

    static std::unique_ptr<BoostBackend> create(const std::string& name, std::uint64_t bytes, std::string& err) {
        try {
            bip::shared_memory_object::remove(name.c_str());
            return std::unique_ptr<BoostBackend>(new BoostBackend(
                name, bip::managed_shared_memory(bip::create_only, name.c_str(), bytes)));
        } catch (const std::exception& e) {
            err = e.what();
            return nullptr;
        }
    }
    static std::unique_ptr<BoostBackend> attach(const std::string& name, std::string& err) {
        try {
            return std::unique_ptr<BoostBackend>(
                new BoostBackend(name, bip::managed_shared_memory(bip::open_only, name.c_str())));
        } catch (const std::exception& e) {
            err = e.what();
            return nullptr;
        }
    }
    Alloc worker() { return Alloc(s_); }
    static const char* code_name(int code) { return code == 1 ? "out_of_memory" : "unknown"; }

    // Boost's own oracle: its sanity check and "all memory deallocated".
    bool end_check(std::string& summary, EndFigures&) {
        const bool sane = s_.check_sanity();
        const bool empty = s_.all_memory_deallocated();
        summary = std::string("boost check_sanity: ") + (sane ? "ok" : "FAILED") +
                  ", all_memory_deallocated: " + (empty ? "yes" : "NO");
        return sane && empty;
    }
    void unlink() const { bip::shared_memory_object::remove(name_.c_str()); }

private:
    BoostBackend(std::string name, bip::managed_shared_memory s) : name_(std::move(name)), s_(std::move(s)) {}
    std::string name_;
    bip::managed_shared_memory s_;
};

// ---- the harness alone ---------------------------------------------------------------------------

// Not an allocator: each worker hands out fixed 544-byte slots of a private slab (MAX_HELD of them,
// which is all the workload ever holds). Under callgrind its instructions per iteration are the
// harness's share (rng, fill, check, bookkeeping), to subtract from the other two.
class NullAlloc {
public:
    using Handle = std::uint32_t;  // slot index
    static constexpr std::uint32_t SLOT = 544;
    NullAlloc() : slab_(std::make_unique<std::byte[]>(std::size_t{SLOT} * MAX_HELD)) {
        for (std::uint32_t i = 0; i < MAX_HELD; ++i) free_[i] = MAX_HELD - 1 - i;
    }
    int allocate(std::uint32_t, Handle& out) {
        if (top_ == 0) return 1;
        out = free_[--top_];
        return 0;
    }
    int free(Handle h) {
        free_[top_++] = h;
        return 0;
    }
    std::byte* payload(Handle h) const { return slab_.get() + std::size_t{h} * SLOT; }
    static std::uint32_t offset(Handle h) { return h * SLOT; }

private:
    std::unique_ptr<std::byte[]> slab_;
    std::uint32_t free_[MAX_HELD];
    std::uint32_t top_ = MAX_HELD;
};

class NullBackend {
public:
    static constexpr const char* NAME = "null";
    using Alloc = NullAlloc;
    static std::unique_ptr<NullBackend> create(const std::string&, std::uint64_t, std::string&) {
        return std::make_unique<NullBackend>();
    }
    static std::unique_ptr<NullBackend> attach(const std::string&, std::string&) { return std::make_unique<NullBackend>(); }
    Alloc worker() const { return Alloc(); }
    static const char* code_name(int) { return "no_slot"; }
    bool end_check(std::string& summary, EndFigures&) const {
        summary = "harness only (no allocator to verify)";
        return true;
    }
    void unlink() const {}
};

}  // namespace amxb
