#!/bin/sh
# The whole suite RUNS times under load, then a tally: how many runs passed, and which
# tests failed how often. Load: WORKERS pytest workers (default 4, twice this machine's
# 2 cores) and, with HOG=N, N busy loops beside them. Exits 1 when any run failed.
#   sh tests/flake_check.sh            (make flake-check RUNS=20)
#   RUNS=3 HOG=2 sh tests/flake_check.sh
RUNS=${RUNS:-20}
WORKERS=${WORKERS:-4}
HOG=${HOG:-0}
PY=${PY:-.venv/bin/python}
LOGS=build/flake-check
rm -rf "$LOGS" && mkdir -p "$LOGS"

hogs=""
stop_hogs() { for pid in $hogs; do kill "$pid" 2>/dev/null; done; }
trap stop_hogs EXIT
trap 'exit 130' INT TERM
i=0
while [ "$i" -lt "$HOG" ]; do
    sh -c 'while :; do :; done' &
    hogs="$hogs $!"
    i=$((i + 1))
done

passed=0
run=1
while [ "$run" -le "$RUNS" ]; do
    log="$LOGS/run-$run.log"
    started=$(date +%s)
    if "$PY" -m pytest -q -n "$WORKERS" --sysprobe-require -p no:cacheprovider >"$log" 2>&1; then
        passed=$((passed + 1))
        verdict=passed
    else
        verdict=FAILED
    fi
    echo "run $run/$RUNS: $verdict in $(($(date +%s) - started)) s: $(tail -n 1 "$log")"
    run=$((run + 1))
done

echo
echo "flake check: $passed of $RUNS runs passed (pytest -n $WORKERS, $HOG busy loops beside)"
failures=$(cat "$LOGS"/run-*.log | grep -E '^(FAILED|ERROR) ' | sed 's/ - .*//' | sort | uniq -c | sort -rn)
if [ -n "$failures" ]; then
    echo "failed tests (times):"
    echo "$failures"
    echo "logs: $LOGS/"
    exit 1
fi
