#!/usr/bin/env bash
# Time for a fuzz target to kill a seeded mutant: fuzz/tools/mutant_time.sh MUTANT TARGET [limit-s] [seeds]
# Applies ci/mutants/MUTANT.mutant to a copy of the tree (ci/mutants/mutant.py apply), builds TARGET's fuzzer there
# (clang, libFuzzer + ASan + UBSan), and for each seed (default 1 2 3) runs it until the first crash
# or the limit (default 60 s). Prints each time and the median ("none" = not found within the limit).
# It starts from the few seeds fuzz_seedgen writes, not from fuzz/corpus: the checked-in corpus has
# grown by merged campaigns and holds inputs that kill these mutants on replay, which would time a
# replay, not a search. MUTANT_CORPUS=empty starts from no input at all (the search alone);
# MUTANT_CORPUS=checked-in times the checked-in corpus.
# Extra libFuzzer flags: FUZZ_FLAGS="..."
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
mutant=${1:?mutant} target=${2:?target} limit=${3:-60} seeds=${4:-"1 2 3"}
name=$(basename "$mutant" .mutant)
dir=/tmp/amx-mutant-$name
python3 "$root/ci/mutants/mutant.py" apply "$mutant" "$dir"
cmake -S "$dir" -B "$dir/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" -DAMX_SANITIZE=address -DAMX_FUZZ=ON -DAMX_MODEL=OFF \
  -DAMX_BENCH=OFF >/dev/null
cmake --build "$dir/build" --target "${target}_fuzzer" fuzz_seedgen -j2 >/dev/null
seeds_dir=$(mktemp -d)
if [ "${MUTANT_CORPUS:-generated}" = checked-in ]; then
  cp -r "$root/fuzz/corpus/${target}_seed_corpus" "$seeds_dir/"
elif [ "${MUTANT_CORPUS:-generated}" = empty ]; then
  mkdir "$seeds_dir/${target}_seed_corpus"
else
  "$dir/build/fuzz/fuzz_seedgen" "$seeds_dir" >/dev/null
fi
echo "$name/$target: starting from $(ls "$seeds_dir/${target}_seed_corpus" | wc -l) seed inputs (${MUTANT_CORPUS:-generated})"
times=()
for s in $seeds; do
  work=$(mktemp -d); cp "$seeds_dir/${target}_seed_corpus/". "$work/" -r
  start=$(date +%s.%N)
  set +e
  # shellcheck disable=SC2086
  "$dir/build/fuzz/${target}_fuzzer" ${FUZZ_FLAGS:-} -seed="$s" -max_total_time="$limit" -max_len=512 \
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
rm -rf "$seeds_dir"
median=$(printf '%s\n' "${times[@]}" | sed 's/none/99999/' | sort -g | sed -n 2p | sed 's/99999/none/')
echo "MUTANT $name target $target: times ${times[*]} -> median $median s (limit $limit s)"
