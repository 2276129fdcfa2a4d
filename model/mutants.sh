#!/usr/bin/env bash
# Runs the seeded mutants the model checker must kill, each against the scenarios expected to kill
# it, cheapest tier first (random 20k, then a time-boxed full/bounded search). Builds only the
# scenarios needed (main.cpp + model/scenario_tu.cpp once per scenario, -DAMX_MODEL_SCENARIO=NAME)
# in a patched copy of the tree, so a mutant costs one or two translation units, not the whole model.
#
#   bash model/mutants.sh [OUT.tsv]          all mutants below
#   MUTANTS="untagged-head" bash model/mutants.sh
#
# Output: one line per mutant: mutant, verdict (killed/SURVIVED/BROKEN), killing scenario, tier,
# iteration, seconds; also written as TSV (default build/model-mutants.tsv).
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out=${1:-$root/build/model-mutants.tsv}
work=${AMX_MUTANT_DIR:-/tmp/amx-model-mutants}
cxx=${CXX:-g++}
budget=${AMX_MUTANT_BUDGET:-120}

# mutant patch -> scenarios that should kill it (first that fails wins)
declare -A KILLERS=(
  [untagged-head]="aba_three_threads"
  [model-push-cas-relaxed]="bitmap_clear_vs_push aba_three_threads"
  [model-pop-head-relaxed]="aba_three_threads bitmap_clear_vs_push"
  [u09-bit-cleared-unconditionally]="bitmap_clear_vs_push"
  [u05-split-keeps-back-link]="alloc_split_vs_free_right"
  [model-merge-left-without-pop]="free_free_adjacent alloc_split_vs_free_right"
)
ORDER=${MUTANTS:-"untagged-head model-push-cas-relaxed model-pop-head-relaxed u09-bit-cleared-unconditionally u05-split-keeps-back-link model-merge-left-without-pop"}

mkdir -p "$(dirname "$out")"
printf "mutant\tverdict\tscenario\ttier\titeration\texecutions\tseconds\n" >"$out"
for m in $ORDER; do
  patch_file="$root/ci/mutants/$m.patch"
  dir="$work/$m"
  if ! bash "$root/ci/lib/mutant.sh" apply "$patch_file" "$dir"; then
    printf "%s\tBROKEN\t-\t-\t-\t-\t-\n" "$m" | tee -a "$out"; continue
  fi
  flags="-std=c++20 -O2 -fno-sized-deallocation -w -I$dir/include -I$dir/tests -I$dir/model"
  objs="$dir/main.o"; built=1
  $cxx $flags -c "$dir/model/main.cpp" -o "$dir/main.o" 2>"$dir/build.log" || built=0
  for s in ${KILLERS[$m]}; do
    $cxx $flags -DAMX_MODEL_SCENARIO="$s" -c "$dir/model/scenario_tu.cpp" -o "$dir/sc_$s.o" 2>>"$dir/build.log" || built=0
    objs="$objs $dir/sc_$s.o"
  done
  if [ $built = 0 ] || ! $cxx $objs -o "$dir/model_runner" 2>>"$dir/build.log"; then
    printf "%s\tBROKEN(compile)\t-\t-\t-\t-\t-\n" "$m" | tee -a "$out"; continue
  fi
  killed=0
  for tier in quick full; do
    for s in ${KILLERS[$m]}; do
      log="$dir/$s.$tier.out"
      (cd "$dir" && ./model_runner --tier "$tier" --scenario "$s" --budget "$budget" --log "$dir/logs") >"$log" 2>&1
      if grep -q " FAIL" "$log"; then
        line=$(grep " FAIL" "$log" | head -1)
        ex=$(sed -n 's/.*executions=\([0-9]*\).*/\1/p' <<<"$line")
        secs=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$line")
        iter=$(grep -m1 "replay:" "$log" | sed -n "s/.*--from \([0-9]*\).*/\1/p; s/.*--state '\([0-9]*\) .*/\1/p")
        printf "%s\tkilled\t%s\t%s\t%s\t%s\t%s\n" "$m" "$s" "$tier" "${iter:-?}" "$ex" "$secs" | tee -a "$out"
        grep -m2 "failure:\|replay:" "$log" | sed 's/^/    /' | cut -c1-300
        killed=1; break 2
      fi
    done
  done
  if [ $killed = 0 ]; then
    printf "%s\tSURVIVED\t%s\tquick+full\t-\t-\t-\n" "$m" "${KILLERS[$m]// /,}" | tee -a "$out"
  fi
done
