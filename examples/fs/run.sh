#!/usr/bin/env bash
# The Phoenix-RTOS file server example: start fs-server (mounted at /fs)
# and null-driver in a private namespace root, run fs-client against them,
# check its output, and stop the servers.
# Usage: examples/fs/run.sh [BUILD_DIR]
set -uo pipefail
build=${1:-build}
bin=$build/examples/fs
root=$(mktemp -d /tmp/msgport-fs.XXXXXX)
export MSGPORT_ROOT=$root
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$root"
}
trap cleanup EXIT

"$bin/fs-server" /fs &
pids+=($!)
"$bin/null-driver" /fs &
pids+=($!)
out=$(timeout 20 "$bin/fs-client" /fs)
rc=$?
printf '%s\n' "$out"
for want in 'read back: "Hello from a Phoenix client, through oids and messages."' \
	'/dev/null0: oid' 'read 16 zero bytes' 'resolved by the driver after a hop' \
	'fs-client: all checks passed'; do
	if ! grep -qF -- "$want" <<<"$out"; then
		echo "fs example: missing \"$want\" in the client's output"
		exit 1
	fi
done
exit $rc
