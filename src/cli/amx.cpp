// amx: a command-line tool for atomic-matrix segments.
//   amx layout                     print the layout v1 table (docs/LAYOUT.md embeds it, checked)
//   amx create NAME SIZE           create and format a segment
//   amx info|stats NAME            header fields / block statistics
//   amx verify NAME [--strict]     run verify() (strict: after heal, CO1 too); exit 1 on violations
//   amx heal NAME                  run heal()
//   amx unlink NAME                remove the name
//   amx demo [SECONDS]             two processes share a fresh segment, then verify (ci/gate)
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "amx/handler/handler.hpp"
#include "layout_table.hpp"

namespace {

int usage() {
    std::fprintf(stderr,
                 "usage: amx layout | create NAME SIZE | info NAME | stats NAME | verify NAME [--strict]\n"
                 "           | heal NAME | unlink NAME | demo [SECONDS]\n");
    return 2;
}

int report(const amx::Error& e) {
    std::fprintf(stderr, "amx: %s\n", e.message().c_str());
    return 1;
}

// Every header field but the reserved ones, by name (SEGMENT_FIELDS), 8-byte ones in hex.
int cmd_info(const amx::MatrixHandler& h) {
    const auto hdr = amx::ProductionHeap::read_header(h.raw_matrix().context().mem);
    std::printf("name %s\n", h.name().c_str());
    for (const amx::SegmentField& f : amx::SEGMENT_FIELDS) {
        if (f.role == amx::FieldRole::reserved) continue;
        const auto v = static_cast<unsigned long long>(amx::field_value(hdr, f));
        std::printf(f.word == 8 ? "%s 0x%016llx\n" : "%s %llu\n", f.name, v);
    }
    return 0;
}

int cmd_stats(const amx::MatrixHandler& h) {
    const amx::Stats s = h.stats();
    std::printf("capacity %u\ndata_bytes %u\nfree_bytes %llu\nlargest_free %u\nblocks %u\nfree %u\n"
                "allocated %u\nuser_state %u\ntransient %u\n",
                s.capacity, s.data_bytes, static_cast<unsigned long long>(s.free_bytes), s.largest_free,
                s.blocks, s.free_blocks, s.allocated_blocks, s.user_state_blocks, s.transient_blocks);
    if (s.complete) {
        std::printf("complete yes\n");
    } else {
        const amx::ChainFault f = amx::chain_fault(s.chain.why);
        std::printf("complete no: the walk stopped at 0x%x, %s violated: %s\n", s.chain.at, f.id, f.what);
    }
    return 0;
}

int cmd_verify(const amx::MatrixHandler& h, bool strict) {
    const auto r = h.verify(strict ? amx::VerifyMode::after_heal : amx::VerifyMode::quiescent);
    std::printf("%s", r.to_string().c_str());
    return r.ok() ? 0 : 1;
}

// One worker of the demo: the original's loop with fill patterns checked on free.
int demo_worker(const std::string& name, std::uint32_t id, double seconds) {
    auto h = amx::MatrixHandler::attach(name);
    if (!h) return report(h.error());
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
    std::printf("demo worker %u (pid %d): %llu ops, %llu broken\n", id, static_cast<int>(getpid()),
                static_cast<unsigned long long>(ops), static_cast<unsigned long long>(broken));
    return broken == 0 ? 0 : 1;
}

int cmd_demo(double seconds) {
    const std::string name = amx::random_name();
    auto h = amx::MatrixHandler::create(name, 16u << 20);
    if (!h) return report(h.error());
    std::printf("demo: segment %s, 16 MiB, 2 processes x %.1f s\n", name.c_str(), seconds);
    std::fflush(stdout);
    std::vector<pid_t> kids;
    for (std::uint32_t i = 0; i < 2; ++i) {
        const pid_t pid = fork();
        if (pid == 0) _exit(demo_worker(name, i, seconds));
        kids.push_back(pid);
    }
    int failed = 0;
    for (pid_t pid : kids) {
        int st = 0;
        waitpid(pid, &st, 0);
        failed += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    h->heal();
    const int v = cmd_verify(*h, true);
    const auto s = h->stats();
    std::printf("demo: %d worker(s) failed; after heal %u block(s), %llu of %u data bytes free\n", failed,
                s.blocks, static_cast<unsigned long long>(s.free_bytes), s.data_bytes);
    (void)h->die();
    return failed == 0 && v == 0 && s.blocks == 1 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    const std::string cmd = argv[1];
    if (cmd == "layout") {
        std::fputs(amx::cli::layout_table().c_str(), stdout);
        return 0;
    }
    if (cmd == "demo") return cmd_demo(argc > 2 ? std::atof(argv[2]) : 2.0);
    if (argc < 3) return usage();
    const std::string name = argv[2];
    if (cmd == "create") {
        if (argc < 4) return usage();
        auto h = amx::MatrixHandler::create(name, std::strtoull(argv[3], nullptr, 0));
        return h ? cmd_info(*h) : report(h.error());
    }
    if (cmd == "unlink") {
        auto r = amx::unlink_segment(name);
        return r ? 0 : report(r.error());
    }
    auto h = amx::MatrixHandler::attach(name);
    if (!h) return report(h.error());
    if (cmd == "info") return cmd_info(*h);
    if (cmd == "stats") return cmd_stats(*h);
    if (cmd == "verify") return cmd_verify(*h, argc > 3 && std::strcmp(argv[3], "--strict") == 0);
    if (cmd == "heal") {
        const auto r = h->heal();
        std::printf("heal: %u detached, %u merged, %u listed%s\n", r.detached, r.merged, r.listed,
                    r.corrupt ? ", CORRUPT chain" : "");
        return r.corrupt ? 1 : 0;
    }
    return usage();
}
