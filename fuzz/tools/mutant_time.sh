#!/usr/bin/env bash
# Time for a fuzz target to kill a seeded mutant: fuzz/tools/mutant_time.sh PATCH TARGET [limit-s] [seeds]
# Applies ci/mutants/PATCH to a copy of the tree (ci/lib/mutant.sh), builds TARGET's fuzzer there
# (clang, libFuzzer + ASan + UBSan), and for each seed (default 1 2 3) runs it from the seed corpus
# until the first crash or the limit (default 60 s). Prints each time and the median ("none" = not
# found within the limit). Extra libFuzzer flags: FUZZ_FLAGS="..."
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
patch=${1:?patch} target=${2:?target} limit=${3:-60} seeds=${4:-"1 2 3"}
name=$(basename "$patch" .patch)
dir=/tmp/amx-mutant-$name
bash "$root/ci/lib/mutant.sh" apply "$patch" "$dir"
cmake -S "$dir" -B "$dir/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" -DAMX_SANITIZE=address -DAMX_FUZZ=ON -DAMX_MODEL=OFF \
  -DAMX_BENCH=OFF >/dev/null
cmake --build "$dir/build" --target "${target}_fuzzer" -j2 >/dev/null
times=()
for s in $seeds; do
  work=$(mktemp -d); cp "$root/fuzz/corpus/${target}_seed_corpus/"* "$work/"
  start=$(date +%s.%N)
  set +e
  "$dir/build/fuzz/${target}_fuzzer" -seed="$s" -max_total_time="$limit" -max_len=512 \
    -artifact_prefix="$work/" "$work" >"$work.log" 2>&1
  rc=$?
  set -e
  t=$(echo "$(date +%s.%N) - $start" | bc)
  if [ $rc -ne 0 ]; then
    times+=("$(printf '%.1f' "$t")")
    why=$(grep -m1 -A1 "FAILED" "$work.log" | tail -1 | cut -c1-100)
    echo "$name/$target seed $s: killed after $(printf '%.1f' "$t") s: $why"
  else
    times+=(none); echo "$name/$target seed $s: survived $limit s"
  fi
  rm -rf "$work" "$work.log"
done
median=$(printf '%s\n' "${times[@]}" | sed 's/none/99999/' | sort -g | sed -n 2p | sed 's/99999/none/')
echo "MUTANT $name target $target: times ${times[*]} -> median $median s (limit $limit s)"
