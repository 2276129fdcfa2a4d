# Functions of the mutant runner (ci/mutants/run); sourced. Needs: root, W, budget, only_stage,
# results. One mutant = apply, then stages (build only the stage's targets, run its checks) until
# one fails.
#
# Stage order: the check the patch header names (`# killed-by:`) first, since its author says it
# kills the mutant; if it does not, the ladder runs cheapest first and records whatever kills it.
# A stage that kills is recorded with the failing tests and a replay command.

MUT_LADDER="unit badinput scenario prop fuzz process model"
declare -A MUT_TARGETS=(
  [unit]="core_mapping_test core_heap_test handler_test regression_blocks_test regression_free_test regression_interleave_test regression_segment_test"
  [badinput]="badinput_test"
  [scenario]="scenario_test stress_test fork_test"
  [prop]="prop_model_test prop_heap_test"
  [fuzz]="ops_replay schedules_replay image_replay mapping_replay bitmap_replay"
  [process]="multiproc_exchange multiproc_bootstrap crash_sweep_test amx_cli"
)
declare -A MUT_TESTS=(
  [unit]="core_mapping_test|core_heap_test|handler_test|regression_blocks_test|regression_free_test|regression_interleave_test|regression_segment_test"
  [badinput]="badinput_test"
  [scenario]="scenario_test|stress_test|fork_test"
  [prop]="prop_model_test|prop_heap_test"
  [fuzz]="fuzz_ops_replay|fuzz_schedules_replay|fuzz_image_replay|fuzz_mapping_replay|fuzz_bitmap_replay"
  [process]="multiproc_exchange|multiproc_bootstrap|crash_sweep_test|cli_demo"
)
MUT_FLAGS=${AMX_MUTANT_CXXFLAGS:--O0}      # the ctest stages: compile time dominates, not run time
MUT_MODEL_FLAGS=${AMX_MUTANT_MODEL_FLAGS:--O1}
MUT_JOBS=${AMX_MUTANT_JOBS:-2}

mut_log() { printf '%s\n' "$*" >&2; }

# Files a patch touches (relative paths).
mut_patch_files() { sed -n 's#^+++ b/\([^[:space:]]*\).*#\1#p' "$1"; }

# Copies the tree to $W/src with the patch applied. tar keeps mtimes, so ninja rebuilds only what
# differs; files the previous mutant patched get their old mtime back and are touched here.
mut_apply() {
  local patch=$1
  bash "$root/ci/lib/mutant.sh" apply "$patch" "$W/src" || return 1
  local f
  for f in $(cat "$W/last-files" 2>/dev/null) $(mut_patch_files "$patch"); do
    [ -e "$W/src/$f" ] && touch "$W/src/$f"
  done
  mut_patch_files "$patch" >"$W/last-files"
}

mut_configure() {
  [ -f "$W/build/build.ninja" ] && return 0
  cmake -S "$W/src" -B "$W/build" -G Ninja -DCMAKE_BUILD_TYPE=Mutant \
    -DCMAKE_CXX_FLAGS_MUTANT="$MUT_FLAGS" -DAMX_MODEL=OFF -DAMX_BENCH=OFF -DAMX_FUZZ=OFF >"$W/configure.log" 2>&1
}

# The `# killed-by:` header as a first stage: "model:a,b", a stage name, "stage:detail", or
# "TEST:GTEST_FILTER" for one test binary. Prints "stage|arg" or nothing.
mut_hint() {
  local k; k=$(bash "$root/ci/lib/mutant.sh" field "$1" killed-by)
  case "$k" in
    model:*)  # "model:a,b (free text)": keep the names of existing scenarios
      local s names=""; for s in $(echo "${k#model:}" | awk '{print $1}' | tr ',' ' '); do
        [ -f "$root/model/sc_$s.cpp" ] && names="${names:+$names,}$s"
      done
      echo "model|$names" ;;
    unit|badinput|scenario|prop|fuzz|process) echo "$k|" ;;
    prop:*|fuzz:*|unit:*|badinput:*|scenario:*|process:*) echo "${k%%:*}|" ;;
    *_test:*|*_replay:*) echo "named|$k" ;;
  esac
}

# Runs one stage against the patched tree. Sets STAGE_CHECK (failing tests), STAGE_REPLAY.
# Returns 0 if the mutant survived the stage, 1 if it was killed, 2 on a build error.
mut_stage() {
  local stage=$1 arg=$2 log=$3 name=$4
  STAGE_CHECK="" STAGE_REPLAY="bash ci/mutants/run --only $name --stage $stage"
  case "$stage" in
    named) mut_stage_named "$arg" "$log" ;;
    model) mut_stage_model "$arg" "$log" ;;
    *) mut_stage_ctest "$stage" "$log" ;;
  esac
}

mut_build() {  # targets... ; log in $BUILD_LOG
  mut_configure || { echo "configure failed" >"$BUILD_LOG"; return 2; }
  cmake --build "$W/build" -j"$MUT_JOBS" --target "$@" >"$BUILD_LOG" 2>&1 || return 2
}

mut_stage_ctest() {
  local stage=$1 log=$2
  BUILD_LOG=$log.build; mut_build ${MUT_TARGETS[$stage]} || return 2
  ctest --test-dir "$W/build" -R "^(${MUT_TESTS[$stage]})\$" --timeout 180 --output-on-failure >"$log" 2>&1 && return 0
  # Killed only by a failure the clean tree does not have (baseline signature of this stage).
  local new; new=$(comm -23 <(mut_signature "$log") <(sort -u "$W/baseline-sig/$stage" 2>/dev/null))
  [ -z "$new" ] && return 0
  STAGE_CHECK=$(echo $new)
  return 1
}

# What failed in a ctest log: "case:Suite.Test" per failed gtest case, "test:NAME(kind)" per failed
# ctest test (kind: Failed, SEGFAULT, Timeout, ...). Sorted, one per line.
mut_signature() {
  { sed -n 's/^\[  FAILED  \] \([A-Za-z_][A-Za-z0-9_/]*\.[A-Za-z0-9_/]*\).*/case:\1/p' "$1"
    sed -n 's/^[[:space:]]*[0-9]* - \([^ ]*\) (\(.*\))$/test:\1(\2)/p' "$1"; } | sort -u
}

mut_stage_named() {
  local test=${1%%:*} filter=${1#*:} log=$2
  BUILD_LOG=$log.build; mut_build "$test" || return 2
  local bin; bin=$(find "$W/build" -type f -name "$test" -perm -u+x | head -n 1)
  [ -n "$bin" ] || { echo "no binary $test" >"$log"; return 2; }
  (cd "$(dirname "$bin")" && timeout 180 "$bin" --gtest_filter="$filter") >"$log" 2>&1 && return 0
  # a case that fails on the clean tree too kills nothing
  grep -qxF "case:$filter" "$W"/baseline-sig/* 2>/dev/null && return 0
  STAGE_CHECK="$test:$filter"
  return 1
}

# Relacy: compiles main.cpp + the named scenarios (all if none named) straight from the patched
# tree, like model/mutants.sh, and runs the quick tier (nightly: also a time-boxed full search).
mut_stage_model() {
  local scen=${1//,/ } log=$2 m="$W/src/model"
  [ -z "$scen" ] && scen=$(cd "$m" && ls sc_*.cpp | sed 's/^sc_//; s/\.cpp$//' | tr '\n' ' ')
  local srcs="main" s o="$W/model-obj"
  for s in $scen; do srcs="$srcs sc_$s"; done
  rm -rf "$o"; mkdir -p "$o"
  # one object per scenario, MUT_JOBS at a time; then link
  printf '%s\n' $srcs | xargs -P "$MUT_JOBS" -I{} g++ -std=c++20 $MUT_MODEL_FLAGS -fno-sized-deallocation -w \
    -I"$W/src/include" -I"$W/src/tests" -I"$m" -c "$m/{}.cpp" -o "$o/{}.o" >"$log.build" 2>&1 || return 2
  g++ "$o"/*.o -o "$W/model_runner" >>"$log.build" 2>&1 || return 2
  local list; list=$(echo $scen | tr ' ' ',')
  local tiers="quick"; [ "$budget" = nightly ] && tiers="quick full"
  local t
  for t in $tiers; do
    (cd "$W" && timeout 900 ./model_runner --tier "$t" --scenario "$list" --quick-iters 20000 \
        --budget "${AMX_MUTANT_MODEL_BUDGET:-120}" --log "$W/logs/model") >>"$log" 2>&1
    local rc=$?
    if [ $rc -ne 0 ] || grep -q " FAIL" "$log"; then
      STAGE_CHECK="model:$(grep -m1 ' FAIL' "$log" | awk '{print $2}')($t)"
      local rp; rp=$(grep -m1 "replay:" "$log" | sed 's/.*replay: *//')
      [ -n "$rp" ] && STAGE_REPLAY="$STAGE_REPLAY  # then: $rp"
      return 1
    fi
  done
  return 0
}

# The clean tree must pass every stage (else a "kill" means nothing). Returns 1 if it does not.
run_baseline() {
  local clean="$W/clean.patch" logs="$W/logs/baseline" t0; t0=$(date +%s); mkdir -p "$logs"
  printf '# mutant: baseline (the clean tree)\n' >"$clean"
  mut_apply "$clean" || return 1
  local st ok=0
  printf 'baseline (clean tree)                      ' >&2
  rm -rf "$W/baseline-sig" "$W/baseline-failures.tsv"; mkdir -p "$W/baseline-sig"
  local stages=$MUT_LADDER; [ "$budget" = quick ] && stages=unit  # the smoke mutants' named tests
  for st in $stages; do
    printf '%s ' "$st" >&2
    mut_stage "$st" "" "$logs/$st.log" baseline; local rc=$?
    [ "$st" = model ] || mut_signature "$logs/$st.log" >"$W/baseline-sig/$st"
    case $rc in
      1) if [ "$st" = model ]; then
           printf '\nbaseline: stage model FAILS on the clean tree (%s); see %s\n' "$STAGE_CHECK" "$logs/$st.log" >&2; ok=1
         else  # known failures of the clean tree: recorded, not counted as kills (reported)
           printf '[clean tree fails: %s] ' "$STAGE_CHECK" >&2
           printf '%s\t%s\n' "$st" "$STAGE_CHECK" >>"$W/baseline-failures.tsv"
         fi ;;
      2) printf '\nbaseline: stage %s does not build; see %s.build\n' "$st" "$logs/$st.log" >&2; ok=1 ;;
    esac
  done
  printf -- '-> %s (%ss)\n' "$([ $ok = 0 ] && echo clean || echo BROKEN)" "$(( $(date +%s) - t0 ))" >&2
  return $ok
}

# One mutant: apply, hinted stage, then the ladder. Appends a row to $results.
run_mutant() {
  local patch=$1 i=$2 total=$3 name; name=$(basename "$patch" .patch)
  local logs="$W/logs/$name" t0; t0=$(date +%s); mkdir -p "$logs"
  local breaks; breaks=$(bash "$root/ci/lib/mutant.sh" field "$patch" breaks)
  local equiv; equiv=$(bash "$root/ci/lib/mutant.sh" field "$patch" equivalent)
  local verdict="" stage="" check="" replay="bash ci/mutants/run --only $name"
  printf '[%d/%d] %-34s ' "$i" "$total" "$name" >&2
  if ! mut_apply "$patch" 2>"$logs/apply.log"; then
    verdict=ERROR stage=apply check="patch does not apply"
  else
    local plan=() hint; hint=$(mut_hint "$patch")
    [ -n "$hint" ] && plan+=("$hint")
    # the ladder; a stage the hint ran in full is not repeated (a hinted model subset is)
    local s; for s in $MUT_LADDER; do [ "$hint" = "$s|" ] || plan+=("$s|"); done
    [ -n "$only_stage" ] && plan=("$only_stage|$( [ "${hint%%|*}" = "$only_stage" ] && echo "${hint#*|}")")
    [ "$budget" = quick ] && [ -z "$only_stage" ] && plan=("${plan[0]}")
    # An argued-equivalent mutant has no killer to find, and its ladder is the longest run of the
    # matrix (every stage survives): the pr budget only proves it still applies and builds (the unit
    # stage's targets); nightly and an explicit --only/--stage run its whole ladder.
    if [ -n "$equiv" ] && [ "$budget" = pr ] && [ -z "$only" ] && [ -z "$only_stage" ]; then
      printf 'build-only ' >&2
      BUILD_LOG=$logs/build.log; mut_build ${MUT_TARGETS[unit]}
      if [ $? -ne 0 ]; then verdict=ERROR stage=build check="build failed: $BUILD_LOG"
      else verdict=equivalent stage=build-only check="$equiv (ladder: nightly)"; fi
      plan=()
    fi
    for s in "${plan[@]}"; do
      local st=${s%%|*} arg=${s#*|}
      printf '%s ' "$st" >&2
      mut_stage "$st" "$arg" "$logs/$st.log" "$name"; local rc=$?
      if [ $rc -eq 1 ]; then verdict=killed stage=$st check=$STAGE_CHECK replay=$STAGE_REPLAY; break; fi
      if [ $rc -eq 2 ]; then verdict=ERROR stage=$st check="build failed: $logs/$st.log.build"; break; fi
    done
    if [ -z "$verdict" ]; then
      if [ -n "$equiv" ]; then verdict=equivalent check="$equiv"; else verdict=SURVIVED check="none of: ${plan[*]//|/}"; fi
    fi
  fi
  local secs=$(( $(date +%s) - t0 ))
  printf -- '-> %s %s (%ss)\n' "$verdict" "$check" "$secs" >&2
  [ "$verdict" = killed ] || [ "$verdict" = equivalent ] || echo "  replay: $replay" >&2
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$verdict" "$stage" "$check" "$secs" "$replay" "$breaks" >>"$results"
  [ "$verdict" = killed ] || [ "$verdict" = equivalent ]
}

mutants_matrix_md() {
  echo "| mutant | breaks | verdict | killing check (stage) | seconds |"
  echo "|---|---|---|---|---|"
  awk -F'\t' 'NR>1 { gsub(/\|/, "/", $7); gsub(/\|/, "/", $4);
    n = split($4, w, " "); c = $4
    if (n > 3) c = w[1] " " w[2] " " w[3] " +" (n - 3) " more"
    printf "| `%s` | %s | %s | %s (%s) | %s |\n", $1, $7, $2, c, $3, $5 }' "$1"
}

# Replaces the text between the kill-matrix markers of VERIFICATION.md.
mutants_write_doc() {
  local md=$1 doc=$2 budget=$3 secs=$4 tmp; tmp=$(mktemp)
  local when; when="Generated by \`bash ci/mutants/run --budget $budget --doc\` on $(date -u +%Y-%m-%d) ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)); ${secs}s in all."
  awk -v md="$md" -v when="$when" '
    /<!-- kill-matrix:begin -->/ { print; print ""; print when; print ""; while ((getline l < md) > 0) print l; print ""; skip=1; next }
    /<!-- kill-matrix:end -->/ { skip=0 }
    !skip { print }' "$doc" >"$tmp" && mv "$tmp" "$doc"
}
