// The example's monitor: attaches to the segment NAME and prints its stats() SAMPLES times (default
// 1), INTERVAL_MS apart (default 100): blocks by state, free bytes, the largest free block and the
// participants. It allocates nothing (attaching registers it as a participant, as for every process).
//   example_monitor NAME [SAMPLES [INTERVAL_MS]]
#include <chrono>
#include <cstdio>
#include <thread>

#include "message.hpp"

using namespace example;

namespace {

void print(const amx::Stats& s) {
    std::printf("monitor: %u blocks (%u free, %u allocated, %u in user states, %u in transit); "
                "%llu of %u data bytes free, largest free block %u; participants %u live, %u dead%s\n",
                s.blocks, s.free_blocks, s.allocated_blocks, s.user_state_blocks, s.transient_blocks,
                static_cast<unsigned long long>(s.free_bytes), s.data_bytes, s.largest_free,
                s.live_participants, s.dead_participants, s.complete ? "" : "; the walk stopped early");
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    const auto samples = argc >= 3 ? parse_u32(argv[2]) : std::optional<std::uint32_t>(1);
    const auto interval = argc >= 4 ? parse_u32(argv[3]) : std::optional<std::uint32_t>(100);
    if (argc < 2 || argc > 4 || !samples || !interval) {
        std::fprintf(stderr, "usage: example_monitor NAME [SAMPLES [INTERVAL_MS]]\n");
        return 3;
    }
    auto h = amx::MatrixHandler::attach(argv[1]);
    if (!h) return fail("attach", h.error());
    for (std::uint32_t i = 0; i < *samples; ++i) {
        if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(*interval));
        print(h->stats());
    }
    return 0;
}
