// Standalone replay driver: runs LLVMFuzzerTestOneInput on every file named on the command line (a
// directory means every regular file below it, in sorted order). Built with any compiler, so the
// corpora and regressions run under ctest in the default g++ preset too. A crash aborts the
// process; the last "replay:" line names the input.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "support/figures.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace fs = std::filesystem;

static std::vector<fs::path> inputs_of(const fs::path& p) {
    std::vector<fs::path> out;
    if (fs::is_directory(p)) {
        for (const auto& e : fs::recursive_directory_iterator(p)) {
            if (e.is_regular_file() && e.path().filename().string()[0] != '.') out.push_back(e.path());
        }
        std::sort(out.begin(), out.end());
    } else {
        out.push_back(p);
    }
    return out;
}

int main(int argc, char** argv) {
    std::size_t runs = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (int a = 1; a < argc; ++a) {
        if (!fs::exists(argv[a])) {
            std::fprintf(stderr, "replay: %s does not exist\n", argv[a]);
            return 2;
        }
        for (const auto& f : inputs_of(argv[a])) {
            std::ifstream in(f, std::ios::binary);
            std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
            // Named before it runs: a crash report then follows the name of its input.
            std::fprintf(stderr, "replay: %s (%zu bytes)\n", f.c_str(), bytes.size());
            // Copy into an exact-size heap buffer so ASan sees reads past the end of the input.
            std::vector<std::uint8_t> exact(bytes.begin(), bytes.end());
            LLVMFuzzerTestOneInput(exact.data(), exact.size());
            ++runs;
        }
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    amx::test::figure("inputs", runs);
    std::printf("replay: %zu inputs ok in %.2f s\n", runs, s);
    return runs == 0 ? 1 : 0;  // an empty corpus is a mistake, not a pass
}
