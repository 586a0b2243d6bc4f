#!/usr/bin/env bash
# msgport demo: an echo server, calls through the tool and a C client,
# fd passing, long data (shared, moved and copied), clean shutdown.  Usage: examples/demo.sh BUILD_DIR
set -euo pipefail

B=${1:-build}
TOOL=$B/msgport
CLIENT=$B/examples/echo-client
SERVER_PID=
for f in "$TOOL" "$CLIENT"; do
	[ -x "$f" ] || { echo "demo: $f not built (run make)" >&2; exit 1; }
done

# A private namespace, so the demo never meets another run's entries.
MSGPORT_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/msgport-demo.XXXXXX")
export MSGPORT_ROOT
LOG=$MSGPORT_ROOT.log

cleanup() {
	local rc=$?
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -KILL "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	rm -rf "$MSGPORT_ROOT" "$LOG"
	[ "$rc" -eq 0 ] || echo "demo: FAILED (exit $rc)" >&2
	exit "$rc"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

# Wait up to 5 s for the server's "ready" line; fail if it dies first.
wait_ready() {
	for _ in $(seq 100); do
		grep -q '^ready ' "$LOG" && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || { cat "$LOG" >&2; return 1; }
		sleep 0.05
	done
	echo "demo: server not ready after 5 s" >&2
	return 1
}

step "start: msgport echo /demo/echo  (MSGPORT_ROOT=$MSGPORT_ROOT)"
"$TOOL" echo /demo/echo >"$LOG" &
SERVER_PID=$!
wait_ready
cat "$LOG"

step "msgport ls"
"$TOOL" ls

step "msgport lookup /demo/echo"
"$TOOL" lookup /demo/echo

step 'msgport call /demo/echo --data "hello, msgport"'
reply=$("$TOOL" call /demo/echo --data "hello, msgport")
echo "$reply"
[ "$reply" = "hello, msgport" ] || { echo "demo: wrong reply" >&2; exit 1; }

step "C client: 64-byte calls"
"$CLIENT" /demo/echo

step "fd passing: a pipe's write end to the server and back"
"$CLIENT" --fd /demo/echo

step "long data: 64 MiB calls, zero-copy and copied"
"$CLIENT" --pages /demo/echo

step "stop: SIGTERM to the server"
kill -TERM "$SERVER_PID"
status=0
wait "$SERVER_PID" || status=$?
SERVER_PID=
grep -v '^ready ' "$LOG" || true
echo "server exit status: $status"
[ "$status" -eq 0 ] || { echo "demo: server exited with $status" >&2; exit 1; }

step "msgport lookup /demo/echo after shutdown (must fail)"
if "$TOOL" lookup /demo/echo; then
	echo "demo: /demo/echo still registered" >&2
	exit 1
fi

echo
echo "demo: ok"
