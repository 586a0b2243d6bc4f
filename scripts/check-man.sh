#!/usr/bin/env bash
# The manual pages (man/README.md): every public function of the headers
# has a page in man/man3, every page there names a public function, every
# .so link points at a page that lists the name in its NAME section, and
# every page renders without a warning (groff -man -ww -z; mandoc -Tlint
# too where installed).
#   scripts/check-man.sh [REPO_DIR]   check REPO_DIR (default: this tree)
#   scripts/check-man.sh --self-test  show that the check fails on a copy
#                                     with a page deleted, a link broken,
#                                     or a warning in a page
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)

# The public functions, from the prototypes themselves: MP_API ones,
# extern ones of the Phoenix headers, static inline wrappers (Moroso's,
# beginthread, mp_msg_pulse).  The name is the identifier before the
# first '(' of a line that starts a declaration.
public_names() {
	local repo=$1
	find "$repo/include" -name '*.h' -print0 | sort -z | xargs -0 sed -nE \
		-e 's/^(__attribute__\(\([a-z_]+\)\) )?(MP_API|extern|static inline) [^(]*[^A-Za-z0-9_(]([A-Za-z_][A-Za-z0-9_]*)\(.*/\3/p' |
		sort -u
}

# The page a name's page leads to: itself, or the target of its .so line.
page_target() {
	local page=$1 so
	so=$(sed -nE '1s/^\.so +//p' "$page")
	if [ -n "$so" ]; then
		echo "$(dirname "$(dirname "$page")")/$so"
	else
		echo "$page"
	fi
}

# Does the NAME section of page list name (as "name," or "name \-")?
names_in() {
	local page=$1 name=$2
	sed -n '/^\.SH NAME/,/^\.SH /p' "$page" | grep -qE "(^|[ ,])${name//\\/\\\\}(,| \\\\-)"
}

# Warnings of every page but the .so links (their targets are rendered),
# in one groff run (a page per file name in each warning; .TH resets the
# man macros' state): mandoc -Tlint over all pages too where installed.
render_warnings() {
	local mandir=$1 page list=()
	for page in "$mandir"/man[0-9]/*.[0-9]; do
		grep -q '^\.so ' "$page" || list+=("${page#"$mandir"/}")
	done
	# .so names paths relative to the manual's top directory.
	(cd "$mandir" && groff -man -ww -z "${list[@]}" 2>&1)
	if command -v mandoc >/dev/null 2>&1; then
		(cd "$mandir" && mandoc -Tlint -W warning "${list[@]}" 2>&1)
	fi
	return 0
}

check() {
	local repo=$1 mandir=$1/man fail=0 n=0 pages=0 name page target w
	local -A known=()

	if ! command -v groff >/dev/null 2>&1; then
		echo "check-man: groff missing (scripts/deps.sh installs groff-base)" >&2
		return 1
	fi
	for name in $(public_names "$repo"); do
		known[$name]=1
		n=$((n + 1))
		page=$mandir/man3/$name.3
		if [ ! -f "$page" ]; then
			echo "check-man: $name has no page ($page; see man/README.md)"
			fail=1
			continue
		fi
		target=$(page_target "$page")
		if [ ! -f "$target" ]; then
			echo "check-man: ${page#"$repo"/} links to missing ${target#"$repo"/}"
			fail=1
		elif ! names_in "$target" "$name"; then
			echo "check-man: NAME section of ${target#"$repo"/} does not list $name"
			fail=1
		fi
	done
	if [ "$n" -lt 10 ]; then
		echo "check-man: found only $n public functions in $repo/include: extraction broken"
		fail=1
	fi
	for page in "$mandir"/man3/*.3; do
		name=$(basename "$page" .3)
		if [ -z "${known[$name]:-}" ]; then
			echo "check-man: ${page#"$repo"/} is for no public function"
			fail=1
		fi
	done
	pages=$(find "$mandir" -path "$mandir/man[0-9]/*.[0-9]" | wc -l)
	w=$(render_warnings "$mandir")
	if [ -n "$w" ]; then
		printf '%s\n' "$w" | sed -e 's/^/check-man: /'
		fail=1
	fi
	for page in man1/msgport.1 man1/msgport-net.1 man7/msgport.7; do
		[ -f "$mandir/$page" ] || { echo "check-man: man/$page missing"; fail=1; }
	done
	if [ "$fail" -eq 0 ]; then
		echo "check-man: ok, $n public functions, $pages pages render without warnings"
	fi
	return "$fail"
}

# Each broken copy must fail the check: the check can fail.
self_test() {
	local tmp bad=0 victim
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	mutate() {	# name, then a command run in a fresh copy
		rm -rf "$tmp/r"
		mkdir -p "$tmp/r"
		cp -r "$here/include" "$here/man" "$tmp/r/"
		(cd "$tmp/r" && eval "$2")
		if check "$tmp/r" >"$tmp/log" 2>&1; then
			echo "check-man self-test: not caught: $1"
			bad=1
		else
			echo "check-man self-test: caught: $1: $(head -n 1 "$tmp/log")"
		fi
	}
	victim=man/man3/mp_send.3
	mutate "a main page deleted" "rm -f $victim"
	mutate "a link page deleted" "rm -f man/man3/mp_send_async.3"
	mutate "a link to a missing page" "echo '.so man3/nosuch.3' > man/man3/mp_send_async.3"
	mutate "a name missing from NAME" "sed -i 's/, mp_send_async / /' $victim"
	mutate "a new function without a page" \
		"echo 'MP_API int mp_brand_new(void);' >> include/msgport.h"
	mutate "a stale page" "cp $victim man/man3/mp_gone.3"
	mutate "a page that warns" "printf '.BOGUS\n' >> $victim"
	mutate "a page with a bad font escape" "printf 'x \\\\f(ZZbad\n' >> man/man7/msgport.7"
	rm -rf "$tmp/r"
	if check "$here" >"$tmp/log" 2>&1; then
		echo "check-man self-test: the tree itself passes"
	else
		cat "$tmp/log"
		bad=1
	fi
	return "$bad"
}

if [ "${1:-}" = "--self-test" ]; then
	self_test
else
	check "${1:-$here}"
fi
