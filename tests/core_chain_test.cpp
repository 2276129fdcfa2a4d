// The chain walk (core/chain.hpp): each way a walk stops, the invariant it names, and the one
// corruption that once read past the segment (recover's walk loaded the check word of a "block"
// 16 bytes before the end) sent through every entry point that walks the chain, on a segment whose
// last byte abuts an inaccessible page: a read past the end kills the process.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "amx/core/chain.hpp"
#include "badinput/support.hpp"
#include "support/test_heap.hpp"

namespace amx {
namespace {

using test::TestHeap;
using testing_support::in_child;
using P = StdAtomicPolicy;

bool reports(const VerifyReport& r, const char* id, std::uint32_t at) {
    for (const auto& v : r.violations) {
        if (std::strcmp(v.id, id) == 0 && v.a == at) return true;
    }
    return false;
}

std::vector<std::uint32_t> block_offsets(const TestHeap<>::H::Ctx& c) {
    std::vector<std::uint32_t> out;
    walk_chain(c, [&](const ChainBlock& b) { out.push_back(b.offset); });
    return out;
}

TEST(ChainWalk, AWholeChainEndsAtTheEnd) {
    TestHeap<> h(1 << 16);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(h->allocate(100 + 50 * i));
    std::uint32_t blocks = 0, bytes = 0;
    const ChainEnd end = walk_chain(h->context(), [&](const ChainBlock& b) {
        EXPECT_TRUE(b.genuine);
        ++blocks;
        bytes += b.size;
    });
    EXPECT_TRUE(end.complete());
    EXPECT_EQ(end.at, h->capacity());
    EXPECT_EQ(blocks, 6u) << "five allocations and the free remainder";
    EXPECT_EQ(bytes, h.data_bytes());
}

// Each corruption of block k's header stops the walk there with its own reason and invariant id;
// the blocks before k were all handed to on_block, none after.
TEST(ChainWalk, EachStopNamesItsInvariant) {
    struct Case {
        const char* what;
        std::uint32_t field, value;
        ChainStop why;
        const char* id;
    };
    const Case cases[] = {
        {"size 0", hdr::SIZE, 0, ChainStop::bad_size, "SZ1"},
        {"size below MIN_BLOCK", hdr::SIZE, 32, ChainStop::bad_size, "SZ1"},
        {"size not aligned", hdr::SIZE, 200, ChainStop::bad_size, "SZ1"},
        {"size past the end", hdr::SIZE, 0xFFFFFFF0u, ChainStop::bad_size, "SZ1"},
        {"check word zero (absorbed)", hdr::CHECK, 0, ChainStop::no_check_word, "HD1"},
        {"check word forged", hdr::CHECK, 0x12345679u, ChainStop::no_check_word, "HD1"},
    };
    for (const Case& k : cases) {
        TestHeap<> h(1 << 16);
        for (int i = 0; i < 4; ++i) ASSERT_TRUE(h->allocate(64));
        const auto& c = h->context();
        const std::uint32_t victim = block_offsets(c)[2];
        c.word(victim, k.field).store(k.value, P::relaxed);
        std::uint32_t seen = 0;
        const ChainEnd end = walk_chain(c, [&](const ChainBlock& b) { EXPECT_LT(b.offset, victim) << k.what; ++seen; });
        EXPECT_EQ(end.why, k.why) << k.what;
        EXPECT_EQ(end.at, victim) << k.what;
        EXPECT_EQ(seen, 2u) << k.what;
        EXPECT_STREQ(chain_fault(end.why).id, k.id) << k.what;
        EXPECT_TRUE(reports(h.verify(), k.id, victim)) << k.what << "\n" << h.verify().to_string();
    }
}

// A walk that only reports passes a header without its check word on and follows its size; a size
// that is bad as well stops it there, and the stop says the header was not genuine.
TEST(ChainWalk, PassModeWalksOnPastAMissingCheckWord) {
    TestHeap<> h(1 << 16);
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(h->allocate(64));
    const auto& c = h->context();
    const std::vector<std::uint32_t> offs = block_offsets(c);
    c.check_w(offs[1]).store(0, P::relaxed);
    std::vector<std::uint32_t> unchecked;
    const ChainEnd end = walk_chain(c, [&](const ChainBlock& b) { if (!b.genuine) unchecked.push_back(b.offset); },
                                    Unchecked::pass);
    EXPECT_TRUE(end.complete());
    EXPECT_EQ(unchecked, std::vector<std::uint32_t>{offs[1]});

    c.size_w(offs[1]).store(8, P::relaxed);
    const ChainEnd bad = walk_chain(c, [](const ChainBlock&) {}, Unchecked::pass);
    EXPECT_EQ(bad.why, ChainStop::bad_size);
    EXPECT_EQ(bad.found, 8u);
    EXPECT_FALSE(bad.genuine);
    const VerifyReport r = h.verify();
    EXPECT_TRUE(reports(r, "HD1", offs[1]) && reports(r, "SZ1", offs[1])) << r.to_string();
}

// A segment of CAPACITY bytes followed by a PROT_NONE page, formatted and wrapped in a handler.
class GuardedSegment {
public:
    static constexpr std::uint32_t CAPACITY = 1 << 16;

    GuardedSegment() : page_(static_cast<std::size_t>(::sysconf(_SC_PAGESIZE))) {
        void* p = ::mmap(nullptr, CAPACITY + page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw std::runtime_error("mmap failed");
        base_ = static_cast<std::byte*>(p);
        if (CAPACITY % page_ != 0 || ::mprotect(base_ + CAPACITY, page_, PROT_NONE) != 0) {
            throw std::runtime_error("no guard page");
        }
        if (!ProductionHeap::format(StdAtomicPolicy::Memory(base_, CAPACITY), {0x5eed, 1, 1})) {
            throw std::runtime_error("format failed");
        }
        // The handler's mapping unmaps the segment; the guard page is ours.
        auto h = MatrixHandler::from_mapping(std::make_shared<Mapping>(base_, CAPACITY, -1, std::string{}));
        if (!h) throw std::runtime_error(h.error().message());
        handler.emplace(std::move(*h));
    }
    ~GuardedSegment() {
        handler.reset();
        ::munmap(base_ + CAPACITY, page_);
    }
    std::byte* base() const { return base_; }

    std::optional<MatrixHandler> handler;

private:
    std::size_t page_;
    std::byte* base_ = nullptr;
};

// Allocates three blocks (and, if asked, the free remainder too), then makes the last block's size
// 16 bytes short of the end: the walk then meets a "header" at end - 16 whose words would lie past
// the segment. Returns that offset.
std::uint32_t shorten_last_block(MatrixHandler& m, bool last_block_live) {
    for (std::uint32_t n : {100u, 200u, 300u}) EXPECT_TRUE(m.allocate_raw(n));
    const auto& c = m.raw_matrix().context();
    std::uint32_t last = 0;
    walk_chain(c, [&](const ChainBlock& b) { last = b.offset; });
    if (last_block_live) {
        EXPECT_TRUE(m.allocate_raw(c.size_w(last).load(P::relaxed) - BLOCK_HEADER_SIZE));
        EXPECT_EQ(c.state(last), STATE_ALLOCATED);
    }
    c.size_w(last).store(c.size_w(last).load(P::relaxed) - 16, P::relaxed);
    return m.segment_size() - 16;
}

// Every entry point refuses or reports the shortened chain (CH1 at end - 16) and none reads past
// the end. Each runs in a child, so that a read past the end fails the test instead of ending it.
void expect_every_entry_point_stops_at_the_end(bool last_block_live) {
    GuardedSegment seg;
    MatrixHandler& m = *seg.handler;
    const std::uint32_t end = GuardedSegment::CAPACITY, stop = shorten_last_block(m, last_block_live);
    ASSERT_EQ(stop, end - 16);
    const char* ch1 = chain_fault(ChainStop::header_past_end).id;
    ASSERT_STREQ(ch1, "CH1");
    auto recover_refuses = [&](const RecoverOptions& o) {
        const std::vector<std::byte> before(seg.base(), seg.base() + end);
        const auto r = m.recover(o);
        if (r || r.error().code != Errc::corrupted || r.error().found != stop) return 1;
        if (r.error().context.rfind(std::string(ch1) + ": ", 0) != 0) return 2;
        return std::memcmp(before.data(), seg.base(), end) == 0 ? 0 : 3;  // nothing written
    };
    const struct {
        const char* entry;
        std::function<int()> run;  // 0: the expected outcome
    } entries[] = {
        {"verify", [&] { return reports(m.verify(), ch1, stop) ? 0 : 1; }},
        {"recover dry run", [&] { return recover_refuses({.dry_run = true}); }},
        {"recover", [&] { return recover_refuses({}); }},
        {"recover forced, reclaiming", [&] { return recover_refuses({.reclaim_dead = true, .force = true}); }},
        {"stats", [&] {
             const Stats s = m.stats();
             return !s.complete && s.chain.why == ChainStop::header_past_end && s.chain.at == stop ? 0 : 1;
         }},
        {"heal", [&] {
             m.heal();
             return reports(m.verify(VerifyMode::after_heal), ch1, stop) ? 0 : 1;
         }},
        {"allocate, free", [&] {
             if (auto b = m.allocate_raw(64)) (void)m.free(*b);
             return reports(m.verify(), ch1, stop) ? 0 : 1;
         }},
    };
    for (const auto& e : entries) {
        EXPECT_EQ(in_child(e.run), 0) << e.entry << (last_block_live ? " (last block live)" : " (last block free)")
                                      << ": a negative status is the signal that killed it";
    }
}

TEST(ChainWalk, LastBlockShortOfTheEndIsNeverReadPastFree) { expect_every_entry_point_stops_at_the_end(false); }
TEST(ChainWalk, LastBlockShortOfTheEndIsNeverReadPastLive) { expect_every_entry_point_stops_at_the_end(true); }

}  // namespace
}  // namespace amx
