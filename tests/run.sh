#!/usr/bin/env bash
# Run the whole feature suite once per transport and sum up.
# Usage: tests/run.sh BUILD_DIR [test-name-filter...]
set -uo pipefail
build=$1
shift
passed=0
failed=0
for t in sock ring hybrid; do
	echo "== transport: $t"
	out=$(MSGPORT_TRANSPORT=$t MSGPORT_TOOL="$(realpath "$build/msgport")" \
		"$build/msgport-test" "$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed -e "s/^/[$t] /"
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
	if [ -z "$line" ]; then
		echo "[$t] the test program ended without a summary (status $rc)"
		failed=$((failed + 1))
		continue
	fi
	passed=$((passed + $(echo "$line" | cut -d' ' -f1)))
	failed=$((failed + $(echo "$line" | cut -d' ' -f3)))
done
# The examples of the compatibility front-ends (docs/compat.md), once per
# transport, each counted as one test; not when a test filter is given.
if [ $# -eq 0 ]; then
	log=$(mktemp)
	for t in sock ring hybrid; do
		for ex in examples/fs/run.sh examples/moroso/run.sh examples/irq/run.sh \
			  examples/eventloop/run.sh; do
			if MSGPORT_TRANSPORT=$t "./$ex" "$build" >"$log" 2>&1; then
				echo "[$t] ok example $ex"
				passed=$((passed + 1))
			else
				sed -e "s/^/[$t]   /" "$log"
				echo "[$t] FAIL example $ex"
				failed=$((failed + 1))
			fi
		done
	done
	rm -f "$log"
	# The Python package's pytest suite (make test sets MSGPORT_PYTEST;
	# not under the sanitizers), its counts added to the total.
	if [ -n "${MSGPORT_PYTEST:-}" ]; then
		out=$(eval "$MSGPORT_PYTEST" 2>&1)
		printf '%s\n' "$out" | tail -n 30
		sum=$(printf '%s\n' "$out" | tail -n 1)
		p=$(grep -oE '[0-9]+ passed' <<<"$sum" | cut -d' ' -f1)
		f=$(grep -oE '[0-9]+ (failed|error)' <<<"$sum" | awk '{s += $1} END {if (NR) print s}')
		passed=$((passed + ${p:-0}))
		failed=$((failed + ${f:-0}))
		[ -z "$p" ] && [ -z "$f" ] && { echo "pytest: no summary"; failed=$((failed + 1)); }
		# The package as `make install` puts it (tests/python-install.sh),
		# counted as one test.
		if out=$(./tests/python-install.sh "$build" 2>&1); then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
		fi
		printf '%s\n' "$out" | tail -n 30
	fi
	# The NATS gateway's tests (tests/net/run.sh), where msgport-net was
	# built (libnats installed), counted the same way.
	if [ -x "$build/net/msgport-net" ]; then
		out=$(./tests/net/run.sh "$build" 2>&1)
		printf '%s\n' "$out" | grep -vE '^(ok|PASS)' | tail -n 40
		line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
		if [ -z "$line" ]; then
			echo "net: the gateway's tests ended without a summary"
			failed=$((failed + 1))
		else
			passed=$((passed + $(echo "$line" | cut -d' ' -f1)))
			failed=$((failed + $(echo "$line" | cut -d' ' -f3)))
		fi
	else
		echo "net: msgport-net not built (libnats not installed): its tests not run"
	fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
