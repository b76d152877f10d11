#!/usr/bin/env bash
# Stops what scripts/run.sh started: the simulator (its emulator stops the endpoint VM and the containerVMs
# with it) and the registry.
set -uo pipefail
cd "$(dirname "$0")/.."
RUN=${VICE_RUN_DIR:-$PWD/.run}
quiet=${1:-}
for name in engine vcsim registry; do  # engine: from older runs that started it directly
	pidfile=$RUN/$name.pid
	[ -f "$pidfile" ] || continue
	pid=$(cat "$pidfile")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
		[ "$quiet" = --quiet ] || echo "stopped vice-$name ($pid)"
	fi
	rm -f "$pidfile"
done
