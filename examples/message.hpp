// What the example processes share: the Message they exchange, the Ring that carries message offsets
// from the producer to the consumers, and the user states of both.
//
// The protocol (producer.cpp, consumer.cpp):
//   producer: allocate a Message block, write it, put its offset in ring slot seq % RING_SLOTS once
//             that slot is empty, then set the block's state to READY (set_state: a release store).
//   consumer: read an offset from a slot, validate it (block_at<Message>), and try the CAS
//             READY -> TAKEN (acquire on success): exactly one consumer wins each message. The winner
//             reads it, empties its slot, frees the block and counts it in `taken`. When every message
//             is taken, each consumer adds itself to `finished` and stops touching the ring.
// The slot words carry only offsets, so they are relaxed: the message bytes, and the slot's value, are
// ordered by the state pair (set_state READY release, transition_state acquire), and every offset is
// validated by block_at and the CAS before use. `finished` is release/acquire (@EX.finished): the
// producer frees the ring only after every consumer's last access to it.
// A consumer that read an offset late may find the block freed (block_at fails), not yet READY, or
// already TAKEN: its CAS fails and it moves on. It may also find the block allocated again for a later
// message: it then wins that message legitimately, and the message's own seq names its slot. A
// reuse between its block_at and its CAS makes the CAS fail (invalid_offset): the CAS compares the
// handle's generation with the block's, in the same word as the state (docs/PROTOCOL.md §9).
#pragma once
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <thread>

#include "amx/handler/handler.hpp"

namespace example {

// README 1 begin
// User states (amx::USER_STATE_MIN = 49 and up belong to the application).
inline constexpr std::uint32_t READY = 50;      // written and offered: any consumer may take it
inline constexpr std::uint32_t TAKEN = 51;      // a consumer won it (READY -> TAKEN)
inline constexpr std::uint32_t RING_OPEN = 60;  // the ring is initialised
// README end

inline constexpr std::uint32_t RING_SLOTS = 16;
inline constexpr std::uint64_t SEGMENT_BYTES = 1 << 20;

struct Message {
    std::uint32_t seq = 0;
    std::uint32_t len = 0;  // bytes of text used
    char text[48] = {};
    std::uint64_t checksum = 0;  // of seq and text[0, len)
};

// Payload offsets of offered messages (0: the slot is empty). Every word is accessed through
// std::atomic_ref (word()), since other processes read and write it concurrently.
struct Ring {
    std::uint32_t total = 0;      // messages the producer sends
    std::uint32_t consumers = 0;  // consumer processes the producer waits for
    std::uint32_t taken = 0;      // messages taken so far
    std::uint32_t finished = 0;   // consumers done with the ring
    std::uint32_t slot[RING_SLOTS] = {};
};

inline std::atomic_ref<std::uint32_t> word(std::uint32_t& w) { return std::atomic_ref<std::uint32_t>(w); }
// Shared between processes: only an always lock-free atomic works there (no process-local lock).
static_assert(std::atomic_ref<std::uint32_t>::is_always_lock_free);

inline std::uint64_t checksum_of(const Message& m) {
    std::uint64_t h = 14695981039346656037ull ^ m.seq;  // FNV-1a
    for (std::uint32_t i = 0; i < m.len && i < sizeof m.text; ++i) h = (h ^ static_cast<unsigned char>(m.text[i])) * 1099511628211ull;
    return h;
}

inline Message make_message(std::uint32_t seq) {
    Message m;
    m.seq = seq;
    const int n = std::snprintf(m.text, sizeof m.text, "message %u from the producer", seq);
    m.len = static_cast<std::uint32_t>(n);
    m.checksum = checksum_of(m);
    return m;
}

inline bool intact(const Message& m, std::uint32_t total) {
    return m.seq < total && m.len <= sizeof m.text && m.checksum == checksum_of(m);
}

// Bounded waiting: again() sleeps a little and says whether the deadline is still ahead.
class Patience {
public:
    explicit Patience(std::chrono::seconds limit) : deadline_(std::chrono::steady_clock::now() + limit) {}
    bool again() const {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        return std::chrono::steady_clock::now() < deadline_;
    }

private:
    std::chrono::steady_clock::time_point deadline_;
};

inline constexpr std::chrono::seconds PATIENCE{30};

// A decimal u32, the whole argument.
inline std::optional<std::uint32_t> parse_u32(const char* s) {
    std::uint32_t v = 0;
    const char* end = s + std::strlen(s);
    const auto [p, ec] = std::from_chars(s, end, v);
    if (ec != std::errc{} || p != end || p == s) return std::nullopt;
    return v;
}

inline int fail(const char* what, const amx::Error& e) {
    std::fprintf(stderr, "%s: %s\n", what, e.message().c_str());
    return 2;
}

}  // namespace example
