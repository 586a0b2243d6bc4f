#!/usr/bin/env bash
# Model-check the ring protocol (model/ring.pml, model/port.pml) and the
# pulse board's wake-up (model/pulse.pml) with spin.
#
#   bash scripts/model.sh            every run below
#   bash scripts/model.sh NAME...    only those runs (e.g. ring port-busy)
#
# Each run is spin -a with some -D parameters, pan compiled with cc, and an
# exhaustive search: safety (assertions, invalid end states) or, for "ltl",
# acceptance cycles under weak fairness.  "pass" runs must verify with no
# error; "fail" runs must produce a counterexample (the variant without the
# fences, a mutant, or a known bug of the protocol, see model/README.md).
# Exits non-zero when any run does otherwise.  Work files and trails:
# build/model/NAME/.  Installs spin with apt-get when missing (as root).
# Env: MODEL_JOBS (runs side by side, default 2; the largest run needs
# about 650 MB).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out=build/model

# name          model  mode    expect  defines                              what
runs=(
"ring           ring   safety  pass    -                                    ring: no lost wake-up, slots intact (2 slots, 4 messages of 1-2 slots)"
"ring-ltl       ring   ltl     pass    -                                    ring: <> all delivered, weak fairness"
"ring-wide      ring   safety  pass    -DNSLOTS=4,-DNMSG=6,-DMAXLEN=3       ring: 4 slots, 6 messages of 1-3 slots"
"ring-sc        ring   safety  pass    -DSC                                 ring: sequentially consistent memory"
"ring-nofence   ring   safety  fail    -DNOFENCE                            ring without the Dekker fences: lost wake-up"
"ring-badroom   ring   safety  fail    -DBADROOM                            mutant room check: slot overwritten while read"
"ring-phantom   ring   safety  fail    -DPHANTOM                            the old layout (data in word 0): must fail; slot.c now zeroes it"
"port           port   safety  pass    -                                    port: 1 client x 2 messages, 2 receivers"
"port-2cli      port   safety  pass    -DNCLI=2,-DNMSG=2                    port: 2 clients x 2 messages, 2 receivers"
"port-nofence   port   safety  fail    -DNOFENCE                            port without the Dekker fences: lost wake-up"
"port-busy      port   safety  fail    -DBUSY                               without the pass-on: must fail (a message stranded)"
"port-chain     port   safety  pass    -DBUSY,-DCHAIN                       as built: conn/port_rx.c wake_pass_on_locked(), 1 client"
"port-chain-2c  port   safety  pass    -DBUSY,-DCHAIN,-DNCLI=2,-DNMSG=1     as built, 2 clients"
"port-chain-3r  port   safety  pass    -DBUSY,-DCHAIN,-DNRECV=3,-DNMSG=3    as built, 3 receivers"
"pulse          pulse  safety  pass    -                                    pulse board: no lost wake-up (3 pulses, 2 drain rounds)"
"pulse-1round   pulse  safety  pass    -DROUNDS=1,-DNP=4                    pulse board: 4 pulses, the self-wake after 1 round"
"pulse-sc       pulse  safety  pass    -DSC                                 pulse board: sequentially consistent memory"
"pulse-nofence  pulse  safety  fail    -DNOFENCE                            pulse board without the Dekker fences: lost wake-up"
)

# ---------------------------------------------------------------- toolchain
if ! command -v spin >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "model: spin missing; run: sudo apt-get install spin" >&2
		exit 1
	fi
	echo "model: installing spin" >&2
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q spin >/dev/null
fi
cc="${CC:-cc}"
command -v "$cc" >/dev/null 2>&1 || cc=gcc
command -v "$cc" >/dev/null 2>&1 || { echo "model: no C compiler (install gcc)" >&2; exit 1; }
echo "model: $(spin -V 2>&1 | head -1), $cc"

# -------------------------------------------------------------------- runs
want=("$@")
selected() {
	[ "${#want[@]}" -eq 0 ] && return 0
	local w
	for w in "${want[@]}"; do [ "$w" = "$1" ] && return 0; done
	return 1
}

# One run: prints one result line; returns 0 when it went as expected.
run_one() {
	local name="$1" model="$2" mode="$3" expect="$4" defs="$5" what="$6"
	local dir="$out/$name" d=() cflags=(-O2 -w) panargs=(-m200000)
	[ "$defs" != "-" ] && IFS=, read -r -a d <<<"$defs"
	rm -rf "$dir"
	mkdir -p "$dir"
	cp "model/$model.pml" "$dir/"
	if [ "$mode" = ltl ]; then
		cflags+=(-DNFAIR=3)
		panargs+=(-a -f)
	else
		cflags+=(-DSAFETY -DNOCLAIM)
	fi
	local t0=$SECONDS
	if ! (cd "$dir" && spin -a "${d[@]}" "$model.pml" >spin.log 2>&1); then
		echo "ERROR  $name: spin -a failed"; sed 's/^/    /' "$dir/spin.log" | tail -5; return 1
	fi
	if ! (cd "$dir" && "$cc" "${cflags[@]}" -o pan pan.c >cc.log 2>&1); then
		echo "ERROR  $name: pan did not compile"; sed 's/^/    /' "$dir/cc.log" | tail -5; return 1
	fi
	(cd "$dir" && ./pan "${panargs[@]}" >pan.log 2>&1) || true
	local log="$dir/pan.log" errors states secs=$((SECONDS - t0)) why
	errors="$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$log" | tail -1)"
	states="$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$log" | tail -1)"
	why="$(grep -m1 -E 'assertion violated|acceptance cycle|invalid end state' "$log" || true)"
	if [ -z "$errors" ]; then
		echo "ERROR  $name: pan gave no verdict"; tail -5 "$log" | sed 's/^/    /'; return 1
	fi
	if grep -qE 'max search depth too small|out of memory|hash table is full' "$log"; then
		echo "ERROR  $name: search incomplete"; grep -E 'depth too small|memory|full' "$log" | sed 's/^/    /'; return 1
	fi
	if [ "$expect" = pass ] && [ "$errors" = 0 ]; then
		printf 'ok     %-14s verified, %s states, %ss  (%s)\n' "$name" "$states" "$secs" "$what"
		return 0
	fi
	if [ "$expect" = fail ] && [ "$errors" != 0 ] && [ -n "$why" ]; then
		printf 'ok     %-14s counterexample as expected, %ss  (%s)\n         %s\n' \
			"$name" "$secs" "$what" "$(echo "$why" | sed 's/^pan:[0-9]*: *//')"
		return 0
	fi
	if [ "$expect" = pass ]; then
		printf 'FAIL   %-14s %s error(s): %s  (%s)\n' "$name" "$errors" "$why" "$what"
		echo "       trail: (cd $dir && spin -t -p ${d[*]} $model.pml)"
	else
		printf 'FAIL   %-14s expected a counterexample, got none  (%s)\n' "$name" "$what"
	fi
	return 1
}

jobs="${MODEL_JOBS:-2}"
names=()
t_start=$SECONDS
mkdir -p "$out"
for line in "${runs[@]}"; do
	read -r name model mode expect defs what <<<"$line"
	selected "$name" || continue
	names+=("$name")
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
	{
		if run_one "$name" "$model" "$mode" "$expect" "$defs" "$what" >"$out/$name.result" 2>&1; then
			echo ok >"$out/$name.status"
		else
			echo fail >"$out/$name.status"
		fi
	} &
done
wait
if [ "${#names[@]}" -eq 0 ]; then
	echo "model: no run named ${want[*]}" >&2
	exit 2
fi
fail=0
for name in "${names[@]}"; do
	cat "$out/$name.result"
	[ "$(cat "$out/$name.status" 2>/dev/null)" = ok ] || fail=$((fail + 1))
done
echo "model: $((${#names[@]} - fail)) passed, $fail failed ($((SECONDS - t_start))s)"
[ "$fail" -eq 0 ]
