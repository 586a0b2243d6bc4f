# Sourced by tests/net/run.sh (its ok/bad/check/bg/wait_log, $T, $pids):
# two "hosts" as network namespaces, each linked by a veth pair to a bridge
# in the root namespace, where a nats-server listens on the bridge's
# address.  A gateway and its own MSGPORT_ROOT in each; a slow server in B.
# From A: a remote lookup and call; then B's link, and later A's own, cut
# with `ip link set ... down` mid-call: an answer within the 2 s of
# docs/net.md, never a hang; then the link up again and calls go through.
# Needs root and iproute2; without them one "SKIP" line, counted neither
# way.  Every namespace, link and process it makes goes at the end
# (netns_cleanup, from run.sh's trap), also on failure.

ns_a=mpn-$$-a ns_b=mpn-$$-b
br=mpb$$ veth_a=mpv$$a veth_b=mpv$$b	# at most 15 characters each
ns_made=()

netns_cleanup() {
	local n
	ip link del "$veth_a" 2>/dev/null
	ip link del "$veth_b" 2>/dev/null
	ip link del "$br" 2>/dev/null
	for n in "${ns_made[@]}"; do ip netns del "$n" 2>/dev/null; done
	ns_made=()
}

# netns_skip REASON: why these tests cannot run here.
netns_skip() { echo "SKIP net netns ($1)"; }

# net10: a 10.231.N.0/29 that no interface of the root namespace has.
net10() {
	local n
	for n in $((($$ % 250) + 1)) $(seq 1 254); do
		ip -4 -o addr show | grep -q " 10\.231\.$n\." || { echo "10.231.$n"; return 0; }
	done
	return 1
}

# nsat NS ROOT CMD...: CMD inside namespace NS, with $T/ROOT as its root.
nsat() {
	local ns=$1 r=$2; shift 2
	ip netns exec "$ns" env MSGPORT_ROOT="$T/$r" timeout 30 "$@" 2>&1
}

# ns_link NS VETH ADDR: a veth from the bridge into NS, ADDR/29 inside.
ns_link() {
	ip netns add "$1" || return 1
	ns_made+=("$1")
	ip link add "$2" type veth peer name eth0 netns "$1" &&
		ip link set "$2" master "$br" up &&
		ip -n "$1" link set lo up &&
		ip -n "$1" addr add "$3/29" dev eth0 &&
		ip -n "$1" link set eth0 up
}

# ns_host NS NAME ARGS...: root $T/NAME and its gateway inside NS.
ns_host() {
	local ns=$1 name=$2; shift 2
	mkdir -p "$T/$name" && chmod 700 "$T/$name"
	bg "gw_$name" ip netns exec "$ns" env MSGPORT_ROOT="$T/$name" \
		"$GW" --nats "$nsnats_url" --host "$name" --verbose "$@"
	wait_log "gw_$name" '^ready' || exit 1
}

# calls_again NAME: after a cut, calls from A reach B again (30 s at most).
calls_again() {
	local out
	for _ in $(seq 100); do
		out=$(nsat "$ns_a" na "$NT" call /net/nb/dev/echo 1 0 again)
		[[ "$out" =~ ^err=0 ]] && break
		sleep 0.3
	done
	check "$1" "$out" '^err=0 size=5 ok=1 '
}

# link_cut NAME VETH [during]: a slow call from A; 1 s in, VETH goes down.  The
# call must end in -EHOSTDOWN (or -EPIPE) at most 2 s after the cut (2.5 s
# is allowed for a loaded machine), long before the server's 8 s.  With
# "during", a lookup of B while cut must fail too (the cut is real).
link_cut() {
	local name=$1 veth=$2 c t0 t1 during
	(nsat "$ns_a" na "$NT" call /net/nb/dev/slow 3 8000 slow >"$T/$name.out") &
	c=$!
	sleep 1
	t0=${EPOCHREALTIME/./}
	ip link set "$veth" down
	wait "$c"
	t1=${EPOCHREALTIME/./}
	check "${name}_ehostdown" "$(cat "$T/$name.out") after_cut_ms=$(((t1 - t0) / 1000))" \
		'^send=-(112|32) ms=([0-9]{1,3}|[1-7][0-9]{3}) after_cut_ms=([0-9]{1,3}|1[0-9]{3}|2[0-4][0-9]{2})$'
	if [ "${3:-}" = during ]; then
		during=$(nsat "$ns_a" na "$NT" lookup /net/nb/dev/echo)
		check "${name}_lookup_ehostdown" "$during" '^lookup=-112$'
	fi
	ip link set "$veth" up
	calls_again "${name}_link_up_calls_again"
}

netns_tests() {
	local net port
	if [ "$(id -u)" -ne 0 ]; then
		netns_skip "not root"; return 0
	fi
	if ! command -v ip >/dev/null 2>&1; then
		netns_skip "no ip command: iproute2, scripts/deps.sh"; return 0
	fi
	if ! ip netns add "$ns_a" 2>"$T/netns.err"; then
		netns_skip "ip netns add not permitted: $(head -1 "$T/netns.err")"; return 0
	fi
	ns_made+=("$ns_a")
	ip netns del "$ns_a" && ns_made=()
	net=$(net10) || { bad netns_setup "no free 10.231.N.0/29"; return 0; }
	if ! { ip link add "$br" type bridge forward_delay 0 &&
		ip addr add "$net.1/29" dev "$br" && ip link set "$br" up &&
		ns_link "$ns_a" "$veth_a" "$net.2" && ns_link "$ns_b" "$veth_b" "$net.3"; }; then
		bad netns_setup "bridge, veth or namespace not made"; return 0
	fi

	bg nsnats nats-server -a "$net.1" -p -1
	wait_log nsnats 'Listening for client connections' || exit 1
	port=$(grep -oE "client connections on $net\.1:[0-9]+" "$T/nsnats.log" | grep -oE '[0-9]+$')
	nsnats_url=nats://$net.1:$port
	# A namespace has a network of its own: the root's loopback is not it.
	if ip netns exec "$ns_a" timeout 5 bash -c "echo >/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
		bad netns_loopback_own "127.0.0.1:$port reached from $ns_a"
	else
		ok "netns_loopback_own (127.0.0.1:$port unreachable from $ns_a)"
	fi
	ns_host "$ns_a" na
	ns_host "$ns_b" nb --export /dev
	bg srv_nb_echo ip netns exec "$ns_b" env MSGPORT_ROOT="$T/nb" "$NT" serve /dev/echo nb
	wait_log srv_nb_echo '^ready' || exit 1
	bg srv_nb_slow ip netns exec "$ns_b" env MSGPORT_ROOT="$T/nb" "$NT" serve /dev/slow nb 4
	wait_log srv_nb_slow '^ready' || exit 1

	check netns_lookup "$(nsat "$ns_a" na "$NT" lookup /net/nb/dev/echo)" '^lookup=0$'
	check netns_call "$(nsat "$ns_a" na "$NT" call /net/nb/dev/echo 1 0 across-netns)" \
		'^err=0 size=12 ok=1 '
	check netns_identity "$(nsat "$ns_a" na "$NT" call /net/nb/dev/echo 7 0)" \
		"who=nb uid=$(id -u) pid=$gw_nb_pid\$"
	link_cut netns_cut_b "$veth_b" during
	link_cut netns_cut_a "$veth_a"
}

netns_tests
