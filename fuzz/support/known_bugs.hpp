// Open core bugs the fuzzers found: each target tolerates the symptom of an open bug (so the
// campaign keeps exploring) unless AMX_FUZZ_STRICT is set. The deep-tier replays of
// regressions/open/ set it, so they fail until the core is fixed; then the tolerance goes.
#pragma once
#include <cstdlib>

namespace amx::fuzz {

inline bool strict() {
    static const bool s = std::getenv("AMX_FUZZ_STRICT") != nullptr;
    return s;
}

}  // namespace amx::fuzz

#include <cstring>
#include <source_location>

namespace amx::fuzz {

// Open bugs that show as a wild access (instrumented policy) at a known site. The image target
// abandons the call (throws KnownBug) instead of aborting, so the campaign finds other bugs.
struct KnownBug {
    const char* id;
};

inline const char* known_wild_site(const std::source_location& w) {
    auto ends_with = [](const char* s, const char* suffix) {
        const std::size_t n = std::strlen(s), m = std::strlen(suffix);
        return n >= m && std::strcmp(s + n - m, suffix) == 0;
    };
    // IMG-1: verify()'s chain walk reads the header of a block that starts less than a header
    // before the end (it checks the previous size, not that the next header fits).
    if (ends_with(w.file_name(), "check/verify.hpp") && std::strstr(w.function_name(), "walk_chain")) return "IMG-1";
    // IMG-3: heal's merge stores prev_phys at W = R + size(R) with size(R) unchecked: a corrupted
    // size makes it write at a misaligned (or arbitrary in-segment) offset.
    if (ends_with(w.file_name(), "core/heal.hpp") && std::strstr(w.function_name(), "merge")) return "IMG-3";
    // (IMG-2, heal reading R = B + size(B) past the end, is fixed: regressions/image/img-2-*.)
    return nullptr;
}

}  // namespace amx::fuzz
