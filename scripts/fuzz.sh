#!/usr/bin/env bash
# Build the libFuzzer targets of the peer-written-data decoders and run
# each for SECONDS (default 30).  Exits non-zero on any crash, sanitizer
# report or broken invariant; the crashing input is left in fuzz/crashes/.
#
#   bash scripts/fuzz.sh [SECONDS]
#
# Needs clang with libFuzzer (Debian: clang, libclang-rt-NN-dev); installs
# them with apt-get when missing and running as root.  Env: CLANG (compiler),
# FUZZ_JOBS (targets run side by side, default: 2 when there are >= 2 CPUs).
set -euo pipefail

secs="${1:-30}"
case "$secs" in
'' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out=build/fuzz
targets=(frame slot phxrec pulse pulse_fd net stats_ring)
mkdir -p "$out" fuzz/crashes

# ---------------------------------------------------------------- toolchain
pick_clang() {
	local c
	for c in "${CLANG:-}" clang clang-19 clang-18 clang-17 clang-16 clang-15 clang-14; do
		[ -n "$c" ] && command -v "$c" >/dev/null 2>&1 && { echo "$c"; return 0; }
	done
	return 1
}

# Whether $cc links a libFuzzer binary with ASan + UBSan.
fuzzer_links() {
	local t
	t="$(mktemp -d)"
	printf '%s\n' '#include <stdint.h>' '#include <stddef.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
		>"$t/t.c"
	"$cc" -fsanitize=fuzzer,address,undefined "$t/t.c" -o "$t/t" >/dev/null 2>&1
	local rc=$?
	rm -rf "$t"
	return $rc
}

apt_install() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "fuzz: missing $*; run: sudo apt-get install $*" >&2
		exit 1
	fi
	echo "fuzz: installing $*" >&2
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
}

cc="$(pick_clang || true)"
if [ -z "$cc" ]; then
	apt_install clang
	cc="$(pick_clang)"
fi
if ! fuzzer_links; then
	ver="$("$cc" -dumpversion | cut -d. -f1)"
	apt_install "libclang-rt-$ver-dev"
	fuzzer_links || { echo "fuzz: $cc cannot build libFuzzer targets" >&2; exit 1; }
fi

# -------------------------------------------------------------------- build
common=(-std=c11 -D_GNU_SOURCE -Isrc -Iinclude -g -O1 -fno-omit-frame-pointer
	-Wall -Wextra -Wno-missing-field-initializers)
san=(-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)

echo "fuzz: building with $cc ($("$cc" -dumpversion))"
"$cc" "${common[@]}" fuzz/seedgen.c src/proto/slot.c -o "$out/seedgen"
# A target is fuzz/fuzz_T.c plus the parts it is split into, fuzz/fuzz_T_*.c
# (not another target: fuzz_pulse_fd.c is not a part of fuzz_pulse), plus
# the library files it runs beyond the decoders of proto/ and ns/ (their
# other dependencies stubbed in the target).
target_srcs() {
	local t=$1 f u
	echo "fuzz/fuzz_$t.c"
	for f in fuzz/fuzz_"$t"_*.c; do
		[ -e "$f" ] || continue
		for u in "${targets[@]}"; do
			[ "$f" = "fuzz/fuzz_$u.c" ] && continue 2
		done
		echo "$f"
	done
	case "$t" in
	pulse_fd) echo src/api/pulse_fd.c; echo src/conn/pulse_fd.c ;;
	stats_ring) echo src/conn/stats_depth.c ;;
	esac
}
for t in "${targets[@]}"; do
	mapfile -t srcs < <(target_srcs "$t")
	"$cc" "${common[@]}" "${san[@]}" "${srcs[@]}" src/proto/wire.c src/proto/slot.c src/ns/phxrec.c src/proto/pulse.c \
		net/wire.c -o "$out/fuzz_$t"
done

# Seeds: regenerated from the current layouts (deterministic, so the
# committed files change only when a layout does).
mkdir -p fuzz/corpus-frame fuzz/corpus-slot fuzz/corpus-phxrec fuzz/corpus-pulse fuzz/corpus-pulse_fd fuzz/corpus-net fuzz/corpus-stats_ring	# phxrec, pulse, net, stats_ring: committed seeds only
"$out/seedgen" fuzz/corpus-frame fuzz/corpus-slot fuzz/corpus-pulse_fd

# ---------------------------------------------------------------------- run
jobs="${FUZZ_JOBS:-$([ "$(nproc)" -ge 2 ] && echo 2 || echo 1)}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

run_one() {
	local t="$1" work="$out/work-$1"
	rm -rf "$work"
	mkdir -p "$work"
	# Past crashes first: each must pass now (a fixed bug stays fixed).
	local old=()
	mapfile -t old < <(find fuzz/crashes -maxdepth 1 -type f -name "$t-*" | sort)
	if [ "${#old[@]}" -gt 0 ]; then
		"$out/fuzz_$t" "${old[@]}" >"$out/$t.regress.log" 2>&1 || return 1
	fi
	# New inputs go to a scratch corpus; the committed seeds stay as they are.
	# max_len: a whole too-long slot message (68 slots) must fit.
	"$out/fuzz_$t" "$work" "fuzz/corpus-$t" \
		-max_total_time="$secs" -max_len=4400 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="fuzz/crashes/$t-" >"$out/$t.log" 2>&1
}

summary() {
	local t="$1" log="$out/$1.log"
	local last runs speed
	last="$(grep -E '^#[0-9]+' "$log" | tail -1 || true)"
	runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
	speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")"
	echo "fuzz_$t: ${runs:-?} runs, ${speed:-?} exec/s; last: ${last:-none}"
}

echo "fuzz: running ${targets[*]} for ${secs}s each ($jobs at a time)"
declare -A rc
if [ "$jobs" -ge 2 ]; then
	declare -A pid
	for t in "${targets[@]}"; do
		run_one "$t" &
		pid[$t]=$!
	done
	for t in "${targets[@]}"; do
		if wait "${pid[$t]}"; then rc[$t]=0; else rc[$t]=$?; fi
	done
else
	for t in "${targets[@]}"; do
		if run_one "$t"; then rc[$t]=0; else rc[$t]=$?; fi
	done
fi

fail=0
for t in "${targets[@]}"; do
	if [ "${rc[$t]}" -ne 0 ]; then
		fail=1
		echo "fuzz_$t: FAILED (exit ${rc[$t]})"
		for f in "$out/$t.regress.log" "$out/$t.log"; do
			[ -f "$f" ] && grep -qE 'ERROR|invariant failed|runtime error|SUMMARY|deadly' "$f" &&
				{ echo "---- $f (tail)"; tail -40 "$f"; }
		done
		ls -1 fuzz/crashes/"$t"-* 2>/dev/null | sed 's/^/  input: /' || true
	else
		summary "$t"
	fi
done

# Source coverage of the decoders by the corpus the run ended with (when
# llvm-profdata and llvm-cov of the compiler's version are there).
coverage() {
	local ver prof cov t
	ver="$("$cc" -dumpversion | cut -d. -f1)"
	prof="$(command -v "llvm-profdata-$ver" || command -v llvm-profdata || true)"
	cov="$(command -v "llvm-cov-$ver" || command -v llvm-cov || true)"
	[ -n "$prof" ] && [ -n "$cov" ] || { echo "fuzz: no llvm-cov, coverage skipped"; return 0; }
	rm -rf "$out/cov"
	mkdir -p "$out/cov"
	for t in "${targets[@]}"; do
		mapfile -t srcs < <(target_srcs "$t")
		"$cc" "${common[@]}" -O0 -fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping \
			"${srcs[@]}" src/proto/wire.c src/proto/slot.c src/ns/phxrec.c src/proto/pulse.c net/wire.c \
			-o "$out/cov/cov_$t" &&
			LLVM_PROFILE_FILE="$out/cov/$t.profraw" "$out/cov/cov_$t" -runs=0 \
				"$out/work-$t" "fuzz/corpus-$t" >/dev/null 2>&1 || return 0
	done
	"$prof" merge -o "$out/cov/all.profdata" "$out"/cov/*.profraw || return 0
	echo "fuzz: coverage of the decoders by the final corpora (lines, branches):"
	"$cov" report "$out/cov/cov_frame" -object "$out/cov/cov_slot" \
		-object "$out/cov/cov_phxrec" -object "$out/cov/cov_pulse" -object "$out/cov/cov_net" \
		-instr-profile="$out/cov/all.profdata" src/proto/wire.c src/proto/slot.c src/ns/phxrec.c \
		src/proto/pulse.c net/wire.c 2>/dev/null |
		awk '$1 ~ /\.c$/ { printf "  %-8s lines %s (%d/%d)  branches %s (%d/%d)\n", $1, $10, $8-$9, $8, $13, $11-$12, $11 }'
}

if [ "$fail" -eq 0 ]; then
	[ "${FUZZ_COVERAGE:-1}" = 1 ] && coverage
	echo "fuzz: OK, no crash"
fi
exit "$fail"
