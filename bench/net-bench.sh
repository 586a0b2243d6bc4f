#!/usr/bin/env bash
# make bench-net: nats-server on loopback, gateways a and b with roots of
# their own, the bench's server (net-bench serve) under b, then
# bench/net_bench.c from a: 64-byte calls, one-way throughput, and calls
# of the largest input and of a 1 MiB answer, each against raw NATS.
# Usage: bench/net-bench.sh BUILD_DIR [N] [M]
#   N round trips and one-way messages each (default 2000); M large calls
#   each (default N/20, at least 10)
set -euo pipefail
B=$(realpath "$1") N=${2:-2000} M=${3:-$(( ${2:-2000} / 20 ))}
T=$(mktemp -d /tmp/msgport-net-bench.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$T"' EXIT
until_log() { for _ in $(seq 100); do grep -qE "$2" "$1" && return 0; sleep 0.1; done; cat "$1"; exit 1; }
nats-server -a 127.0.0.1 -p -1 >"$T/nats.log" 2>&1 & pids+=($!)
until_log "$T/nats.log" 'client connections on'
url=nats://127.0.0.1:$(grep -oE 'client connections on 127.0.0.1:[0-9]+' "$T/nats.log" | grep -oE '[0-9]+$')
mkdir -m 700 "$T/a" "$T/b"
MSGPORT_ROOT=$T/b "$B/net/net-bench" serve /dev/bench >"$T/srv.log" 2>&1 & pids+=($!)
MSGPORT_ROOT=$T/b "$B/net/msgport-net" --nats "$url" --host b --export /dev >"$T/b.log" 2>&1 & pids+=($!)
MSGPORT_ROOT=$T/a "$B/net/msgport-net" --nats "$url" --host a >"$T/a.log" 2>&1 & pids+=($!)
until_log "$T/srv.log" '^ready'; until_log "$T/b.log" '^ready'; until_log "$T/a.log" '^ready'
MSGPORT_ROOT=$T/a "$B/net/net-bench" "$url" /net/b/dev/bench "$N" "$M"
