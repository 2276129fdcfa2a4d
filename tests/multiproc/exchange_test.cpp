// Four real processes share one segment for --seconds (3 in the quick tier, 10 in the deep one).
// Two producers allocate blocks, write a self-describing pattern, publish the offset in a slot of
// a directory block and mark the block READY (a user state). Two consumers claim READY blocks with
// transition_state(READY -> CLAIMED), check the pattern, clear the slot and free the block. At the
// end: every message consumed exactly once (counts and checksums agree), verify() clean, and after
// a heal the whole data area is one free block again.
//
// Slot protocol: a producer publishes the offset (slot CAS 0 -> off) before marking READY, and
// only the consumer that claimed a block clears its slot, before freeing it; so a READY block is in
// exactly one slot, and a consumer that claims through a stale slot read still finds it.
#include <sched.h>

#include <atomic>
#include <cstdlib>
#include <random>

#include "badinput/support.hpp"
#include "support/figures.hpp"

namespace amx::testing_support {
namespace {

int g_seconds = 3;
constexpr std::uint32_t SLOTS = 64;
constexpr std::uint32_t PRODUCERS = 2, CONSUMERS = 2;
constexpr std::uint32_t READY = 50, CLAIMED = 51;
constexpr std::uint32_t CAPACITY = 4 << 20;

struct Message {  // the first bytes of every payload; the rest is fill(tag(producer, seq))
    std::uint32_t producer;
    std::uint32_t size;
    std::uint64_t seq;
};
std::uint32_t tag_of(std::uint32_t p, std::uint64_t seq) { return static_cast<std::uint32_t>(seq * 2654435761u) ^ (p << 28); }
std::uint64_t mix(std::uint32_t p, std::uint64_t seq) { return (seq + 1) * 0x9E3779B97F4A7C15ull ^ (std::uint64_t{p} << 56); }

using Clock = std::chrono::steady_clock;

struct Report {
    std::uint64_t role = 0;  // 0 producer, 1 consumer
    std::uint64_t messages = 0, checksum = 0, alloc_failures = 0, errors = 0;
};

// The directory block: SLOTS offsets, then the number of producers done.
struct Directory {
    std::byte* base;
    std::atomic_ref<std::uint32_t> slot(std::uint32_t i) const {
        return std::atomic_ref<std::uint32_t>(*reinterpret_cast<std::uint32_t*>(base + 4 * i));
    }
    std::atomic_ref<std::uint32_t> done() const { return slot(SLOTS); }
};

Report produce(const MatrixHandler& h, Directory dir, std::uint32_t p, Clock::time_point deadline) {
    Report r;
    std::mt19937 rng(p * 7919 + 1);
    for (std::uint64_t seq = 0; std::chrono::steady_clock::now() < deadline; ++seq) {
        const std::uint32_t size = sizeof(Message) + rng() % 2000;
        auto b = h.allocate_raw(size);
        if (!b) {
            ++r.alloc_failures;
            ::sched_yield();
            continue;
        }
        std::byte* payload = h.raw_base_ptr() + b->offset;
        const Message m{p, size, seq};
        std::memcpy(payload, &m, sizeof m);
        test::fill(payload + sizeof m, size - sizeof m, tag_of(p, seq));
        bool published = false;
        while (!published && std::chrono::steady_clock::now() < deadline + std::chrono::seconds(1)) {
            for (std::uint32_t i = 0; i < SLOTS && !published; ++i) {
                std::uint32_t zero = 0;
                // release: pairs with the consumer's acquire load of the slot.
                published = dir.slot(i).compare_exchange_strong(zero, b->offset, std::memory_order_release);
            }
            if (!published) ::sched_yield();
        }
        if (!published) {  // consumers stuck? give the block back and stop
            r.errors += h.free(*b) ? 0 : 1;
            break;
        }
        // READY last (release inside set_state): the payload and the slot are visible to the claimer.
        if (!h.set_state(*b, READY)) ++r.errors;
        ++r.messages;
        r.checksum += mix(p, seq);
    }
    dir.done().fetch_add(1, std::memory_order_release);
    return r;
}

// Claims the block at off if it is READY; returns true if a message was consumed.
bool try_consume(const MatrixHandler& h, Directory dir, std::uint32_t off, Report& r) {
    const Block<std::byte> b{off};
    if (!h.transition_state(b, READY, CLAIMED, order::acq_rel)) return false;
    const auto cap = h.raw_matrix().live_payload(b.header_offset());
    Message m{};
    std::memcpy(&m, h.raw_base_ptr() + off, sizeof m);
    if (!cap || m.size > *cap || m.size < sizeof m || m.producer >= PRODUCERS ||
        !test::check_fill(h.raw_base_ptr() + off + sizeof m, m.size - sizeof m, tag_of(m.producer, m.seq))) {
        ++r.errors;
    }
    std::uint32_t cleared = 0;
    for (std::uint32_t i = 0; i < SLOTS; ++i) {
        std::uint32_t expect = off;
        cleared += dir.slot(i).compare_exchange_strong(expect, 0, std::memory_order_relaxed) ? 1 : 0;
    }
    if (cleared != 1) ++r.errors;  // a READY block sits in exactly one slot
    if (!h.free(b)) ++r.errors;
    ++r.messages;
    r.checksum += mix(m.producer, m.seq);
    return true;
}

Report consume(const MatrixHandler& h, Directory dir, Clock::time_point hard_stop) {
    Report r;
    r.role = 1;
    for (;;) {
        // acquire: pairs with the producers' release increment (their last slots are visible).
        const bool producers_done = dir.done().load(std::memory_order_acquire) == PRODUCERS;
        bool any = false, progress = false;
        for (std::uint32_t i = 0; i < SLOTS; ++i) {
            // acquire: pairs with the producer's release CAS publishing the offset.
            const std::uint32_t off = dir.slot(i).load(std::memory_order_acquire);
            if (off == 0) continue;
            any = true;
            progress |= try_consume(h, dir, off, r);
        }
        if (producers_done && !any) return r;
        if (std::chrono::steady_clock::now() > hard_stop) {
            ++r.errors;  // never drained
            return r;
        }
        if (!progress) ::sched_yield();
    }
}

Report child_main(const std::string& name, std::uint32_t dir_off, std::uint32_t index, Clock::time_point deadline) {
    auto h = MatrixHandler::attach(name);
    if (!h) return Report{index < PRODUCERS ? 0u : 1u, 0, 0, 0, 1000};
    const Directory dir{h->raw_base_ptr() + dir_off};
    if (index < PRODUCERS) return produce(*h, dir, index, deadline);
    return consume(*h, dir, deadline + std::chrono::seconds(30));
}

TEST(MultiProcess, FourProcessesExchangeBlocksThroughUserStates) {
    const std::string name = scratch_name("mpexchange");
    ShmGuard guard(name);
    auto h = MatrixHandler::create(name, CAPACITY);
    ASSERT_TRUE(h) << h.error().message();
    auto dir = h->allocate_raw(4 * (SLOTS + 1));
    ASSERT_TRUE(dir);
    std::memset(h->raw_base_ptr() + dir->offset, 0, 4 * (SLOTS + 1));
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const auto t0 = std::chrono::steady_clock::now();
    const auto deadline = t0 + std::chrono::seconds(g_seconds);
    std::vector<pid_t> kids;
    for (std::uint32_t i = 0; i < PRODUCERS + CONSUMERS; ++i) {
        const pid_t pid = fork_tied_child();
        if (pid == 0) {
            const Report r = child_main(name, dir->offset, i, deadline);
            const bool ok = ::write(fds[1], &r, sizeof r) == sizeof r;
            ::_exit(ok ? 0 : 3);
        }
        kids.push_back(pid);
    }
    ::close(fds[1]);
    Report produced, consumed;
    Report r;
    while (::read(fds[0], &r, sizeof r) == sizeof r) {
        Report& sum = r.role == 0 ? produced : consumed;
        sum.role += 1;  // counts reports
        sum.messages += r.messages;
        sum.checksum += r.checksum;
        sum.alloc_failures += r.alloc_failures;
        sum.errors += r.errors;
    }
    ::close(fds[0]);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    amx::test::figure("messages", consumed.messages);
    std::printf("exchange: %d s, %u producers + %u consumers: %llu messages (%.0f/s), %llu allocation failures, "
                "%llu errors\n",
                g_seconds, PRODUCERS, CONSUMERS, static_cast<unsigned long long>(consumed.messages),
                consumed.messages / secs, static_cast<unsigned long long>(produced.alloc_failures),
                static_cast<unsigned long long>(produced.errors + consumed.errors));
    EXPECT_EQ(produced.role, PRODUCERS);
    EXPECT_EQ(consumed.role, CONSUMERS);
    EXPECT_GT(produced.messages, 0u);
    EXPECT_EQ(produced.messages, consumed.messages) << "every message consumed exactly once";
    EXPECT_EQ(produced.checksum, consumed.checksum);
    EXPECT_EQ(produced.errors + consumed.errors, 0u);
    for (std::uint32_t i = 0; i < SLOTS; ++i) {
        EXPECT_EQ(Directory{h->raw_base_ptr() + dir->offset}.slot(i).load(), 0u) << "slot " << i;
    }
    const auto live = h->verify();
    EXPECT_TRUE(live.ok()) << live.to_string();
    ASSERT_TRUE(h->free(*dir));
    h->heal();
    const auto healed = h->verify(VerifyMode::after_heal);
    EXPECT_TRUE(healed.ok()) << healed.to_string();
    EXPECT_EQ(healed.blocks, 1u) << "all memory back: one free block";
    EXPECT_TRUE(h->die());
}

}  // namespace
}  // namespace amx::testing_support

int main(int argc, char** argv) {
    return amx::testing_support::run_with_sweep(argc, argv, "mpexchange", "--seconds", "seconds of message exchange", &amx::testing_support::g_seconds);
}
