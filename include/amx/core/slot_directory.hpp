// SlotDirectory: which transit slot (core/transit.hpp) each thread of this process uses in one
// attached segment. Process-local bookkeeping, never stored in the segment.
//
// A thread claims a free slot the first time it operates on the segment (CAS on the slot's owner
// word, 0 -> {participant, token}; @TR.claim) and keeps it in a thread_local cache, so the hot
// path finds its slot without touching shared memory. When the thread exits, its slot goes back
// to this directory's pool (still owned by the process) for the next new thread. When the last
// Heap sharing the directory goes away (the process detaches), every slot it claimed is released
// (@TR.release). With every slot taken, a thread uses the overflow line (counts by fetch_add).
// A process that dies keeps its slots; the out-of-memory decision ignores slots of dead
// participants, a newcomer that takes over a dead participant's registry slot releases its slots
// (release_participant), and recover() releases every slot whose participant is gone.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "amx/core/transit.hpp"

namespace amx {

template <class C>
class SlotDirectory : public std::enable_shared_from_this<SlotDirectory<C>> {
    using P = typename C::Policy;
    using L = typename C::Layout;
    using T = Transit<C>;

public:
    explicit SlotDirectory(const C& ctx) : c_(ctx), serial_(next_serial()) {}
    SlotDirectory(const SlotDirectory&) = delete;
    ~SlotDirectory() {
        for (std::uint32_t s : claimed_) release(s);
    }

    void set_participant(std::uint32_t id) noexcept { participant_ = id; }

    // This thread's slot: cached after the first call.
    std::uint32_t slot() {
        Cache& cache = thread_cache();
        for (const Entry& e : cache.entries) {
            if (e.serial == serial_) return e.slot;
        }
        const std::uint32_t s = take();
        std::erase_if(cache.entries, [](const Entry& e) { return e.dir.expired(); });
        cache.entries.push_back(Entry{serial_, s, this->weak_from_this()});
        return s;
    }

    // Releases every slot that names participant `id` (its process is gone and a newcomer has
    // taken its registry slot, or recover() found it dead). Whatever those threads held is lost
    // until recover(); never called for a live participant.
    static std::uint32_t release_participant(const C& c, std::uint32_t id) {
        std::uint32_t n = 0;
        for (std::uint32_t i = 0; i < L::TRANSIT_SLOTS; ++i) {
            const std::uint64_t owner = T::owner_w(c, i).load(P::relaxed);
            if (owner != 0 && T::owner_participant(owner) == id) {
                release_in(c, i);
                ++n;
            }
        }
        return n;
    }

private:
    struct Entry {
        std::uint64_t serial;
        std::uint32_t slot;
        std::weak_ptr<SlotDirectory> dir;
    };
    // Exiting threads give their slots back to the directories still alive.
    struct Cache {
        std::vector<Entry> entries;
        ~Cache() {
            for (const Entry& e : entries) {
                if (auto d = e.dir.lock()) d->give_back(e.slot);
            }
        }
    };
    static Cache& thread_cache() {
        static thread_local Cache cache;
        return cache;
    }
    static std::uint64_t next_serial() {
        static std::mutex mu;
        static std::uint64_t serial = 0;
        std::lock_guard<std::mutex> g(mu);
        return ++serial;
    }

    std::uint32_t take() {
        std::lock_guard<std::mutex> g(mu_);
        if (!pool_.empty()) {
            const std::uint32_t s = pool_.back();
            pool_.pop_back();
            return s;
        }
        const std::uint64_t me = (std::uint64_t{participant_} << 32) | static_cast<std::uint32_t>(serial_ | 1);
        for (std::uint32_t i = 0; i < L::TRANSIT_SLOTS; ++i) {
            auto w = T::owner_w(c_, i);
            std::uint64_t expected = 0;
            if (w.load(P::relaxed) != 0) continue;
            // @TR.claim acq_rel: acquire pairs with @TR.release (the previous owner's last hold
            // store is behind us, so our count continues from it); release: nothing of ours to
            // publish yet (the hold stores publish through the pops).
            if (w.cas_strong(expected, me, P::acq_rel, P::relaxed)) {
                T::hold_w(c_, i).store(T::hold_w(c_, i).load(P::relaxed) & ~std::uint64_t{0xFFFFFFFF}, P::relaxed);
                claimed_.push_back(i);
                return i;
            }
        }
        return T::OVERFLOW_SLOT;
    }
    void give_back(std::uint32_t s) {
        if (s == T::OVERFLOW_SLOT) return;
        std::lock_guard<std::mutex> g(mu_);
        pool_.push_back(s);
    }
    void release(std::uint32_t s) const { release_in(c_, s); }
    static void release_in(const C& c, std::uint32_t s) {
        auto hold = T::hold_w(c, s);
        hold.store(hold.load(P::relaxed) & ~std::uint64_t{0xFFFFFFFF}, P::relaxed);  // keep the count
        // @TR.release release: pairs with @TR.claim (the next owner continues our count).
        T::owner_w(c, s).store(0, P::release);
    }

    C c_;
    std::uint64_t serial_;
    std::uint32_t participant_ = 0;
    std::mutex mu_;
    std::vector<std::uint32_t> pool_;
    std::vector<std::uint32_t> claimed_;
};

}  // namespace amx
