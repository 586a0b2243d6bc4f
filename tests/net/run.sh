#!/usr/bin/env bash
# Tests of msgport-net (docs/net.md): nats-server on loopback at free
# ports, "hosts" as gateways with MSGPORT_ROOT directories of their own,
# test servers and clients from tests/net/nettool.c; then (tests/net/netns.sh,
# as root) hosts in network namespaces of their own, links cut with `ip link`.
# Every process it starts is stopped and every directory, namespace and
# link removed, also on failure.
# Usage: tests/net/run.sh BUILD_DIR   (ends with "N passed, N failed")
set -uo pipefail
B=$(realpath "$1")
GW=$B/net/msgport-net NT=$B/net/nettool MP=$B/msgport
T=$(mktemp -d /tmp/msgport-net-test.XXXXXX)
pids=()
passed=0 failed=0

cleanup() {
	local p
	for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	declare -F netns_cleanup >/dev/null && netns_cleanup
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { echo "ok   net $1"; passed=$((passed + 1)); }
bad() { echo "FAIL net $1: $2"; failed=$((failed + 1)); }
# check NAME OUTPUT PATTERN: OUTPUT must match the extended regex PATTERN.
check() { if [[ "$2" =~ $3 ]]; then ok "$1 ($2)"; else bad "$1" "got '$2', want /$3/"; fi; }

# bg NAME CMD...: run in the background, log in $T/NAME.log, pid in $NAME_pid.
bg() {
	local name=$1; shift
	"$@" >"$T/$name.log" 2>&1 &
	pids+=($!)
	printf -v "${name}_pid" %s $!
}

# wait_log NAME REGEX: until the log shows it (20 s at most).
wait_log() {
	for _ in $(seq 200); do
		grep -qE "$2" "$T/$1.log" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "  (no /$2/ in $1.log:)"; sed 's/^/  | /' "$T/$1.log"
	return 1
}

# nats NAME [ARGS...]: a nats-server on 127.0.0.1, a free port; URL in $NAME_url.
nats() {
	local name=$1; shift
	bg "$name" nats-server -a 127.0.0.1 -p -1 "$@"
	wait_log "$name" 'Listening for client connections' || exit 1
	local port
	port=$(grep -oE 'client connections on 127.0.0.1:[0-9]+' "$T/$name.log" | grep -oE '[0-9]+$')
	printf -v "${name}_url" %s "nats://127.0.0.1:$port"
}

# host NAME URL ARGS...: a root $T/NAME and its gateway, as host NAME.
host() {
	local name=$1 url=$2; shift 2
	mkdir -p "$T/$name" && chmod 700 "$T/$name"
	bg "gw_$name" env MSGPORT_ROOT="$T/$name" "$GW" --nats "$url" --host "$name" --verbose "$@"
	wait_log "gw_$name" '^ready' || exit 1
}

# serve ROOT PATH NAME: a test server in that root.
serve() {
	bg "srv_$1_$3" env MSGPORT_ROOT="$T/$1" "$NT" serve "$2" "$3"
	wait_log "srv_$1_$3" '^ready' || exit 1
}

at() { local r=$1; shift; MSGPORT_ROOT="$T/$r" timeout 30 "$@" 2>&1; }

# ---------------------------------------------------------------- frames
# The batch decoder (net/wire.c) alone, under ASan and UBSan.
S=$(cd "$(dirname "$0")/../.." && pwd)
if "${CC:-cc}" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g -fsanitize=address,undefined \
	-fno-sanitize-recover=all -I"$S/include" "$S/tests/net/wire_test.c" "$S/net/wire.c" \
	-o "$T/wire_test" 2>"$T/wire_test.log"; then
	check wire_batch_decoder "$("$T/wire_test" 2>&1)" '^wire ok [0-9]+$'
else
	bad wire_batch_decoder "build: $(cat "$T/wire_test.log")"
fi

# ---------------------------------------------------------------- set-up
# 64 KiB payloads: a 300,000-byte answer travels in five chunks.
printf 'max_payload: 65536\n' >"$T/n1.conf"
nats n1 -c "$T/n1.conf" --cluster nats://127.0.0.1:-1 --cluster_name mpnet
n1_route=$(grep -oE 'route connections on 127.0.0.1:[0-9]+' "$T/n1.log" | grep -oE '[0-9]+$')
host a "$n1_url"
host b "$n1_url" --export /dev
serve b /dev/echo b
serve b /dev/die b
bg srv_b_slow env MSGPORT_ROOT="$T/b" "$NT" serve /dev/slow b 12
wait_log srv_b_slow '^ready' || exit 1

# ---------------------------------------------------------------- tests
check call "$(at a "$NT" call /net/b/dev/echo 1 0 hello-over-nats)" '^err=0 size=15 ok=1 '
check reply_chunked "$(at a "$NT" call /net/b/dev/echo 2 300000)" '^err=0 size=300000 ok=1 '
big=$(head -c 100000 /dev/zero | tr '\0' x)
check input_over_payload_emsgsize "$(at a "$NT" call /net/b/dev/echo 1 0 "$big")" '^send=-90 '
check identity_is_gateway "$(at a "$NT" call /net/b/dev/echo 7 0)" "who=b uid=$(id -u) pid=$gw_b_pid\$"
check tool_call "$(at a "$MP" call /net/b/dev/echo --type 1 --data via-tool)" '^via-tool$'
check no_host_enoent "$(at a "$NT" lookup /net/nosuch/dev/echo)" '^lookup=-2$'
check no_export_enoent "$(at b "$MP" echo /srv/x >/dev/null & sleep 0.3; at a "$NT" lookup /net/b/srv/x)" '^lookup=-2$'
check no_object_enoent "$(at a "$NT" lookup /net/b/dev/none)" '^lookup=-2$'
check host_alone_enoent "$(at a "$NT" lookup /net/b)" '^lookup=-2$'
check fds_eopnotsupp "$(at a "$NT" fds /net/b/dev/echo)" '^send=-95 err=-95$'
check oneway_order "$(at a "$NT" oneway /net/b/dev/echo 300)" '^send=0 count=300$'
# A server that takes 10 ms per one-way: 400 one-ways (4 s of backlog at
# host b), then a call.  The call comes after all 400, and is not taken
# for a silent host while it waits behind them.
bg srv_b_ow env MSGPORT_ROOT="$T/b" "$NT" serve /dev/ow b 1 10000
wait_log srv_b_ow '^ready' || exit 1
check oneway_backlog_then_call "$(at a "$NT" oneway /net/b/dev/ow 400 once)" '^send=0 count=400$'
# One-ways that pile up at host a's gateway (stopped meanwhile) go out
# batched, several in one NATS message (forward.c's "batch of N"), and
# still reach the server in order, all before the call after them.
serve b /dev/batch b
bg ow_batch env MSGPORT_ROOT="$T/a" "$NT" oneway /net/b/dev/batch 500 pause
wait_log ow_batch '^looked-up' || exit 1
kill -STOP "$gw_a_pid"; sleep 3; kill -CONT "$gw_a_pid"
wait_log ow_batch '^(send|oneway|count)=' || exit 1
check oneway_batched_order "$(grep -vE '^looked-up' "$T/ow_batch.log")" '^send=0 count=500$'
check oneway_batched "$(grep -oE 'batch of [0-9]+' "$T/gw_a.log" | sort -k3 -n | tail -1)" \
	'^batch of ([2-9]|[1-9][0-9]+)$'
check pulse "$(at a "$NT" pulse /net/b/dev/echo 4242)" '^pulse=ok$'
check server_dies_epipe "$(at a "$NT" call /net/b/dev/die 4 0)" '^send=-32 '
# Many calls at once, and lookups and calls meanwhile are not held up.
many=()
for k in $(seq 8); do (at a "$NT" call /net/b/dev/slow 3 3000 slow-$k >"$T/many.$k") & many+=($!); done
sleep 0.5
check lookup_during_calls "$(at a "$NT" call /net/b/dev/echo 1 0 quick)" '^err=0 size=5 ok=1 ms=([0-9]{1,3}|1[0-9]{3})$'
wait "${many[@]}"
many=$(cat "$T"/many.* | grep -c '^err=0 size=6 ok=1 ms=[3-9][0-9]\{3\}$')
check calls_at_once "$many of 8" '^8 of 8$'
# A pool of 2 workers (--workers 2) serving 6 calls of 1 s at once: all
# complete, 2 at a time, so the last takes 3 s or more.
host bw "$n1_url" --export /dev --workers 2
bg srv_bw_slow env MSGPORT_ROOT="$T/bw" "$NT" serve /dev/slow bw 8
wait_log srv_bw_slow '^ready' || exit 1
many=()
for k in $(seq 6); do (at a "$NT" call /net/bw/dev/slow 3 1000 pool-$k >"$T/pool.$k") & many+=($!); done
wait "${many[@]}"
check pool_exhausted_all_complete "$(cat "$T"/pool.* | grep -c '^err=0 size=6 ok=1 ') of 6" '^6 of 6$'
slowest=$(cat "$T"/pool.* | grep -oE 'ms=[0-9]+' | cut -d= -f2 | sort -n | tail -n 1)
(( ${slowest:-0} >= 2900 )) && ok "pool_two_at_a_time (slowest ${slowest} ms)" ||
	bad pool_two_at_a_time "the slowest of 6 took ${slowest} ms: more than 2 ran at once"
# A call that waits for a busy pool longer than its caller's 500 ms fails
# -ETIMEDOUT and never reaches the server (its time in the queue counted).
calls_before=$(grep -c '^deadline=' "$T/srv_bw_slow.log")
many=()
for k in 1 2; do (at a "$NT" call /net/bw/dev/slow 3 3000 busy-$k >"$T/busy.$k") & many+=($!); done
sleep 1.5
check pool_queued_deadline_etimedout "$(at a env NETTOOL_TIMEOUT_MS=500 "$NT" call /net/bw/dev/slow 1 0 late)" \
	'^send=-110 '
wait "${many[@]}"
sleep 0.5
check pool_busy_calls_complete "$(cat "$T"/busy.* | grep -c '^err=0 size=6 ok=1 ') of 2" '^2 of 2$'
check pool_queued_never_served "$(( $(grep -c '^deadline=' "$T/srv_bw_slow.log") - calls_before )) served" '^2 served$'
# --call-timeout: the remote call is given that deadline.
host a2 "$n1_url" --call-timeout 500
check call_timeout_etimedout "$(at a2 "$NT" call /net/b/dev/echo 3 4000 slow)" '^send=-110 '
# The caller's own deadline travels: a 200 ms call on a server that sleeps
# 2 s fails -ETIMEDOUT, and the remote server saw at most 200 ms left.
check caller_deadline_etimedout "$(at a env NETTOOL_TIMEOUT_MS=200 "$NT" call /net/b/dev/slow 3 2000 slow)" \
	'^send=-110 ms=([0-9]{1,3}|1[0-9]{3})$'
left=$(grep -oE '^deadline=-?[0-9]+' "$T/srv_b_slow.log" | tail -n 1 | cut -d= -f2)
check caller_deadline_seen_remotely "$left" '^[0-9]+$'
(( ${left:-0} > 0 && ${left:-0} <= 200000000 )) && ok "caller_deadline_at_most_200ms ($left ns)" ||
	bad caller_deadline_at_most_200ms "the remote server saw $left ns" 
ls_out=$(at a "$MP" ls /net | tr '\n' ';')
check ls_net "$ls_out" '(^|;)b /dev;'

# A cut network: the NATS server stops moving bytes mid-call.
(at a "$NT" call /net/b/dev/echo 3 8000 slow >"$T/cut.out") &
cut=$!
sleep 1
kill -STOP "$n1_pid"
wait "$cut"
kill -CONT "$n1_pid"
check network_cut_ehostdown "$(cat "$T/cut.out")" '^send=-112 ms=([0-9]{1,3}|[1-4][0-9]{3})$'
# NATS reconnects: calls go through again.
for _ in $(seq 50); do
	out=$(at a "$NT" call /net/b/dev/echo 1 0 again)
	[[ "$out" =~ ^err=0 ]] && break
	sleep 0.2
done
check after_cut_calls_again "$out" '^err=0 size=5 ok=1 '

# The remote gateway killed mid-call: an answer within 2 s, never a hang.
(at a "$NT" call /net/b/dev/echo 3 8000 slow >"$T/kill.out") &
call=$!
sleep 1
kill -9 "$gw_b_pid"
wait "$call"
check gateway_killed_ehostdown "$(cat "$T/kill.out")" '^send=-112 ms=([0-9]{1,3}|[1-4][0-9]{3})$'
check dead_host_lookup_enoent "$(at a "$NT" lookup /net/b/dev/echo)" '^lookup=-2$'
# The remote gateway gone between lookup and call: a one-way, then a call
# (which follows the one-way on the one-way connection): -EHOSTDOWN at
# once, from NATS's "no responders", not after 1.5 s of silence.
host bl "$n1_url" --export /dev
serve bl /dev/echo bl
bg late env MSGPORT_ROOT="$T/a" "$NT" late /net/bl/dev/echo
wait_log late '^looked-up' || exit 1
kill -9 "$gw_bl_pid"
sleep 0.5
kill -USR1 "$late_pid"
wait "$late_pid"
check gone_gateway_ehostdown_at_once "$(tail -n 1 "$T/late.log")" '^send=-112 ms=[0-9]{1,3}$'

# A queue group: two hosts serve /dev/g; one dies, the other takes over.
for h in g1 g2; do
	host "$h" "$n1_url" --export /dev --group /dev/g
	serve "$h" /dev/g/who "$h"
done
who=""
for _ in $(seq 30); do who+=$(at a "$NT" call '/net/*/dev/g/who' 7 0 | grep -oE 'who=g[12]')" "; done
n1c=$(grep -o 'who=g1' <<<"$who" | wc -l) n2c=$(grep -o 'who=g2' <<<"$who" | wc -l)
check group_shares "g1=$n1c g2=$n2c" '^g1=([1-9]|[12][0-9]) g2=([1-9]|[12][0-9])$'
kill -9 "$gw_g1_pid"
sleep 0.5
who=""
for _ in $(seq 10); do who+=$(at a "$NT" call '/net/*/dev/g/who' 7 0 | grep -oE 'who=g[12]|err=-?[0-9]+ ')" "; done
check group_failover "$(grep -o 'who=g2' <<<"$who" | wc -l)" '^10$'

# Two NATS servers in a cluster: a host on each reaches the other.
nats n2 --cluster nats://127.0.0.1:-1 --cluster_name mpnet --routes "nats://127.0.0.1:$n1_route"
host c "$n2_url" --export /dev
serve c /dev/echo c
for _ in $(seq 50); do
	out=$(at a "$NT" call /net/c/dev/echo 1 0 across-routes)
	[[ "$out" =~ ^err=0 ]] && break
	sleep 0.2
done
check cluster_routes "$out" '^err=0 size=13 ok=1 '

# Authentication: a wrong password is refused, the right one accepted.
nats n3 --user mp --pass right-pass
mkdir -p "$T/w" && chmod 700 "$T/w"
out=$(MSGPORT_ROOT="$T/w" timeout 20 "$GW" --nats "$n3_url" --host w --user mp --password wrong 2>&1; echo "rc=$?")
check auth_wrong_refused "$(tr '\n' ' ' <<<"$out")" '[Aa]uthoriz.*rc=1 $'
host w2 "$n3_url" --user mp --password right-pass
ok auth_right_accepted

# Per-host subject permissions (docs/net.md, Security): each host's user
# may answer only msgport.HOST.>; a gateway that claims another host's
# name is never reached.
perm() {
	printf '{ user: %s, password: "pw-%s", permissions: {
	  publish: { allow: ["msgport.*.lookup", "msgport.*.call", "msgport.*.send", "msgport.group.>",
	                     "msgport.list", "_INBOX.mpnet.>"] }
	  subscribe: { allow: ["msgport.%s.>", "msgport.list", "_INBOX.mpnet.%s.>"] } } }\n' "$1" "$1" "$1" "$1"
}
{ echo 'authorization { users = ['; perm pa; perm pb; echo '] }'; } >"$T/n4.conf"
nats n4 -c "$T/n4.conf"
host pa "$n4_url" --user pa --password pw-pa
host pb "$n4_url" --user pb --password pw-pb --export /dev
serve pb /dev/echo pb
check permitted_call "$(at pa "$NT" call /net/pb/dev/echo 1 0 allowed)" '^err=0 size=7 ok=1 '
host pc "$n4_url" --user pa --password pw-pa --export /dev
serve pc /dev/echo pc
check other_hosts_name_unreachable "$(at pa "$NT" lookup /net/pc/dev/echo)" '^lookup=-2$'
grep -qiE 'subscription violation|permissions violation' "$T/n4.log" && ok permissions_violation_logged ||
	bad permissions_violation_logged "no violation in the server's log"

# --creds: NATS operator-mode credentials, right and wrong.
. "$(dirname "${BASH_SOURCE[0]}")/creds.sh"

# TLS to NATS: the right CA connects, a wrong one or none does not.
. "$(dirname "${BASH_SOURCE[0]}")/tls.sh"

# Hosts as network namespaces, links cut with `ip link set down` (root).
. "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
