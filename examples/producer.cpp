// The example's producer: creates the segment NAME, offers MESSAGES messages to CONSUMERS consumer
// processes through a Ring block (message.hpp has the protocol), waits until every consumer is done,
// frees the ring and checks that every byte came back: after heal() the segment is one free block and
// verify() is clean. Its first line of output is "ring OFFSET", the consumers' second argument.
//   example_producer NAME MESSAGES CONSUMERS
// Exit status: 0 all delivered and the segment whole again, 1 it is not, 2 an operation failed, 3 usage.
#include <cstdio>
#include <string>

#include "message.hpp"

using namespace example;

namespace {

// Waits until slot seq % RING_SLOTS is empty, then puts the offset there.
bool put_in_ring(Ring& ring, std::uint32_t seq, std::uint32_t offset) {
    auto slot = word(ring.slot[seq % RING_SLOTS]);
    const Patience patience(PATIENCE);
    while (slot.load(std::memory_order_relaxed) != 0) {  // relaxed: see message.hpp (slot words)
        if (!patience.again()) return false;
    }
    slot.store(offset, std::memory_order_relaxed);
    return true;
}

// README 3 begin
int send(const amx::MatrixHandler& h, Ring& ring, std::uint32_t seq) {
    auto msg = h.allocate<Message>();                    // tl::expected<amx::Block<Message>, amx::Error>
    if (!msg) return fail("allocate", msg.error());
    h.write(*msg, make_message(seq));
    if (!put_in_ring(ring, seq, msg->offset)) return 2;  // a u32 offset: the same block in every process
    auto ready = h.set_state(*msg, READY);               // user states are >= 49: now a consumer may take it
    return ready ? 0 : fail("set_state", ready.error());
}
// README end

bool wait_for_consumers(Ring& ring) {
    const Patience patience(PATIENCE);
    // @EX.finished.get acquire: pairs with @EX.finished.add (the consumer's last access to the ring).
    while (word(ring.finished).load(std::memory_order_acquire) < ring.consumers) {
        if (!patience.again()) return false;
    }
    return true;
}

// Every consumer is done: free the ring, heal, and check that the segment is whole again.
int finish(const amx::MatrixHandler& h, amx::Block<Ring> ring) {
    if (auto freed = h.free(ring); !freed) return fail("free", freed.error());
    h.heal();
    const amx::VerifyReport v = h.verify(amx::VerifyMode::after_heal);
    const amx::Stats s = h.stats();
    std::printf("producer: after heal %u block(s), %llu of %u data bytes free; %s", s.blocks,
                static_cast<unsigned long long>(s.free_bytes), s.data_bytes, v.to_string().c_str());
    return v.ok() && s.blocks == 1 && s.free_blocks == 1 ? 0 : 1;
}

int run(const amx::MatrixHandler& h, std::uint32_t total, std::uint32_t consumers) {
    auto ring = h.allocate<Ring>();
    if (!ring) return fail("allocate", ring.error());
    h.write(*ring, Ring{total, consumers});
    if (auto open = h.set_state(*ring, RING_OPEN); !open) return fail("set_state", open.error());
    std::printf("ring %u\n", ring->offset);
    std::fflush(stdout);
    for (std::uint32_t seq = 0; seq < total; ++seq) {
        if (const int rc = send(h, h.read_mut(*ring), seq); rc != 0) return rc;
    }
    std::printf("producer: %u messages sent\n", total);
    if (!wait_for_consumers(h.read_mut(*ring))) {
        std::fprintf(stderr, "producer: the consumers did not finish within %lld s\n",
                     static_cast<long long>(PATIENCE.count()));
        return 2;
    }
    return finish(h, *ring);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: example_producer NAME MESSAGES CONSUMERS\n");
        return 3;
    }
    const std::string name = argv[1];
    const auto total = parse_u32(argv[2]), consumers = parse_u32(argv[3]);
    if (!total || !consumers) {
        std::fprintf(stderr, "example_producer: MESSAGES and CONSUMERS are decimal numbers\n");
        return 3;
    }
    // README 2 begin
    auto h = amx::MatrixHandler::create(name, SEGMENT_BYTES);  // the file /dev/shm/amx.<name>
    if (!h) return fail("create", h.error());
    // README end
    const int rc = run(*h, *total, *consumers);
    (void)h->die();  // unlink the name; attached processes keep their mappings
    return rc;
}
