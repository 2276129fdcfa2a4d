// amx demo: two processes run the original's workload on a fresh segment, then heal and verify.
// The segment has a scratch name (amx/platform/scratch.hpp), as the multi-process tests' do:
// SIGINT/SIGTERM/SIGHUP remove it (the workers, tied to the demo, die with it), and a demo first
// removes what earlier demos killed outright left.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "amx/platform/scratch.hpp"
#include "tool.hpp"

namespace amx::tool {
namespace {

// One worker of the demo: the original's loop with fill patterns checked on free.
int demo_worker(const std::string& name, std::uint32_t id, double seconds) {
    auto h = amx::MatrixHandler::attach(name);
    if (!h) return fail_with(h.error(), name);
    struct Held { amx::Block<std::byte> b; std::uint32_t n; std::uint8_t tag; };
    std::vector<Held> held;
    std::uint32_t rng = id + 1;
    std::uint64_t ops = 0, broken = 0;
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
        for (int k = 0; k < 1024; ++k, ++ops) {
            rng = rng * 1103515245u + 12345u;
            if (rng % 10 < 7 && held.size() < 200) {
                const std::uint32_t n = rng % 512 + 32;
                auto b = h->allocate_raw(n);
                if (!b) continue;
                const auto tag = static_cast<std::uint8_t>(rng >> 24);
                std::memset(h->raw_base_ptr() + b->offset, tag, n);
                held.push_back({*b, n, tag});
            } else if (!held.empty()) {
                const std::size_t i = rng % held.size();
                const Held x = held[i];
                held[i] = held.back();
                held.pop_back();
                const std::byte* p = h->raw_base_ptr() + x.b.offset;
                for (std::uint32_t j = 0; j < x.n; ++j) broken += p[j] != std::byte{x.tag};
                if (!h->free(x.b)) ++broken;
            }
        }
    }
    for (const auto& x : held) broken += !h->free(x.b);
    if (!g_json) fmt::print("demo worker {} (pid {}): {} ops, {} broken\n", id, static_cast<int>(getpid()), ops, broken);
    return broken == 0 ? 0 : 1;
}

}  // namespace

int cmd_demo(double seconds) {
    amx::sweep_dead_scratch("demo");
    amx::remove_scratch_on_signals();
    const std::string name = amx::scratch_name("demo");
    auto h = amx::MatrixHandler::create(name, 16u << 20);
    if (!h) return fail_with(h.error(), name);
    if (!g_json) fmt::print("demo: segment {}, 16 MiB, 2 processes x {:.1f} s\n", name, seconds);
    std::fflush(stdout);
    pid_t kids[2] = {};
    for (std::uint32_t i = 0; i < 2; ++i) {
        kids[i] = amx::fork_tied_child();
        if (kids[i] == 0) _exit(demo_worker(name, i, seconds));
    }
    int failed = 0;
    for (const pid_t pid : kids) {
        int st = 0;
        waitpid(pid, &st, 0);
        failed += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    h->heal();
    const auto r = h->verify(amx::VerifyMode::after_heal);
    const auto s = h->stats();
    (void)h->die();
    const bool ok = failed == 0 && r.ok() && s.blocks == 1;
    if (g_json) {
        emit({{"name", name}, {"seconds", seconds}, {"failed_workers", failed}, {"verify_ok", r.ok()}, {"blocks_after_heal", s.blocks},
              {"free_bytes", s.free_bytes}, {"data_bytes", s.data_bytes}, {"ok", ok}});
    } else {
        std::fputs(r.to_string().c_str(), stdout);
        fmt::print("demo: {} worker(s) failed; after heal {} block(s), {} of {} data bytes free\n", failed, s.blocks,
                   s.free_bytes, s.data_bytes);
    }
    return ok ? OK : VIOLATIONS;
}

}  // namespace amx::tool
