// amx: a command-line tool for atomic-matrix segments (docs/CLI.md lists every command, its JSON
// and its exit codes). Parsing is CLI11, text is fmt, JSON is nlohmann-json.
// Exit codes: 0 ok, 1 violations found, 2 operation failed or refused, 3 usage.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "amx/handler/handler.hpp"
#include "layout_table.hpp"
#include "tool.hpp"

namespace amx::tool {

std::string file_of(const std::string& name) { return fmt::format("/dev/shm{}", amx::shm_path(name)); }

std::string octal(std::uint64_t mode) { return fmt::format("0{:o}", mode & 07777); }

}  // namespace amx::tool

namespace {

using namespace amx::tool;

constexpr std::uint64_t MAX_SEGMENT = 0xFFFFFFF0ull;  // u32 offsets, 16-byte aligned (segment_posix.cpp)

// ---- errors in words ------------------------------------------------------------------------

// The magic as text when printable, else hex.
std::string magic_text(std::uint64_t m) {
    std::string s;
    for (int i = 0; i < 8; ++i) {
        const char c = static_cast<char>((m >> (8 * i)) & 0xFF);
        if (c < 0x20 || c > 0x7E) return fmt::format("0x{:016x}", m);
        s += c;
    }
    return "\"" + s + "\"";
}

struct Problem {
    std::string what, fix;
};

// The problem and the fix for an error of the library about segment `name`.
Problem describe(const amx::Error& e, const std::string& name) {
    using amx::Errc;
    const std::string f = name.empty() ? std::string("the segment") : file_of(name);
    const std::string sys = std::strerror(static_cast<int>(e.found));
    switch (e.code) {
        case Errc::invalid_name: {
            const auto c = static_cast<char>(e.found);
            const std::string ch = c == '/' ? "a '/' (slash)" : (c >= 0x21 && c <= 0x7E) ? fmt::format("'{}'", c)
                                                                                            : fmt::format("byte 0x{:02x}", e.found & 0xFF);
            return {fmt::format("the name '{}' is not valid: it contains {} or is '.'/'..'", name, ch),
                    "use only letters, digits, '.', '_' and '-' (no '/'), e.g. `amx create my-seg 1M`"};
        }
        case Errc::name_too_long:
            return {fmt::format("the name is {} characters long, the maximum is {}", e.found, e.expected), "use a shorter name"};
        case Errc::already_exists:
            return {fmt::format("{} already exists", f), fmt::format("pick another name, or remove it with `amx unlink {}`", name)};
        case Errc::not_found:
            return {fmt::format("{} does not exist", f), "check the name with `amx list`"};
        case Errc::foreign_owner:
            return {fmt::format("{} belongs to uid {}, not to this user (uid {})", f, e.found, e.expected),
                    "run as its owner"};
        case Errc::insecure_mode:
            return {fmt::format("{} has mode {}, only 0600 or 0660 are accepted", f, octal(e.found)),
                    "use --mode 0600 (owner only) or --mode 0660 (group)"};
        case Errc::not_regular_file: return {fmt::format("{} is not a regular file", f), "remove it or pick another name"};
        case Errc::symlink: return {fmt::format("{} is a symbolic link (never followed)", f), "remove the link"};
        case Errc::bad_magic:
            return {fmt::format("{} is not an atomic-matrix segment: its magic is {}, expected {}", f, magic_text(e.found),
                                magic_text(amx::SEGMENT_MAGIC)),
                    "check the name; remove the file with `amx unlink --force` only if you know it is garbage"};
        case Errc::version_mismatch:
            return {fmt::format("{} has layout version {}, this tool reads {}", f, e.found, e.expected), "use the matching amx build"};
        case Errc::layout_mismatch:
            return {fmt::format("{} was formatted with another layout (fingerprint 0x{:x}, expected 0x{:x})", f, e.found, e.expected),
                    "use the amx build that created it"};
        case Errc::header_corrupted: return {fmt::format("{}: the header checksum does not match (corrupted)", f), "recreate the segment"};
        case Errc::size_mismatch:
            return {fmt::format("{}: the file is {} bytes, the header says {}", f, e.found, e.expected), "recreate the segment"};
        case Errc::init_timeout: return {fmt::format("{}: its creator is still formatting it", f), "retry in a moment"};
        case Errc::stale_init:
            return {fmt::format("{}: its creator died before it finished formatting", f), fmt::format("remove it: `amx unlink {} --force`", name)};
        case Errc::init_failed: return {fmt::format("{}: formatting failed", f), fmt::format("remove it: `amx unlink {} --force`", name)};
        case Errc::no_space:
            return {fmt::format("{}: no room for {} bytes: {}", f, e.expected, sys),
                    e.found == EFBIG ? "raise the file-size limit (`ulimit -f`) or use a smaller size"
                                     : "free space in /dev/shm or use a smaller size"};
        case Errc::permission_denied: return {fmt::format("{}: {}", f, sys), "run as the segment's owner or ask for group access"};
        case Errc::system_error:
            return {fmt::format("{}: {}{}", f, sys, e.context.empty() ? "" : " (" + e.context + ")"),
                    e.found == EFBIG ? "raise the file-size limit (`ulimit -f`) or use a smaller size" : "see the system error above"};
        case Errc::invalid_size:
            return {fmt::format("size {} bytes is {} {} bytes", e.found, e.context, e.expected),
                    "give a size between the minimum and 4 GiB - 16, a multiple of 16 (K/M/G suffixes)"};
        case Errc::unlink_failed: return {fmt::format("{} could not be removed: {}", f, sys), "check its permissions"};
        case Errc::not_ours: return {fmt::format("{} is no longer the segment that was mapped", f), "check the name"};
        case Errc::contention:
            return {fmt::format("{}: other live participants are registered", f),
                    "stop them first, or pass --force (unsafe while they run)"};
        default: return {fmt::format("{}: {}", f, e.message()), "see docs/BAD_INPUT.md"};
    }
}

}  // namespace

namespace amx::tool {

int fail_with(const std::string& what, const std::string& fix, int code) {
    if (g_json) {
        std::puts(json{{"ok", false}, {"error", what}, {"fix", fix}, {"exit", code}}.dump().c_str());
    }
    fmt::print(stderr, "amx: {}\n  fix: {}\n", what, fix);
    return code;
}

int fail_with(const amx::Error& e, const std::string& name) {
    const Problem p = describe(e, name);
    return fail_with(p.what, p.fix);
}

void emit(const json& j) { std::puts(j.dump(2).c_str()); }

}  // namespace amx::tool

namespace {

// ---- strict input ---------------------------------------------------------------------------

// "5G" = 5 GiB; digits with an optional K, M or G (binary units, optional "iB"); nothing else.
std::optional<std::uint64_t> parse_size(const std::string& s, std::string& why) {
    std::size_t i = 0;
    std::uint64_t v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        if (v > (~0ull - 9) / 10) {
            why = "the number is too large";
            return std::nullopt;
        }
        v = v * 10 + static_cast<std::uint64_t>(s[i++] - '0');
    }
    if (i == 0) {
        why = "a size is digits with an optional K, M or G suffix (e.g. 64M)";
        return std::nullopt;
    }
    std::string unit = s.substr(i);
    int shift = 0;
    if (unit == "K" || unit == "KiB" || unit == "k") shift = 10;
    else if (unit == "M" || unit == "MiB") shift = 20;
    else if (unit == "G" || unit == "GiB") shift = 30;
    else if (!unit.empty()) {
        why = fmt::format("unknown unit '{}': use K, M or G", unit);
        return std::nullopt;
    }
    if (v > (~0ull >> shift)) {
        why = "the number is too large";
        return std::nullopt;
    }
    v <<= shift;
    if (v > MAX_SEGMENT) {
        why = fmt::format("{} is {} bytes, above the maximum segment size {} bytes (4 GiB - 16)", s, v, MAX_SEGMENT);
        return std::nullopt;
    }
    return v;
}

// ---- segment access -------------------------------------------------------------------------

// The most a file may grant: owner-only and group segments both open.
amx::SegmentOptions tool_options() {
    amx::SegmentOptions o;
    o.mode = 0660;
    return o;
}

// The handler, or nothing with the error reported in rc.
template <class H>
std::optional<H> or_report(amx::Result<H> h, const std::string& name, int& rc) {
    if (h) return std::move(*h);
    rc = fail_with(h.error(), name);
    return std::nullopt;
}

// Read-write, for the commands that write (heal, recover, unlink): registers this process as a
// participant while it runs.
std::optional<amx::MatrixHandler> open_segment(const std::string& name, int& rc) {
    return or_report(amx::MatrixHandler::attach(name, tool_options()), name, rc);
}

// Read-only, for the commands that only look (info, stats, verify, dump, map): the mapping is
// PROT_READ and this process does not register.
std::optional<amx::SharedHandler> observe_segment(const std::string& name, int& rc) {
    return or_report(amx::MatrixHandler::observe(name, tool_options()), name, rc);
}

// Live participants other than this process.
std::vector<std::uint32_t> other_live(const amx::Stats& s) {
    std::vector<std::uint32_t> pids;
    for (const auto& p : s.participants) {
        if (p.alive && p.pid != static_cast<std::uint32_t>(::getpid())) pids.push_back(p.pid);
    }
    return pids;
}

std::string in_use(const std::string& name, const std::vector<std::uint32_t>& others) {
    return fmt::format("{} is in use by {} other live participant(s) (pids {})", file_of(name), others.size(), fmt::join(others, ", "));
}

std::string state_name(std::uint32_t st) {
    switch (st) {
        case amx::STATE_FREE: return "free";
        case amx::STATE_ALLOCATED: return "allocated";
        case amx::STATE_ACKED: return "acked";
        case amx::STATE_COALESCING: return "coalescing";
        default: return st >= amx::USER_STATE_MIN ? fmt::format("user:{}", st) : fmt::format("reserved:{}", st);
    }
}

struct BlockRow {
    std::uint32_t offset, size, state, by;  // by: participant slot + 1, 0 = unknown
};

std::vector<BlockRow> blocks_of(const amx::HandlerBase& h, amx::ChainEnd* end = nullptr) {
    std::vector<BlockRow> rows;
    const auto& ctx = h.raw_matrix().context();
    const amx::ChainEnd e = amx::walk_chain(ctx, [&](const amx::ChainBlock& b) {
        const std::uint32_t by = ctx.word(b.offset, amx::hdr::ALLOCATED_BY).load(amx::StdAtomicPolicy::relaxed);
        rows.push_back({b.offset, b.size, b.state, amx::is_live_state(b.state) || b.state == amx::STATE_ACKED ? by : 0});  // the word is a list hint otherwise
    }, amx::Unchecked::pass);
    if (end) *end = e;
    return rows;
}

json participants_json(const amx::Stats& s, const std::vector<BlockRow>& rows) {
    json arr = json::array();
    for (const auto& p : s.participants) {
        std::uint64_t n = 0, bytes = 0;
        for (const auto& r : rows) {
            if (r.by == p.slot + 1) {
                ++n;
                bytes += r.size;
            }
        }
        arr.push_back({{"slot", p.slot}, {"pid", p.pid}, {"alive", p.alive}, {"blocks", n}, {"bytes", bytes}});
    }
    return arr;
}

// ---- commands -------------------------------------------------------------------------------

json header_json(const amx::SegmentHeader& hdr) {
    json j;
    for (const amx::SegmentField& f : amx::SEGMENT_FIELDS) {
        if (f.role == amx::FieldRole::reserved) continue;
        j[f.name] = amx::field_value(hdr, f);
    }
    return j;
}

int cmd_info(const amx::HandlerBase& h) {
    const auto hdr = amx::ProductionHeap::read_header(h.raw_matrix().context().mem);
    if (g_json) {
        emit({{"name", h.name()}, {"file", file_of(h.name())}, {"header", header_json(hdr)}});
        return OK;
    }
    fmt::print("name {}\n", h.name());
    for (const amx::SegmentField& f : amx::SEGMENT_FIELDS) {
        if (f.role == amx::FieldRole::reserved) continue;
        const auto v = amx::field_value(hdr, f);
        if (f.word == 8) fmt::print("{} 0x{:016x}\n", f.name, v);
        else fmt::print("{} {}\n", f.name, v);
    }
    return OK;
}

json stats_json(const amx::HandlerBase& h) {
    const amx::Stats s = h.stats();
    amx::ChainEnd end;
    const auto rows = blocks_of(h, &end);
    std::map<std::string, std::uint64_t> by_state;
    std::map<std::uint32_t, std::uint64_t> classes;  // power-of-two size class -> blocks
    for (const auto& r : rows) {
        ++by_state[state_name(r.state)];
        std::uint32_t c = 16;
        while (c < r.size && c < (1u << 31)) c <<= 1;
        ++classes[c];
    }
    json hist = json::array();
    for (const auto& [c, n] : classes) hist.push_back({{"up_to_bytes", c}, {"blocks", n}});
    const double frag = s.free_bytes == 0 ? 0.0 : 1.0 - static_cast<double>(s.largest_free) / static_cast<double>(s.free_bytes);
    json parts = participants_json(s, rows);
    std::uint64_t dead_blocks = 0, dead_bytes = 0;
    for (const auto& p : parts) {
        if (!p["alive"].get<bool>()) {
            dead_blocks += p["blocks"].get<std::uint64_t>();
            dead_bytes += p["bytes"].get<std::uint64_t>();
        }
    }
    json j = {{"name", h.name()},
              {"capacity", s.capacity},
              {"data_bytes", s.data_bytes},
              {"free_bytes", s.free_bytes},
              {"largest_free", s.largest_free},
              {"fragmentation", frag},
              {"blocks", s.blocks},
              {"blocks_by_state", by_state},
              {"size_classes", hist},
              {"complete", s.complete},
              {"live_participants", s.live_participants},
              {"dead_participants", s.dead_participants},
              {"participants", parts},
              {"dead_held_blocks", dead_blocks},
              {"dead_held_bytes", dead_bytes}};
    if (!s.complete) {
        const amx::ChainFault f = amx::chain_fault(s.chain.why);
        j["stopped_at"] = s.chain.at;
        j["stopped_why"] = fmt::format("{} violated: {}", f.id, f.what);
    }
    return j;
}

void print_stats(const json& j) {
    fmt::print("segment {}: capacity {} B, {} data bytes\n", j["name"].get<std::string>(), j["capacity"].get<std::uint64_t>(),
               j["data_bytes"].get<std::uint64_t>());
    fmt::print("free {} B, largest free block {} B, fragmentation {:.3f}\n", j["free_bytes"].get<std::uint64_t>(),
               j["largest_free"].get<std::uint64_t>(), j["fragmentation"].get<double>());
    fmt::print("blocks {}:", j["blocks"].get<std::uint64_t>());
    for (const auto& [k, v] : j["blocks_by_state"].items()) fmt::print(" {} {}", k, v.get<std::uint64_t>());
    fmt::print("\nsize classes:");
    for (const auto& c : j["size_classes"]) fmt::print(" <={}:{}", c["up_to_bytes"].get<std::uint64_t>(), c["blocks"].get<std::uint64_t>());
    fmt::print("\nparticipants: {} live, {} dead\n", j["live_participants"].get<std::uint64_t>(), j["dead_participants"].get<std::uint64_t>());
    for (const auto& p : j["participants"]) {
        fmt::print("  slot {} pid {} {}: {} blocks, {} B\n", p["slot"].get<std::uint64_t>(), p["pid"].get<std::uint64_t>(),
                   p["alive"].get<bool>() ? "alive" : "DEAD", p["blocks"].get<std::uint64_t>(), p["bytes"].get<std::uint64_t>());
    }
    if (j["dead_held_blocks"].get<std::uint64_t>() > 0) {
        fmt::print("held by dead participants: {} blocks, {} B (reclaim: amx recover NAME --apply --reclaim-dead)\n",
                   j["dead_held_blocks"].get<std::uint64_t>(), j["dead_held_bytes"].get<std::uint64_t>());
    }
    fmt::print("complete {}\n", j["complete"].get<bool>() ? "yes" : "no: the walk stopped at " +
                                                                      std::to_string(j.value("stopped_at", 0u)) + ", " +
                                                                      j.value("stopped_why", std::string()));
}

volatile std::sig_atomic_t g_stop = 0;

int cmd_stats(const amx::HandlerBase& h, double watch, unsigned count) {
    std::signal(SIGINT, [](int) { g_stop = 1; });
    std::signal(SIGTERM, [](int) { g_stop = 1; });
    for (unsigned n = 1;; ++n) {
        const json j = stats_json(h);
        if (g_json) std::puts(j.dump(watch > 0 ? -1 : 2).c_str());
        else print_stats(j);
        std::fflush(stdout);
        if (watch <= 0 || g_stop || (count != 0 && n >= count)) break;
        const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(watch);
        while (!g_stop && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (g_stop) break;
        if (!g_json) fmt::print("\n");
    }
    return OK;
}

// Verify: with other live participants, a walk can meet blocks mid-operation (a transient state,
// a free block popped and not yet relisted), which the quiescent invariants call violations. So a
// verify refuses (exit 2) while others are live, unless --snapshot: then it checks anyway and
// reports what it saw as unconfirmed (exit 0), never as violations.
int cmd_verify(const amx::HandlerBase& h, bool after_heal, bool snapshot) {
    const auto others = other_live(h.stats());
    if (!others.empty() && !snapshot) {
        return fail_with(in_use(h.name(), others) + ": the quiescent invariants do not hold while they run, so nothing was checked",
                         "stop them and re-run, or pass --snapshot to check anyway and get unconfirmed findings");
    }
    const auto r = h.verify(after_heal ? amx::VerifyMode::after_heal : amx::VerifyMode::quiescent);
    const bool live = !others.empty();
    json v = json::array();
    for (const auto& x : r.violations) v.push_back({{"id", x.id}, {"what", x.what}, {"a", x.a}, {"b", x.b}});
    if (g_json) {
        emit({{"name", h.name()}, {"mode", after_heal ? "after_heal" : "quiescent"}, {"other_live_participants", others},
              {"conclusive", !live}, {"ok", r.ok()}, {"blocks", r.blocks}, {"free_blocks", r.free_blocks},
              {"listed", r.listed}, {"free_bytes", r.free_bytes}, {"used_bytes", r.used_bytes},
              {"stale_bits", r.stale_bits}, {live ? "unconfirmed" : "violations", v}});
    } else {
        if (after_heal) fmt::print("mode after-heal: also checks that no two free blocks are adjacent (CO1), which holds only after `amx heal` with nobody else active\n");
        if (live) fmt::print("snapshot of a live segment ({} other participants, pids {}): findings are unconfirmed, not violations\n",
                             others.size(), fmt::join(others, ", "));
        std::string text = r.to_string();
        if (live && !r.ok()) text.replace(text.find("VIOLATIONS"), 10, "UNCONFIRMED");
        std::fputs(text.c_str(), stdout);
    }
    return r.ok() || live ? OK : VIOLATIONS;
}

int cmd_heal(const amx::HandlerBase& h) {
    const auto healed = h.heal();
    if (!healed) return fail_with(healed.error(), h.name());
    const amx::HealReport& r = *healed;
    if (g_json) emit({{"name", h.name()}, {"detached", r.detached}, {"merged", r.merged}, {"listed", r.listed}, {"corrupt", r.corrupt}});
    else fmt::print("heal: {} detached, {} merged, {} listed{}\n", r.detached, r.merged, r.listed, r.corrupt ? ", CORRUPT chain" : "");
    return r.corrupt ? VIOLATIONS : OK;
}

std::optional<std::uint32_t> parse_state(const std::string& s) {
    if (s == "free") return amx::STATE_FREE;
    if (s == "allocated") return amx::STATE_ALLOCATED;
    if (s == "acked") return amx::STATE_ACKED;
    if (s == "coalescing") return amx::STATE_COALESCING;
    std::string t = s.rfind("user:", 0) == 0 ? s.substr(5) : s;
    if (t.empty() || t.size() > 9 || t.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    return static_cast<std::uint32_t>(std::stoul(t));
}

int cmd_dump(const amx::HandlerBase& h, const std::string& state) {
    std::optional<std::uint32_t> want;
    if (!state.empty() && state != "user" && !(want = parse_state(state))) {
        return fail_with(fmt::format("unknown state '{}'", state), "use free, allocated, acked, coalescing, user, or a number", USAGE);
    }
    const amx::Stats s = h.stats();
    amx::ChainEnd end;
    const auto rows = blocks_of(h, &end);
    json arr = json::array();
    for (const auto& r : rows) {
        if (state == "user" ? r.state < amx::USER_STATE_MIN : want && r.state != *want) continue;
        json b = {{"offset", r.offset}, {"size", r.size}, {"state", state_name(r.state)}, {"participant", r.by}};
        for (const auto& p : s.participants) {
            if (r.by == p.slot + 1) {
                b["pid"] = p.pid;
                b["alive"] = p.alive;
            }
        }
        arr.push_back(b);
    }
    if (g_json) {
        emit({{"name", h.name()}, {"blocks", arr}, {"complete", end.complete()}});
        return OK;
    }
    fmt::print("{:>10} {:>10} {:<14} {}\n", "offset", "bytes", "state", "owner");
    for (const auto& b : arr) {
        std::string owner = "-";
        if (b.contains("pid")) owner = fmt::format("pid {} ({})", b["pid"].get<std::uint32_t>(), b["alive"].get<bool>() ? "alive" : "dead");
        else if (b["participant"].get<std::uint32_t>() != 0) owner = fmt::format("slot {} (released)", b["participant"].get<std::uint32_t>() - 1);
        fmt::print("0x{:08x} {:>10} {:<14} {}\n", b["offset"].get<std::uint32_t>(), b["size"].get<std::uint32_t>(),
                   b["state"].get<std::string>(), owner);
    }
    if (!end.complete()) fmt::print("the chain walk stopped early at 0x{:x}\n", end.at);
    return OK;
}

int cmd_recover(const amx::HandlerBase& h, bool apply, bool reclaim, bool force) {
    amx::RecoverOptions o;
    o.dry_run = !apply;
    o.reclaim_dead = reclaim;
    o.force = force;
    auto r = h.recover(o);
    if (!r) {
        if (r.error() == amx::Errc::contention) {
            const auto others = other_live(h.stats());
            return fail_with(in_use(h.name(), others) +
                                 ": recover rebuilds the lists and is safe only while every other participant is stopped or dead",
                             "stop them first, or pass --force (unsafe while they run)");
        }
        return fail_with(r.error(), h.name());
    }
    auto list = [](const std::vector<amx::RecoveredBlock>& v) {
        json a = json::array();
        for (const auto& b : v) a.push_back({{"offset", b.offset}, {"size", b.size}, {"state", state_name(b.state)}, {"participant", b.participant}});
        return a;
    };
    if (g_json) {
        emit({{"name", h.name()}, {"dry_run", r->dry_run}, {"blocks_before", r->blocks_before}, {"blocks_after", r->blocks_after},
              {"transient", r->transient}, {"merged", r->merged}, {"listed", r->listed}, {"prev_fixed", r->prev_fixed},
              {"heals_reset", r->heals_reset}, {"transit_reset", r->transit_reset},
              {"live_participants", r->live_participants}, {"dead_participants", r->dead_participants},
              {"free_bytes", r->free_bytes}, {"live_bytes", r->live_bytes}, {"orphan_bytes", r->orphan_bytes},
              {"leaked_bytes", r->leaked_bytes}, {"orphans", list(r->orphans)}, {"orphans_reclaimed", r->orphans_reclaimed},
              {"leaked", list(r->leaked)}});
    } else {
        const auto others = other_live(h.stats());
        if (!others.empty()) {
            fmt::print("{} other live participant(s) (pids {}): the figures are a snapshot of a segment in use (blocks in "
                       "transit count as transient); --apply refuses while they run\n",
                       others.size(), fmt::join(others, ", "));
        }
        fmt::print("{}\n", r->to_string());
        if (!apply) fmt::print("nothing was written; pass --apply to act\n");
    }
    return OK;
}

int cmd_unlink(const std::string& name, bool force) {
    if (auto v = amx::validate_name(name); !v) return fail_with(describe(v.error(), name).what, describe(v.error(), name).fix, USAGE);
    if (!force) {
        int rc = OK;
        auto h = open_segment(name, rc);
        if (!h) return rc;
        const auto others = other_live(h->stats());
        if (!others.empty()) {
            return fail_with(in_use(name, others),
                             "stop them first, or pass --force (their mappings stay valid; the name goes)");
        }
        if (auto r = h->die(); !r) return fail_with(r.error(), name);
    } else if (auto r = amx::unlink_segment(name); !r) {
        return fail_with(r.error(), name);
    }
    if (g_json) emit({{"name", name}, {"file", file_of(name)}, {"unlinked", true}});
    else fmt::print("unlinked {}\n", file_of(name));
    return OK;
}

int cmd_create(const std::string& name, const std::string& size_text, const std::string& mode_text) {
    std::string why;
    const auto size = parse_size(size_text, why);
    if (!size) return fail_with(why, "give a size such as 64M or 1G, at most 4 GiB - 16 bytes", USAGE);
    amx::SegmentOptions o;
    if (!mode_text.empty()) {
        if (mode_text.find_first_not_of("01234567") != std::string::npos || mode_text.size() > 5) {
            return fail_with(fmt::format("mode '{}' is not an octal number", mode_text), "use --mode 0600 or --mode 0660", USAGE);
        }
        o.mode = static_cast<mode_t>(std::stoul(mode_text, nullptr, 8));
        if (o.mode != 0600 && o.mode != 0660) {
            return fail_with(fmt::format("mode {} is refused: only 0600 (owner) and 0660 (group) are accepted", octal(o.mode)),
                             "use --mode 0600 or --mode 0660", USAGE);
        }
    }
    // A file-size limit must not kill us midway: with SIGXFSZ ignored the write fails with EFBIG,
    // which create_segment reports after removing the name it created.
    std::signal(SIGXFSZ, SIG_IGN);
    auto h = amx::MatrixHandler::create(name, *size, o);
    if (!h) {
        const bool exists = h.error() == amx::Errc::already_exists;
        if (!exists && ::access(file_of(name).c_str(), F_OK) == 0) {
            return fail_with(fmt::format("{} (and {} was left behind)", describe(h.error(), name).what, file_of(name)),
                             describe(h.error(), name).fix);
        }
        return fail_with(h.error(), name);
    }
    if (!g_json) fmt::print("created {} ({} bytes, mode {})\n", file_of(name), *size, octal(o.mode));
    return cmd_info(*h);
}

// ---- map: an SVG picture of the segment ----------------------------------------------------

std::string state_colour(std::uint32_t st) {
    switch (st) {
        case amx::STATE_FREE: return "#8fd694";
        case amx::STATE_ALLOCATED: return "#4a7fc1";
        case amx::STATE_ACKED: return "#f0a030";
        case amx::STATE_COALESCING: return "#d9534f";
        default: {  // user states: a hue per state, reserved ones grey
            if (st < amx::USER_STATE_MIN) return "#999999";
            return fmt::format("hsl({},55%,55%)", (st * 67) % 360);
        }
    }
}

std::string xml_escape(const std::string& t) {
    std::string o;
    for (char c : t) {
        if (c == '<') o += "&lt;";
        else if (c == '>') o += "&gt;";
        else if (c == '&') o += "&amp;";
        else if (c == '"') o += "&quot;";
        else o += c;
    }
    return o;
}

// Blocks laid out by offset on ROWS strips of WIDTH px (a strip is data_bytes / ROWS bytes), each
// block a rectangle (split where it crosses a strip's end) as wide as its bytes, filled by state,
// with its offset, size and state as a tooltip; then a legend and the fragmentation figures.
std::string map_svg(const amx::HandlerBase& h, const json& st, const std::vector<BlockRow>& rows) {
    constexpr double WIDTH = 1000, ROW_H = 28, GAP = 6, LEFT = 10, TOP = 40;
    constexpr int ROWS = 16;
    const double first = h.first_block_offset(), data = st["data_bytes"].get<double>();
    const double per_row = data / ROWS;
    std::string body;
    std::map<std::string, std::string> legend;  // state name -> colour
    for (const auto& r : rows) {
        const std::string name = state_name(r.state), colour = state_colour(r.state);
        legend.emplace(name, colour);
        const std::string title = fmt::format("<title>0x{:x}: {} bytes, {}{}</title>", r.offset, r.size, name,
                                              r.by ? fmt::format(", participant slot {}", r.by - 1) : std::string());
        double at = r.offset - first, left = r.size;
        body += fmt::format("<g class=\"block\" data-offset=\"{}\" data-size=\"{}\" data-state=\"{}\">{}", r.offset, r.size, name, title);
        do {  // one rectangle per strip the block touches
            const int row = std::min(ROWS - 1, static_cast<int>(at / per_row));
            const double in_row = at - row * per_row, take = std::min(left, (row + 1) * per_row - at);
            body += fmt::format("<rect x=\"{:.3f}\" y=\"{:.1f}\" width=\"{:.3f}\" height=\"{}\" fill=\"{}\" stroke=\"#333\" stroke-width=\"0.3\"/>",
                                LEFT + in_row / per_row * WIDTH, TOP + row * (ROW_H + GAP), std::max(take / per_row * WIDTH, 0.5), ROW_H, colour);
            at += take;
            left -= take;
        } while (left > 0.5 && at < data);
        body += "</g>\n";
    }
    const double legend_y = TOP + ROWS * (ROW_H + GAP) + 10;
    std::string leg;
    double x = LEFT;
    for (const auto& [name, colour] : legend) {
        leg += fmt::format("<rect x=\"{:.0f}\" y=\"{:.0f}\" width=\"14\" height=\"14\" fill=\"{}\" stroke=\"#333\"/>"
                           "<text x=\"{:.0f}\" y=\"{:.0f}\">{}</text>\n", x, legend_y, colour, x + 18, legend_y + 12, name);
        x += 30 + 8 * static_cast<double>(name.size());
    }
    const std::string figures = fmt::format(
        "{} blocks; {} of {} data bytes free; largest free block {} B; fragmentation {:.3f}; participants {} live, {} dead",
        st["blocks"].get<std::uint64_t>(), st["free_bytes"].get<std::uint64_t>(), st["data_bytes"].get<std::uint64_t>(),
        st["largest_free"].get<std::uint64_t>(), st["fragmentation"].get<double>(), st["live_participants"].get<std::uint64_t>(),
        st["dead_participants"].get<std::uint64_t>());
    return fmt::format(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" font-family=\"sans-serif\" font-size=\"12\">\n"
        "<text x=\"{:.0f}\" y=\"16\" font-size=\"15\">{}: {} bytes, blocks by offset ({} bytes per strip)</text>\n"
        "<text x=\"{:.0f}\" y=\"32\">{}</text>\n{}{}</svg>\n",
        WIDTH + 2 * LEFT, legend_y + 30, LEFT, xml_escape(file_of(h.name())), st["capacity"].get<std::uint64_t>(),
        static_cast<std::uint64_t>(per_row), LEFT, figures, body, leg);
}

int cmd_map(const amx::HandlerBase& h, const std::string& svg) {
    const json st = stats_json(h);
    const auto rows = blocks_of(h);
    FILE* f = std::fopen(svg.c_str(), "w");
    if (!f) return fail_with(fmt::format("{} cannot be written: {}", svg, std::strerror(errno)), "give a writable path to --svg");
    const std::string text = map_svg(h, st, rows);
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    if (std::fclose(f) != 0 || !ok) return fail_with(fmt::format("{} could not be written completely", svg), "check the disk");
    if (g_json) emit({{"name", h.name()}, {"svg", svg}, {"blocks", rows.size()}, {"bytes", text.size()}});
    else fmt::print("wrote {}: {} blocks, {} bytes of SVG\n", svg, rows.size(), text.size());
    return OK;
}

// ---- main -----------------------------------------------------------------------------------

// A command on a segment: every command but layout, list and demo takes its NAME.
CLI::App* on_segment(CLI::App& app, const char* cmd, const char* help, std::string& name) {
    CLI::App* c = app.add_subcommand(cmd, help);
    c->add_option("NAME", name, "segment name (the file is /dev/shm/amx.NAME)")->required();
    return c;
}

bool is_command(const CLI::App& app, const std::string& word) {
    for (const CLI::App* c : app.get_subcommands([](const CLI::App*) { return true; })) {
        if (c->get_name() == word) return true;
    }
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"amx: inspect and manage atomic-matrix shared-memory segments (docs/CLI.md)", "amx"};
    app.require_subcommand(1, 1);
    app.fallthrough();
    app.add_flag("--json", g_json, "print JSON on stdout (errors too)");
    std::string name, size_opt, size_pos, mode, state;
    bool after_heal = false, snapshot = false, apply = false, reclaim = false, force = false;
    double watch = 0, seconds = 2.0;
    unsigned count = 0;

    auto* layout = app.add_subcommand("layout", "print the layout v1 table (docs/LAYOUT.md embeds it)");
    auto* list = app.add_subcommand("list", "every atomic-matrix segment in /dev/shm (read without mapping)");
    auto* info = on_segment(app, "info", "header fields", name);
    auto* stats = on_segment(app, "stats", "capacity, free bytes, fragmentation, states, classes, participants", name);
    stats->add_option("--watch", watch, "repeat every SECONDS until interrupted")->check(CLI::PositiveNumber);
    stats->add_option("--count", count, "with --watch: stop after N samples")->check(CLI::PositiveNumber);
    auto* verify = on_segment(app, "verify", "check the invariants; exit 1 on violations", name);
    verify->add_flag("--after-heal", after_heal, "also check CO1 (no two adjacent free blocks): holds only after `amx heal` with nobody else active");
    verify->add_flag("--snapshot", snapshot, "check although other participants are live; findings are then unconfirmed (exit 0)");
    auto* dump = on_segment(app, "dump", "every block: offset, bytes, state, owner", name);
    dump->add_option("--state", state, "only blocks in state S (free, allocated, acked, coalescing, user, or a number)");
    auto* recover = on_segment(app, "recover", "rebuild lists from the chain (dry run unless --apply)", name);
    recover->add_flag("--apply", apply, "write the repairs");
    recover->add_flag("--reclaim-dead", reclaim, "free the live blocks of dead participants");
    recover->add_flag("--force", force, "run although other live participants are registered (unsafe)");
    auto* heal = on_segment(app, "heal", "merge adjacent free blocks (safe while others run)", name);
    auto* unlink = on_segment(app, "unlink", "remove the segment's name", name);
    unlink->add_flag("--force", force, "remove whatever the name holds, even in use or not a segment");
    std::string svg;
    auto* map = on_segment(app, "map", "an SVG picture: blocks by offset, coloured by state, with a legend", name);
    map->add_option("--svg", svg, "the SVG file to write")->required();
    auto* create = on_segment(app, "create", "create and format a segment", name);
    create->add_option("SIZE", size_pos, "size in bytes, or with K, M or G (binary units)");
    create->add_option("--size", size_opt, "same as SIZE");
    create->add_option("--mode", mode, "file mode, octal: 0600 (default) or 0660");
    auto* demo = app.add_subcommand("demo", "two processes share a fresh segment, then verify");
    demo->add_option("SECONDS", seconds, "run time (default 2)")->check(CLI::Range(0.001, 3600.0));

    // CLI11 calls a stray word "a subcommand is required"; name it an unknown command instead.
    int first = 1;
    while (first < argc && argv[first][0] == '-' && std::strcmp(argv[first], "--help") != 0 && std::strcmp(argv[first], "-h") != 0) ++first;
    if (first < argc && argv[first][0] != '-' && !is_command(app, argv[first])) {
        g_json = std::find(argv + 1, argv + argc, std::string("--json")) != argv + argc;
        return fail_with(fmt::format("unknown command '{}'", argv[first]),
                         "commands: layout list info stats verify dump map recover heal unlink create demo (`amx --help`)", USAGE);
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);  // --help
        const std::string what = e.what();
        return fail_with(what.empty() ? std::string("usage error") : what, "see `amx --help` or `amx COMMAND --help`", USAGE);
    }
    if (layout->parsed()) {
        if (g_json) emit({{"markdown", amx::cli::layout_table()}});
        else std::fputs(amx::cli::layout_table().c_str(), stdout);
        return OK;
    }
    if (list->parsed()) return cmd_list();
    if (demo->parsed()) return cmd_demo(seconds);
    if (auto v = amx::validate_name(name); !v) {
        const Problem p = describe(v.error(), name);
        return fail_with(p.what, p.fix, USAGE);
    }
    if (unlink->parsed()) return cmd_unlink(name, force);
    if (create->parsed()) {
        if (size_pos.empty() == size_opt.empty()) {
            return fail_with("create needs the size exactly once: `amx create NAME SIZE` or `--size SIZE`",
                             "e.g. `amx create my-seg 64M`", USAGE);
        }
        return cmd_create(name, size_pos.empty() ? size_opt : size_pos, mode);
    }
    int rc = OK;
    if (recover->parsed() || heal->parsed()) {
        auto h = open_segment(name, rc);
        if (!h) return rc;
        return recover->parsed() ? cmd_recover(*h, apply, reclaim, force) : cmd_heal(*h);
    }
    auto h = observe_segment(name, rc);
    if (!h) return rc;
    if (info->parsed()) return cmd_info(*h);
    if (stats->parsed()) return cmd_stats(*h, watch, count);
    if (verify->parsed()) return cmd_verify(*h, after_heal, snapshot);
    if (dump->parsed()) return cmd_dump(*h, state);
    if (map->parsed()) return cmd_map(*h, svg);
    return USAGE;
}
