#!/usr/bin/env bash
# Line coverage of include/amx/core reached by the fuzz corpora: fuzz/tools/coverage.sh [corpus-root]
# Builds the replay drivers with clang source-based coverage (no sanitizers) in build/fuzz-cov, runs
# every target over its corpus (default: build/fuzz-campaign/<t>/merged if present, else the seed
# corpus) and prints llvm-cov-14's report for the core headers.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
camp=${1:-build/fuzz-campaign}
out=build/fuzz-cov
targets=(ops schedules image mapping bitmap)
cmake -S . -B $out -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
  "-DCMAKE_CXX_FLAGS=-fprofile-instr-generate -fcoverage-mapping" -DAMX_MODEL=OFF -DAMX_BENCH=OFF >/dev/null
cmake --build $out -j2 --target $(printf '%s_replay ' "${targets[@]}") >/dev/null
rm -f $out/*.profraw
objs=()
for t in "${targets[@]}"; do
  corpus=fuzz/corpus/${t}_seed_corpus
  [ -d "$camp/$t/merged" ] && [ -n "$(ls -A "$camp/$t/merged")" ] && corpus=$camp/$t/merged
  LLVM_PROFILE_FILE="$out/$t.profraw" AMX_QUIET=1 $out/fuzz/${t}_replay "$corpus" 2>/dev/null | tail -1
  objs+=(-object "$out/fuzz/${t}_replay")
done
llvm-profdata-14 merge -sparse $out/*.profraw -o $out/fuzz.profdata
llvm-cov-14 report "${objs[@]:1}" -instr-profile=$out/fuzz.profdata $root/include/amx/core/*.hpp
