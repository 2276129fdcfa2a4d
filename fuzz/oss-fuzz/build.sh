#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build script: builds every fuzz target of fuzz/ (the list is
# fuzz/CMakeLists.txt's AMX_FUZZ_TARGETS) with the environment's $CXX $CXXFLAGS and
# $LIB_FUZZING_ENGINE, and writes into $OUT, per target T: the fuzzer T, T_seed_corpus.zip
# (fuzz/corpus/T_seed_corpus plus fuzz/regressions/T when present), T.dict and T.options (libFuzzer's
# max_len and flags, the ones ci/fuzz uses).
# Run from the source root (OSS-Fuzz runs it in the Dockerfile's WORKDIR); intermediate files go to
# $WORK/amx-build. Only the fuzzers are configured: no GTest, no tests, no CLI.
src=$PWD
build=$WORK/amx-build
if [[ ! -f $src/fuzz/CMakeLists.txt ]]; then
  echo "build.sh: run me from the atomic-matrix source root (no fuzz/CMakeLists.txt in $src)" >&2
  exit 2
fi

# CMAKE_BUILD_TYPE empty: $CXXFLAGS alone decides optimisation, and assertions stay on.
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE= \
  -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
  -DAMX_FUZZ=ON -DAMX_FUZZ_ENGINE_FLAGS="$LIB_FUZZING_ENGINE" -DAMX_SANITIZE= \
  -DAMX_BUILD_TESTS=OFF -DAMX_BUILD_CLI=OFF -DAMX_BUILD_EXAMPLES=OFF -DAMX_INSTALL=OFF
cmake --build "$build" --target amx_fuzzers -j"${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"

while read -r t; do
  cp "$build/fuzz/${t}_fuzzer" "$OUT/$t"
  cp "$src/fuzz/$t.dict" "$OUT/$t.dict"
  cp "$src/fuzz/$t.options" "$OUT/$t.options"
  seeds=("$src/fuzz/corpus/${t}_seed_corpus"/*)
  if [[ -d $src/fuzz/regressions/$t ]]; then
    seeds+=("$src/fuzz/regressions/$t"/*)
  fi
  rm -f "$OUT/${t}_seed_corpus.zip"
  zip -q -j "$OUT/${t}_seed_corpus.zip" "${seeds[@]}"
done < "$build/fuzz/oss_fuzz_targets.txt"
