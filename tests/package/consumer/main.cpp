// A program outside the project, built against atomic_matrix as a user builds it: the installed CMake
// package, the installed pkg-config file, or the source tree added with add_subdirectory. It sets no
// C++ standard of its own (the package must carry C++20), creates an in-memory segment, allocates,
// writes, reads back, frees and verifies that the segment is whole again.
#include <cstdio>
#include <cstring>
#include <vector>

#include "amx/handler/handler.hpp"
#include "amx/version.hpp"

static_assert(__cplusplus >= 202002L, "atomic_matrix must bring C++20 to its users");

namespace {

struct Point {
    int x, y;
};

bool version_ok() {
    char joined[32];
    std::snprintf(joined, sizeof joined, "%d.%d.%d", AMX_VERSION_MAJOR, AMX_VERSION_MINOR, AMX_VERSION_PATCH);
    std::printf("consumer: amx/version.hpp says %s (%s), the build expects %s\n", AMX_VERSION_STRING, joined,
                AMX_EXPECTED_VERSION);
    return std::strcmp(joined, AMX_VERSION_STRING) == 0 && std::strcmp(AMX_VERSION_STRING, AMX_EXPECTED_VERSION) == 0;
}

// Allocates n Points, reads each back, frees them all; true if every step succeeded.
bool round_trip(const amx::MatrixHandler& h, int n) {
    std::vector<amx::Block<Point>> blocks;
    for (int i = 0; i < n; ++i) {
        auto b = h.allocate<Point>();
        if (!b) return false;
        h.write(*b, Point{i, -i});
        blocks.push_back(*b);
    }
    bool ok = true;
    for (int i = 0; i < n; ++i) {
        const Point p = h.read(blocks[static_cast<std::size_t>(i)]);
        ok = ok && p.x == i && p.y == -i && h.free(blocks[static_cast<std::size_t>(i)]).has_value();
    }
    return ok;
}

}  // namespace

int main() {
    auto h = amx::MatrixHandler::in_memory(1 << 20);
    if (!h) {
        std::fprintf(stderr, "consumer: %s\n", h.error().message().c_str());
        return 1;
    }
    const bool trip = round_trip(*h, 100);
    h->heal();
    const amx::VerifyReport v = h->verify(amx::VerifyMode::after_heal);
    const amx::Stats s = h->stats();
    std::printf("consumer: 100 blocks allocated, read back and freed: %s; after heal %u block(s); %s",
                trip ? "ok" : "FAILED", s.blocks, v.to_string().c_str());
    return version_ok() && trip && v.ok() && s.blocks == 1 ? 0 : 1;
}
