// bench.json: every run's raw figures (not only the medians), the callgrind counts, the machine and
// the build, so a later invocation can be compared figure by figure.
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "report.hpp"

namespace amxb {

struct Machine {
    std::string cpu, loadavg, compiler;
    unsigned cores = 0;
    bool optimised = false, ndebug = false;
};

inline std::string quoted(const std::string& s) {
    std::string o = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') o += '\\';
        if (c == '\n') { o += "\\n"; continue; }
        if (static_cast<unsigned char>(c) < 0x20) continue;
        o += c;
    }
    return o + "\"";
}

inline void json_series(FILE* f, const Series& s, std::uint32_t workers) {
    std::fprintf(f, "{\"clean\": %s, \"median_ok_per_s\": %.0f, \"median_ops_per_s\": %.0f, "
                    "\"median_cpu_share\": %.3f, \"median_ns_per_op\": %.2f, \"median_cpu_ns_per_op\": %.2f, "
                    "\"failed\": %s, \"runs\": [",
                 s.clean() ? "true" : "false", s.ok_per_s(), s.ops_per_s(), s.cpu_share(), s.ns_per_op(workers),
                 s.cpu_ns_per_op(),
                 quoted(s.failed()).c_str());
    for (std::size_t i = 0; i < s.runs.size(); ++i) {
        const RunResult& r = s.runs[i];
        std::fprintf(f, "%s{\"clean\": %s, \"ops\": %llu, \"ok_ops\": %llu, \"idle\": %llu, \"wall_s\": %.4f, "
                        "\"cpu_share\": %.3f, \"check\": %s}",
                     i ? ", " : "", r.clean ? "true" : "false", static_cast<unsigned long long>(r.ops),
                     static_cast<unsigned long long>(r.ok_ops), static_cast<unsigned long long>(r.idle), r.wall_s,
                     r.cpu_share, quoted(r.check).c_str());
    }
    std::fprintf(f, "]}");
}

inline void json_rows(FILE* f, const char* key, const std::vector<Row>& rows) {
    std::fprintf(f, "  \"%s\": [", key);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        std::fprintf(f, "%s\n    {\"config\": %s, \"processes\": %s, \"workers\": %u, \"segment_bytes\": %llu, ",
                     i ? "," : "", quoted(r.config).c_str(), r.cfg.processes ? "true" : "false", r.cfg.workers,
                     static_cast<unsigned long long>(r.cfg.segment_bytes));
        std::fprintf(f, "\"ratio_ok\": %.3f,\n     \"amx\": ",
                     r.amx.clean() && r.boost.clean() && r.boost.ok_per_s() > 0 ? r.amx.ok_per_s() / r.boost.ok_per_s() : 0.0);
        if (r.amx.present()) json_series(f, r.amx, r.cfg.workers); else std::fprintf(f, "null");
        std::fprintf(f, ",\n     \"boost\": ");
        if (r.boost.present()) json_series(f, r.boost, r.cfg.workers); else std::fprintf(f, "null");
        std::fprintf(f, "}");
    }
    std::fprintf(f, "\n  ]");
}

inline bool write_json(const std::string& path, const Machine& m, double seconds, std::size_t runs,
                       const std::vector<Row>& rows, const std::vector<Row>& scaling,
                       const std::vector<IrResult>& ir) {
    FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) return false;
    std::fprintf(f, "{\n  \"machine\": {\"cpu\": %s, \"cores\": %u, \"loadavg_at_start\": %s},\n",
                 quoted(m.cpu).c_str(), m.cores, quoted(m.loadavg).c_str());
    std::fprintf(f, "  \"build\": {\"compiler\": %s, \"optimised\": %s, \"ndebug\": %s},\n", quoted(m.compiler).c_str(),
                 m.optimised ? "true" : "false", m.ndebug ? "true" : "false");
    std::fprintf(f, "  \"seconds_per_run\": %.2f, \"runs\": %zu,\n", seconds, runs);
    json_rows(f, "throughput", rows);
    std::fprintf(f, ",\n");
    json_rows(f, "scaling", scaling);
    std::fprintf(f, ",\n  \"callgrind\": [");
    for (std::size_t i = 0; i < ir.size(); ++i) {
        std::fprintf(f, "%s\n    {\"alloc\": %s, \"segment_bytes\": %llu, \"ops\": %llu, \"instructions\": %llu, "
                        "\"per_op\": %.1f, \"ok\": %s, \"error\": %s}",
                     i ? "," : "", quoted(ir[i].alloc).c_str(), static_cast<unsigned long long>(ir[i].segment_bytes),
                     static_cast<unsigned long long>(ir[i].ops), static_cast<unsigned long long>(ir[i].instructions),
                     ir[i].per_op(), ir[i].ok ? "true" : "false", quoted(ir[i].error).c_str());
    }
    std::fprintf(f, "\n  ]\n}\n");
    return std::fclose(f) == 0;
}

}  // namespace amxb
