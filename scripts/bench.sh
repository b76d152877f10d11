#!/usr/bin/env bash
# `make bench`: the Go micro-benchmarks (medians over -count 5), then vice side by side with Docker's own
# engine (bench/cmd/vice-bench; needs root). Arguments go to vice-bench, e.g. scripts/bench.sh -runs 5.
# Raw outputs land in bench/results/ (gitignored). See bench/README.md for the method.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
mkdir -p bench/results
TMP=$(mktemp -d /tmp/vice-bench-sh.XXXXXX)
# vice-bench cleans up after itself (also on ^C); this only removes the script's own temporary files.
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

micro=bench/results/micro-$(date +%Y%m%d-%H%M%S).txt
echo "== Go micro-benchmarks: every Benchmark* in ./bench/... ./core/... ./plugins/... ./tether/..., -count 5"
# A short -benchtime keeps the whole sweep to a minute or two; -count 5 gives the medians their spread.
# A package that does not build (work in progress elsewhere) is reported, and the run goes on.
status=0
$GO test -run '^$' -bench . -benchtime 300ms -count 5 ./bench/... ./core/... ./plugins/... ./tether/... \
	>"$micro" 2>&1 || status=$?
scripts/bench-summary.sh "$micro"
if [ "$status" -ne 0 ]; then
	echo "some packages failed (exit $status):"
	grep -E '^(FAIL|--- FAIL|# )' "$micro" | sed 's/^/  /' | head -20
fi
echo "raw: $micro"

echo
echo "== End to end: vice and Docker's engine side by side"
$GO build -o "$TMP/vice-bench" ./bench/cmd/vice-bench
# In the background so a TERM sent to this script reaches vice-bench too (a trap waits for a foreground
# child); vice-bench then stops, tears down what it started, and verifies.
"$TMP/vice-bench" "$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null || true' INT TERM
rc=0
wait "$child" || rc=$?
while kill -0 "$child" 2>/dev/null; do # a trapped signal ends `wait` early: wait out the teardown
	rc=0
	wait "$child" || rc=$?
done
exit "$rc"
