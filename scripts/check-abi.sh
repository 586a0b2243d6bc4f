#!/bin/bash
# The ABI check: every symbol a shared library exported when its list in
# abi/ was recorded is still exported, at the same version; a symbol
# exported but not in the list fails too, so the list stays the truth.
# Removing a symbol (or changing its version) breaks programs linked
# against libmsgport.so.$SOVER: do it only with a new SOVER and a new list.
#
#   scripts/check-abi.sh BUILD_DIR            check both libraries
#   scripts/check-abi.sh --update BUILD_DIR   rewrite the lists (new symbols)
#   scripts/check-abi.sh --self-test BUILD_DIR  the check fails when it must
set -u
LIBS="libmsgport libmsgport-phoenix"
here=$(cd "$(dirname "$0")/.." && pwd)

# "VERSION NAME" of each defined, exported symbol (not the version nodes).
exported() {
	objdump -T "$1" | awk '$2 == "g" && $4 != "*UND*" && $4 != "*ABS*" \
		{ print $(NF-1), $NF }' | sort -k2
}

# compare LIST SO: prints each difference, returns 1 if any.
compare() {
	local list=$1 so=$2 bad=0 line
	local now; now=$(exported "$so")
	while read -r line; do
		echo "check-abi: $(basename "$so"): removed or re-versioned: $line"
		bad=1
	done < <(comm -23 <(grep -v '^#' "$list" | sort) <(sort <<<"$now"))
	while read -r line; do
		echo "check-abi: $(basename "$so"): new, not in $(basename "$list"): $line" \
			"(scripts/check-abi.sh --update)"
		bad=1
	done < <(comm -13 <(grep -v '^#' "$list" | sort) <(sort <<<"$now"))
	return $bad
}

check_all() {
	local b=$1 rc=0 n lib
	for lib in $LIBS; do
		[ -e "$b/$lib.so" ] || { echo "check-abi: $b/$lib.so missing"; return 1; }
		compare "$here/abi/$lib.abi" "$b/$lib.so" || rc=1
	done
	n=$(cat "$here"/abi/*.abi | grep -vc '^#')
	[ $rc = 0 ] && echo "check-abi: ok ($n symbols in abi/, none removed, none unlisted)"
	return $rc
}

update() {
	local lib
	for lib in $LIBS; do
		{ echo "# Exported symbols of $lib.so: VERSION NAME, sorted (scripts/check-abi.sh)."
		  exported "$1/$lib.so"; } > "$here/abi/$lib.abi"
	done
}

# The check must fail on a removed symbol and on an unlisted one.
self_test() {
	local b=$1 t; t=$(mktemp -d)
	exported "$b/libmsgport.so" > "$t/all"
	{ cat "$t/all"; echo "MSGPORT_0.1 mp_gone_away"; } > "$t/removed"
	sed 1d "$t/all" > "$t/unlisted"
	sed 's/^MSGPORT_0.1 /MSGPORT_0.2 /' "$t/all" > "$t/reversioned"
	local ok=1 c
	compare "$t/all" "$b/libmsgport.so" >/dev/null || { echo "check-abi self-test: own list refused"; ok=0; }
	for c in removed unlisted reversioned; do
		if compare "$t/$c" "$b/libmsgport.so" >/dev/null; then
			echo "check-abi self-test: a $c symbol was not caught"; ok=0
		fi
	done
	rm -rf "$t"
	[ $ok = 1 ] && echo "check-abi self-test: ok (removed, unlisted and re-versioned symbols caught)"
	[ $ok = 1 ]
}

case "${1:-}" in
--update) update "$2" ;;
--self-test) self_test "$2" ;;
*) check_all "${1:-build}" ;;
esac
