#!/usr/bin/env bash
# The interrupt-forwarding example: irq-server and irq-driver (a 1 kHz
# timerfd handed over with mp_pulse_on_fd) in a private namespace root;
# checks both outputs.
# Usage: examples/irq/run.sh [BUILD_DIR] [INTERRUPTS]
set -uo pipefail
build=${1:-build}
n=${2:-500}
bin=$build/examples/irq
root=$(mktemp -d /tmp/msgport-irq.XXXXXX)
export MSGPORT_ROOT=$root
srv=
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$root"
}
trap cleanup EXIT

slog=$root/server.out
"$bin/irq-server" "$n" >"$slog" 2>&1 &
srv=$!
out=$(timeout 30 "$bin/irq-driver" 2>&1)
rc=$?
wait "$srv"
src=$?
srv=
printf '%s\n' "$out"
cat "$slog"
for want in 'irq-driver: forwarding a 1000 Hz timer' 'irq-driver: the server saw'; do
	if ! grep -qF -- "$want" <<<"$out"; then
		echo "irq example: missing \"$want\" in the driver's output"
		exit 1
	fi
done
if ! grep -qF 'irq-server: all checks passed' "$slog"; then
	echo "irq example: the server's checks did not pass"
	exit 1
fi
[ "$rc" -eq 0 ] && [ "$src" -eq 0 ]
