#!/usr/bin/env bash
# The event-loop examples: epoll-server (and uv-server when it was built,
# i.e. libuv is installed) each serve a port next to a 1 kHz timer in one
# loop; tick-client checks both are served.  Private namespace root.
# Usage: examples/eventloop/run.sh [BUILD_DIR]
set -uo pipefail
build=${1:-build}
bin=$build/examples/eventloop
root=$(mktemp -d /tmp/msgport-evloop.XXXXXX)
export MSGPORT_ROOT=$root
srv=
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$root"
}
trap cleanup EXIT

servers=(epoll-server)
[ -x "$bin/uv-server" ] && servers+=(uv-server)
for s in "${servers[@]}"; do
	"$bin/$s" "/evloop/$s" >"$root/$s.out" 2>&1 &
	srv=$!
	timeout 60 "$bin/tick-client" "/evloop/$s" 200 || { cat "$root/$s.out"; exit 1; }
	wait "$srv" || { echo "$s exited with $?"; cat "$root/$s.out"; exit 1; }
	srv=
	cat "$root/$s.out"
	grep -q "^$s: [0-9]* timer ticks, quit" "$root/$s.out" || exit 1
done
echo "eventloop examples: ${servers[*]} passed"
