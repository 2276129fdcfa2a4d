// The example's consumer: attaches to the segment NAME, finds the Ring at RING_OFFSET (the producer's
// first line of output) and takes messages until all of the producer's messages are taken, by any
// consumer. Several run at once; each message goes to exactly one (message.hpp has the protocol).
// Each message taken is checked (seq, checksum), its ring slot emptied and its block freed.
//   example_consumer NAME RING_OFFSET [RECORD_FILE]
// RECORD_FILE, if given, receives the seq of every message this consumer took, one per line.
// Exit status: 0 ok, 1 a message was damaged or could not be handed back, 2 an operation failed, 3 usage.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "message.hpp"

using namespace example;

namespace {

struct Taken {
    std::vector<std::uint32_t> seqs;  // the messages this consumer took intact
    std::uint32_t broken = 0;         // damaged, or its slot or block could not be handed back
};

// Empties the slot that carried message seq (only the consumer that won the message does).
bool clear_slot(Ring& ring, std::uint32_t seq, std::uint32_t offset) {
    std::uint32_t expected = offset;
    return word(ring.slot[seq % RING_SLOTS]).compare_exchange_strong(expected, 0, std::memory_order_relaxed);
}

// README 4 begin
bool take(const amx::MatrixHandler& h, Ring& ring, std::uint32_t offset, Taken& taken) {
    auto msg = h.block_at<Message>(offset);  // validated: a live block, large enough for a Message
    if (!msg || !h.transition_state(*msg, READY, TAKEN)) return false;  // CAS: exactly one consumer wins
    const Message m = h.read(*msg);
    const bool whole = intact(m, ring.total) && clear_slot(ring, m.seq, offset);
    const bool freed = h.free(*msg).has_value();
    if (whole && freed) {
        taken.seqs.push_back(m.seq);
    } else {
        ++taken.broken;
    }
    word(ring.taken).fetch_add(1, std::memory_order_relaxed);
    return true;
}
// README end

// Scans the ring until every message is taken, by this consumer or another.
bool consume(const amx::MatrixHandler& h, Ring& ring, Taken& taken) {
    const Patience patience(PATIENCE);
    while (word(ring.taken).load(std::memory_order_relaxed) < ring.total) {
        bool progress = false;
        for (std::uint32_t& slot : ring.slot) {
            const std::uint32_t offset = word(slot).load(std::memory_order_relaxed);
            if (offset != 0 && take(h, ring, offset, taken)) progress = true;
        }
        if (!progress && !patience.again()) return false;
    }
    return true;
}

bool record(const char* path, const std::vector<std::uint32_t>& seqs) {
    std::FILE* f = std::fopen(path, "w");
    if (f == nullptr) return false;
    for (const std::uint32_t s : seqs) std::fprintf(f, "%u\n", s);
    return std::fclose(f) == 0;
}

int run(const amx::MatrixHandler& h, std::uint32_t ring_offset, const char* record_path) {
    auto ring = h.block_at<Ring>(ring_offset);
    if (!ring) return fail("ring", ring.error());
    if (h.get_state(*ring) != RING_OPEN) {
        std::fprintf(stderr, "example_consumer: the block at %u is not an open ring\n", ring_offset);
        return 2;
    }
    Ring& r = h.read_mut(*ring);
    Taken taken;
    const bool done = consume(h, r, taken);
    const std::uint32_t total = r.total;
    // @EX.finished.add release: pairs with @EX.finished.get; our last access to the ring.
    word(r.finished).fetch_add(1, std::memory_order_release);
    std::printf("consumer %d: took %zu of %u messages, %u broken\n", static_cast<int>(::getpid()),
                taken.seqs.size(), total, taken.broken);
    if (record_path != nullptr && !record(record_path, taken.seqs)) {
        std::fprintf(stderr, "example_consumer: cannot write %s\n", record_path);
        return 2;
    }
    if (!done) std::fprintf(stderr, "example_consumer: messages still untaken after %lld s\n",
                            static_cast<long long>(PATIENCE.count()));
    return !done ? 2 : taken.broken != 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
    const auto ring_offset = argc == 3 || argc == 4 ? parse_u32(argv[2]) : std::nullopt;
    if (!ring_offset) {
        std::fprintf(stderr, "usage: example_consumer NAME RING_OFFSET [RECORD_FILE]\n");
        return 3;
    }
    auto h = amx::MatrixHandler::attach(argv[1]);
    if (!h) return fail("attach", h.error());
    return run(*h, *ring_offset, argc == 4 ? argv[3] : nullptr);
}
