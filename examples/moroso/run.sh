#!/usr/bin/env bash
# The Moroso example: two processes, a ping-pong of short messages, a
# moved long message and deschedule()/make_runnable() wake-ups, in a
# private namespace root; checks the output.
# Usage: examples/moroso/run.sh [BUILD_DIR] [ROUNDS]
set -uo pipefail
build=${1:-build}
rounds=${2:-2000}
root=$(mktemp -d /tmp/msgport-moroso.XXXXXX)
trap 'rm -rf "$root"' EXIT
out=$(MSGPORT_ROOT=$root timeout 60 "$build/examples/moroso/pingpong" "$rounds")
rc=$?
printf '%s\n' "$out"
for want in "$rounds short round trips" 'they are gone from the sender' \
	"from deschedule() $rounds times" \
	'pingpong: all checks passed'; do
	if ! grep -qF -- "$want" <<<"$out"; then
		echo "moroso example: missing \"$want\" in the output"
		exit 1
	fi
done
exit $rc
