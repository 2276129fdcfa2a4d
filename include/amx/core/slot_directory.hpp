// SlotDirectory: which transit slot (core/transit.hpp) each thread of this process uses in one
// attached segment. Process-local bookkeeping, never stored in the segment.
//
// A thread claims a free slot the first time it operates on the segment (CAS on the slot's owner
// word, 0 -> {participant, token}; @TR.claim, in TransitClaims below) and keeps it in a
// thread_local cache, so the hot path finds its slot without touching shared memory. When the
// thread exits, its slot goes back to this directory's pool (still owned by the process) for the
// next new thread. When the last Heap sharing the directory goes away (the process detaches),
// every slot it claimed is released (@TR.release), if the directory keeps the mapping alive
// (keep_alive: the handler gives it its mapping); a bare core user's memory may be gone by then,
// so its slots stay claimed (recover() clears their announcements; the slots of participant 0
// stay claimed). With every slot taken, a thread uses the overflow line (counts by fetch_add).
// A process that dies keeps its slots; the out-of-memory decision ignores slots of dead
// participants, a newcomer that takes over a dead participant's registry slot releases its slots
// (release_participant), and recover() releases every slot whose participant is gone.
//
// fork(): a child must not write its parent's slots (one writer per slot). A fork handler
// (pthread_atfork) advances the process's fork epoch in the child; every cache entry and claim
// records the epoch it was made in, so the child claims slots of its own and never releases the
// parent's. The one mutex of all directories is held across fork(), so the child never inherits it
// locked.
#pragma once
#include <pthread.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "amx/core/transit.hpp"

namespace amx {

// The shared-memory half of the directory: claiming a free transit slot and giving it back. The
// directory calls these under its lock; the model scenarios (tests/scenarios/slots.hpp) call them
// directly, since the directory's process-local half (a thread_local cache, a mutex, a fork
// handler) cannot run under a model checker that runs every simulated thread on one OS thread.
template <class C>
struct TransitClaims {
    using P = typename C::Policy;
    using L = typename C::Layout;
    using T = Transit<C>;

    // Claims the first free slot for `me` ({participant : 32, token : 32}, non-zero) and clears its
    // announcement, keeping the count; the overflow line (T::OVERFLOW_SLOT) if every slot is taken.
    static std::uint32_t claim(const C& c, std::uint64_t me) {
        for (std::uint32_t i = 0; i < L::TRANSIT_SLOTS; ++i) {
            auto w = T::owner_w(c, i);
            std::uint64_t expected = 0;
            if (w.load(P::relaxed) != 0) continue;
            // @TR.claim acquire: pairs with @TR.release and @RC.slot (the previous owner's last hold
            // store, or recover's reset, is behind us, so our count continues from it: model
            // scenarios slot_handover, recover_frees_slot). No release: nothing of ours to publish
            // yet, and nobody reads an owner word to acquire what its claimer wrote.
            if (w.cas_strong(expected, me, P::acquire, P::relaxed)) {
                T::hold_w(c, i).store(T::hold_w(c, i).load(P::relaxed) & ~std::uint64_t{0xFFFFFFFF}, P::relaxed);
                return i;
            }
        }
        return T::OVERFLOW_SLOT;
    }

    // Gives slot s back: its announcement cleared (the count kept), then its owner word.
    static void release(const C& c, std::uint32_t s) {
        auto hold = T::hold_w(c, s);
        hold.store(hold.load(P::relaxed) & ~std::uint64_t{0xFFFFFFFF}, P::relaxed);  // keep the count
        // @TR.release release: pairs with @TR.claim (the next owner continues our count).
        T::owner_w(c, s).store(0, P::release);
    }
};

template <class C>
class SlotDirectory : public std::enable_shared_from_this<SlotDirectory<C>> {
    using P = typename C::Policy;
    using L = typename C::Layout;
    using T = Transit<C>;

public:
    explicit SlotDirectory(const C& ctx) : c_(ctx), serial_(next_serial()) {}
    SlotDirectory(const SlotDirectory&) = delete;
    ~SlotDirectory() {
        if (!keep_alive_) return;  // the memory may be gone: leave the slots claimed
        const std::uint64_t now = fork_epoch();
        for (const Claim& cl : claimed_) {
            if (cl.epoch == now) release(cl.slot);  // a forked child leaves its parent's slots alone
        }
    }

    void set_participant(std::uint32_t id) noexcept { participant_ = id; }
    // Whatever keeps the segment's memory mapped (the handler's mapping): held until the directory
    // goes, so the release of its slots writes to mapped memory. Kept from the first call: every
    // handler sharing this directory passes the same mapping, and MatrixHandler::share() may run in
    // several threads at once, so the store is made once, under the directories' mutex (TSan found
    // two share() calls writing it at the same time: Handler.ShareFromManyThreadsAtOnce).
    void keep_alive(std::shared_ptr<const void> mapping) {
        std::lock_guard<std::mutex> g(global().mu);
        if (!keep_alive_) keep_alive_ = std::move(mapping);
    }

    // This thread's slot: cached after the first call. The last directory this thread used is
    // remembered in a plain thread_local (no guard, no destructor): one compare on the hot path.
    std::uint32_t slot() {
        const std::uint64_t now = fork_epoch();
        if (last_.serial == serial_ && last_.epoch == now) return last_.slot;
        return slot_slow(now);
    }

    // Releases every slot that names participant `id` (its process is gone and a newcomer has
    // taken its registry slot, or recover() found it dead). Whatever those threads held is lost
    // until recover(); never called for a live participant.
    static std::uint32_t release_participant(const C& c, std::uint32_t id) {
        std::uint32_t n = 0;
        for (std::uint32_t i = 0; i < L::TRANSIT_SLOTS; ++i) {
            const std::uint64_t owner = T::owner_w(c, i).load(P::relaxed);
            if (owner != 0 && T::owner_participant(owner) == id) {
                TransitClaims<C>::release(c, i);
                ++n;
            }
        }
        return n;
    }

private:
    struct Entry {
        std::uint64_t serial, epoch;
        std::uint32_t slot;
        std::weak_ptr<SlotDirectory> dir;
    };
    struct Claim {
        std::uint32_t slot;
        std::uint64_t epoch;
    };
    // Exiting threads give their slots back to the directories still alive.
    struct Cache {
        std::vector<Entry> entries;
        ~Cache() {
            const std::uint64_t now = fork_epoch();
            for (const Entry& e : entries) {
                if (e.epoch != now) continue;
                if (auto d = e.dir.lock()) d->give_back(e.slot);
            }
        }
    };
    // The one lock of every directory of this type (claims are rare), and the fork handler that
    // advances the fork epoch (epoch_, below) in a child.
    struct Global {
        std::mutex mu;
        std::uint64_t serial = 0;
        Global() {
            ::pthread_atfork([] { global().mu.lock(); }, [] { global().mu.unlock(); },
                             [] {
                                 global().mu.unlock();
                                 ++epoch_;  // the child: no slot of the parent is ours
                             });
        }
    };
    static Global& global() {
        static Global g;
        return g;
    }
    // The last {directory, epoch, slot} this thread looked up (serials are never reused, and 0
    // names no directory).
    struct Last {
        std::uint64_t serial, epoch;
        std::uint32_t slot;
    };
    static inline constinit thread_local Last last_{0, 0, 0};
    // The fork epoch: read without the lock on the hot path; it changes only in a forked child's
    // fork handler, before any other thread exists there.
    static inline constinit std::uint64_t epoch_ = 0;
    static std::uint64_t fork_epoch() { return epoch_; }

    std::uint32_t slot_slow(std::uint64_t now) {
        Cache& cache = thread_cache();
        std::uint32_t s = T::OVERFLOW_SLOT;
        bool found = false;
        for (const Entry& e : cache.entries) {
            if (e.serial == serial_ && e.epoch == now) {
                s = e.slot;
                found = true;
                break;
            }
        }
        if (!found) {
            s = take(now);
            std::erase_if(cache.entries, [now](const Entry& e) { return e.dir.expired() || e.epoch != now; });
            cache.entries.push_back(Entry{serial_, now, s, this->weak_from_this()});
        }
        last_ = Last{serial_, now, s};
        return s;
    }
    static Cache& thread_cache() {
        static thread_local Cache cache;
        return cache;
    }
    static std::uint64_t next_serial() {
        std::lock_guard<std::mutex> g(global().mu);
        return ++global().serial;
    }

    std::uint32_t take(std::uint64_t now) {
        std::lock_guard<std::mutex> g(global().mu);
        std::erase_if(pool_, [now](const Claim& c) { return c.epoch != now; });
        if (!pool_.empty()) {
            const std::uint32_t s = pool_.back().slot;
            pool_.pop_back();
            return s;
        }
        const std::uint64_t me = (std::uint64_t{participant_} << 32) | static_cast<std::uint32_t>(serial_ | 1);
        const std::uint32_t s = TransitClaims<C>::claim(c_, me);
        if (s != T::OVERFLOW_SLOT) claimed_.push_back(Claim{s, now});
        return s;
    }
    void give_back(std::uint32_t s) {
        if (s == T::OVERFLOW_SLOT) return;
        std::lock_guard<std::mutex> g(global().mu);
        pool_.push_back(Claim{s, fork_epoch()});
    }
    void release(std::uint32_t s) const { TransitClaims<C>::release(c_, s); }

    C c_;
    std::uint64_t serial_;
    std::uint32_t participant_ = 0;
    std::shared_ptr<const void> keep_alive_;
    std::vector<Claim> pool_;     // slots of exited threads, still ours
    std::vector<Claim> claimed_;  // every slot this directory claimed
};

}  // namespace amx
