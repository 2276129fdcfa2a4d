# Functions of ci/gate; sourced. Needs G (report dir). Every check appends one row to $G/rows.tsv:
# check, tool, bound, figures, seconds, verdict, replay commands (" ;; "-separated).

GATE_FAIL=0
GATE_N=0

# Figures a check printed, summed by kind: RapidCheck cases, Relacy executions, fuzz inputs and
# runs, stress operations, messages, crash points, gtest tests. Empty if the log has none.
gate_figures() {
  awk '
    { line = $0 }
    match(line, /OK, passed [0-9]+ tests/) { split(substr(line, RSTART, RLENGTH), a, " "); cases += a[3] }
    match(line, /executions=[0-9]+/) { exec += substr(line, RSTART + 11, RLENGTH - 11) }
    match(line, /replay: [0-9]+ inputs ok/) { split(substr(line, RSTART, RLENGTH), a, " "); inputs += a[2] }
    match(line, /[0-9]+ runs +[0-9]+ exec\/s/) { split(substr(line, RSTART, RLENGTH), a, " "); runs += a[1] }
    match(line, /: [0-9]+ ops/) { split(substr(line, RSTART, RLENGTH), a, " "); ops += a[2] }
    match(line, /[0-9]+ messages/) { split(substr(line, RSTART, RLENGTH), a, " "); msgs += a[1] }
    match(line, /[0-9]+ crash points run/) { split(substr(line, RSTART, RLENGTH), a, " "); points += a[1] }
    match(line, /\[  PASSED  \] [0-9]+ test/) { split(substr(line, RSTART, RLENGTH), a, " "); gtests += a[4] }
    match(line, /mutants: [0-9]+ run, [0-9]+ killed/) { split(substr(line, RSTART, RLENGTH), a, " "); mk = a[4] "/" a[2] " killed" }
    END {
      s = ""
      if (cases) s = s sprintf("%d cases; ", cases)
      if (exec) s = s sprintf("%d exec; ", exec)
      if (runs) s = s sprintf("%d fuzz runs; ", runs)
      if (inputs) s = s sprintf("%d inputs; ", inputs)
      if (ops) s = s sprintf("%d ops; ", ops)
      if (msgs) s = s sprintf("%d msgs; ", msgs)
      if (points) s = s sprintf("%d crash points; ", points)
      if (mk != "") s = s mk "; "
      if (gtests) s = s sprintf("%d gtests; ", gtests)
      sub(/; $/, "", s); print (s == "" ? "-" : s)
    }' "$@" 2>/dev/null
}

gate_progress() { printf '[%2d %5ss] %-16s %s\n' "$GATE_N" "$(( $(date +%s) - gate_start ))" "$1" "$2"; }

gate_only() {  # is check $1 selected by AMX_GATE_ONLY / AMX_GATE_SKIP?
  local base=${1%%:*}
  if [ -n "${AMX_GATE_ONLY:-}" ]; then [[ ",$AMX_GATE_ONLY," == *",$1,"* || ",$AMX_GATE_ONLY," == *",$base,"* ]] || return 1; fi
  if [ -n "${AMX_GATE_SKIP:-}" ]; then [[ ",$AMX_GATE_SKIP," == *",$1,"* || ",$AMX_GATE_SKIP," == *",$base,"* ]] && return 1; fi
  return 0
}

gate_row() {  # name tool bound figures secs verdict replay
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$G/rows.tsv"
  [ "$6" = PASS ] || GATE_FAIL=1
  gate_progress "$1" "$6 in ${5}s ($4)"
  [ "$6" = PASS ] || printf '           replay: %s\n' "${7// ;; /$'\n           replay: '}"
}

# gate_check NAME TOOL BOUND -- CMD...: runs CMD, its output in logs/NAME.log.
gate_check() {
  local name=$1 tool=$2 bound=$3; shift 4
  gate_only "$name" || return 0
  GATE_N=$((GATE_N + 1))
  local log="$G/logs/${name//[:\/]/_}.log" t0; t0=$(date +%s)
  gate_progress "$name" "running: $*"
  "$@" >"$log" 2>&1; local rc=$?
  local secs=$(( $(date +%s) - t0 )) v=PASS; [ $rc -eq 0 ] || v=FAIL
  local replay; printf -v replay '%q ' "$@"
  if [ "$name" = mutants ] && [ $rc -ne 0 ]; then
    replay=$(sed -n 's/^ *replay: //p' "$log" | sed 's/$/ ;; /' | tr -d '\n'); replay=${replay% ;; }
    [ -n "$replay" ] || replay="bash ci/mutants/run --budget $budget   # log: $log"
  fi
  gate_row "$name" "$tool" "$bound" "$(gate_figures "$log")" "$secs" "$v" "$replay"
  gate_junit_case "$name" "$secs" "$v" "$log"
}

# gate_ctest NAME BUILD_DIR BOUND CTEST_ARGS...: one ctest run; figures from every test's output.
gate_ctest() {
  local name=$1 dir=$2 bound=$3; shift 3
  gate_only "$name" || return 0
  GATE_N=$((GATE_N + 1))
  local log="$G/logs/${name//[:\/]/_}.log" t0; t0=$(date +%s) f=${name//[:\/]/_}
  gate_progress "$name" "running: ctest $*"
  local envs=(); [[ "$dir" == */asan ]] && envs=(env ASAN_OPTIONS=detect_leaks=0)
  "${envs[@]}" ctest --test-dir "$dir" --timeout 3600 --output-on-failure --output-junit "$G/junit/$f.xml" "$@" >"$log" 2>&1
  local rc=$?
  cp "$dir/Testing/Temporary/LastTest.log" "$G/logs/$f.tests.log" 2>/dev/null
  local secs=$(( $(date +%s) - t0 )) v=PASS replay=""
  local ntests; ntests=$(sed -n 's/.*tests passed, [0-9]* tests failed out of \([0-9]*\).*/\1/p' "$log")
  if grep -q "No tests were found" "$log"; then v="FAIL"; replay="no tests matched: ctest --test-dir $dir $*"
  elif [ $rc -ne 0 ]; then
    v=FAIL
    local t; for t in $(sed -n 's/^[[:space:]]*[0-9]* - \([^ ]*\) .*/\1/p' "$log"); do
      replay="${replay:+$replay ;; }ctest --test-dir $dir -R '^$t\$' --output-on-failure"
    done
    [ -n "$replay" ] || replay="ctest --test-dir $dir $*"
  fi
  local fig; fig=$(gate_figures "$G/logs/$f.tests.log")
  gate_row "$name" "ctest(${ntests:-0})" "$bound" "$fig" "$secs" "$v" "$replay"
}

gate_has_tests() {  # DIR CTEST_ARGS...: does the selection hold at least one test?
  local dir=$1; shift
  ctest --test-dir "$dir" -N "$@" 2>/dev/null | grep -q 'Total Tests: [1-9]'
}

gate_junit_case() {  # name secs verdict log: a testcase of the "gate" suite
  {
    printf '  <testcase classname="gate" name="%s" time="%s">' "$1" "$2"
    [ "$3" = PASS ] || printf '<failure message="failed; log %s"/>' "$4"
    printf '</testcase>\n'
  } >>"$G/junit/gate.cases"
}

gate_json_str() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

gate_finish() {
  local budget=$1 total=$2
  echo
  printf '%-16s %-16s %-36s %-34s %7s  %s\n' check tool "bound / budget" "executions / cases" seconds verdict | tee "$G/report.txt"
  awk -F'\t' '{ printf "%-16s %-16s %-36s %-34s %7s  %s\n", $1, $2, substr($3,1,36), substr($4,1,34), $5, $6 }' "$G/rows.tsv" | tee -a "$G/report.txt"
  # report.json
  {
    printf '{\n  "budget": "%s", "seconds": %s, "passed": %s, "cores": %s,\n  "checks": [\n' \
      "$budget" "$total" "$([ $GATE_FAIL = 0 ] && echo true || echo false)" "$(nproc)"
    local first=1 name tool bound fig secs v replay
    while IFS=$'\t' read -r name tool bound fig secs v replay; do
      [ $first = 1 ] || printf ',\n'; first=0
      printf '    {"check": %s, "tool": %s, "bound": %s, "figures": %s, "seconds": %s, "verdict": %s, "replay": %s}' \
        "$(gate_json_str "$name")" "$(gate_json_str "$tool")" "$(gate_json_str "$bound")" "$(gate_json_str "$fig")" \
        "$secs" "$(gate_json_str "$v")" "$(gate_json_str "$replay")"
    done <"$G/rows.tsv"
    printf '\n  ]\n}\n'
  } >"$G/report.json"
  # junit.xml: every ctest suite plus the gate's own checks
  {
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    echo '<testsuites name="atomic-matrix gate">'
    local x; for x in "$G"/junit/*.xml; do
      [ -f "$x" ] && grep -v '^<?xml' "$x" | sed "s/<testsuite name=\"(empty)\"/<testsuite name=\"$(basename "$x" .xml)\"/"
    done
    local n; n=$(grep -c '<testcase' "$G/junit/gate.cases" 2>/dev/null || echo 0)
    local f; f=$(grep -c '<failure' "$G/junit/gate.cases" 2>/dev/null || echo 0)
    printf '<testsuite name="gate" tests="%s" failures="%s">\n' "$n" "$f"
    cat "$G/junit/gate.cases" 2>/dev/null
    echo '</testsuite>'
    echo '</testsuites>'
  } >"$G/junit.xml"
  echo
  if [ $GATE_FAIL = 0 ]; then echo "gate ($budget): PASSED in ${total}s; $G/report.json, $G/junit.xml"
  else
    echo "gate ($budget): FAILED in ${total}s; replay:"
    awk -F'\t' '$6 != "PASS" { n = split($7, r, / ;; /); for (i = 1; i <= n; i++) print "  " $1 ": " r[i] }' "$G/rows.tsv"
    echo "report: $G/report.json, $G/junit.xml"
  fi
  return $GATE_FAIL
}
