#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The test of scripts/check-layers.sh (run by make check).  Offences are
# planted, one at a time, into trees that pass, and the checker must fail
# naming each one:
#   1. a small synthetic tree, one module per layer, with every allowed way
#      to touch a shm_ field (independent of the real tree);
#   2. a copy of the real src/ from which the offences the checker finds
#      today are first removed (lines deleted, long files cut), so that the
#      planting does not depend on the real tree being clean yet.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
checker="$root/scripts/check-layers.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "ok - $1"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $1"; sed 's/^/    | /' "$tmp/out"; }

# A fresh copy of tree $1 at $tmp/t.
fresh() {
	rm -rf "$tmp/t"
	cp -r "$1" "$tmp/t"
}

# The checker passes on $tmp/t.
expect_pass() {
	if "$checker" -q "$tmp/t/src" "$tmp/t/include" >"$tmp/out" 2>&1; then
		ok "$1"
	else
		not_ok "$1 (the checker failed)"
	fi
}

# The checker fails on $tmp/t and prints the fixed string $2.
expect_fail() {
	local rc=0

	"$checker" -q "$tmp/t/src" "$tmp/t/include" >"$tmp/out" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ]; then
		not_ok "$1 (the checker passed)"
	elif ! grep -qF -- "$2" "$tmp/out"; then
		not_ok "$1 (no line with: $2)"
	else
		ok "$1"
	fi
}

# Append line $2 to file $1 of $tmp/t/src.
plant() {
	printf '%s\n' "$2" >>"$tmp/t/src/$1"
}

# ------------------------------------------------------------ synthetic tree

syn="$tmp/syn"
mkdir -p "$syn/include/msgport" "$syn/src"/{os,proto,mem,ns,transport,conn,api/compat}
echo '/* public */' >"$syn/include/msgport.h"
echo '#include "msgport.h"' >"$syn/include/msgport/x.h"
cat >"$syn/src/os/shm.h" <<'EOF'
#include <stdatomic.h>
#define load_acquire(p) atomic_load_explicit((p), memory_order_acquire)
#define store_release(p, v) atomic_store_explicit((p), (v), memory_order_release)
#define load_relaxed(p) atomic_load_explicit((p), memory_order_relaxed)
#define store_relaxed(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define fetch_add_relaxed(p, v) atomic_fetch_add_explicit((p), (v), memory_order_relaxed)
#define fetch_add_fence(p, v) atomic_fetch_add_explicit((p), (v), memory_order_seq_cst)
EOF
echo '#include "os/shm.h"' >"$syn/src/os/base.h"
printf '#include "os/base.h"\n#include "msgport.h"\n' >"$syn/src/os/base.c"
# Every allowed way to touch a shm_ field, and look-alikes in comments and strings.
cat >"$syn/src/proto/ring.h" <<'EOF'
#include <stddef.h>
#include "os/shm.h"
#define RING_POS(r) load_acquire(&(r)->shm_pos)
struct waiter { _Atomic unsigned shm_flag; };
struct ring {
	_Atomic unsigned long shm_pos;
	struct waiter shm_w[2];
};
struct view { _Atomic unsigned long *head; };
_Static_assert(offsetof(struct ring, shm_w) == 8, "x->shm_pos++");
/* r->shm_pos = 1; in a comment */
static inline void flag_publish(_Atomic unsigned *shm_flag)
{
	if (load_relaxed(shm_flag) != 1)
		store_relaxed(shm_flag, 1);
}
static inline unsigned long ring_ok(struct ring *r, struct view *v, int i)
{
	store_release(&r->shm_w[i].shm_flag,
		      load_relaxed(&r->shm_pos) + sizeof(r->shm_pos));
	fetch_add_fence(&r->shm_w[0].shm_flag, 1);
	flag_publish(&r->shm_w[1].shm_flag);
	*v = (struct view){ .head = &r->shm_pos };
	v->head = &r->shm_pos;
	return sizeof r->shm_w + RING_POS(r); // r->shm_pos--
}
EOF
echo '#include "proto/ring.h"' >"$syn/src/proto/ring.c"
printf '#include "proto/ring.h"\n#include "os/base.h"\n' >"$syn/src/mem/pages.h"
printf '#include "pages.h"\n' >"$syn/src/mem/pages.c"	# found next to the file
printf '#include "mem/pages.h"\n' >"$syn/src/ns/ns.h"
printf '#include "ns/ns.h"\n' >"$syn/src/transport/transport.h"
printf '#include "transport/transport.h"\n' >"$syn/src/conn/port.h"
printf '#include "conn/port.h"\n#include "conn/tls.h"\n' >"$syn/src/conn/port.c"
printf '#include "transport/transport.h"\n' >"$syn/src/conn/tls.h"
printf '#include "conn/port.h"\n#include "msgport/x.h"\n' >"$syn/src/api/send.c"
printf '#include "msgport/x.h"\n#include "mem/pages.h"\n' >"$syn/src/api/compat/moroso.c"
for k in $(seq 600); do echo "/* $k */"; done >"$syn/src/api/long.c"

fresh "$syn"
expect_pass "synthetic: clean tree passes (600 lines is not too long)"
graph=$("$checker" "$tmp/t/src" "$tmp/t/include" || true)	# whole, then grep: no SIGPIPE under pipefail
if grep -qF '  conn/port -> conn/tls transport/transport' <<<"$graph"; then
	ok "synthetic: the graph lists a module's includes"
else
	not_ok "synthetic: the graph lists a module's includes"
fi

fresh "$syn"
plant os/base.c '#include "conn/port.h"'
expect_fail "synthetic: upward include" 'src/os/base.c:3: upward include "conn/port.h" (os is below conn)'

fresh "$syn"
plant ns/ns.h '#include "api/x.h"'
echo '' >"$tmp/t/src/api/x.h"
expect_fail "synthetic: upward include into api" 'src/ns/ns.h:2: upward include "api/x.h" (ns is below api)'

fresh "$syn"
plant conn/tls.h '#include "conn/port.h"'
expect_fail "synthetic: cycle within a layer" 'include cycle: conn/port -> conn/tls -> conn/port'

fresh "$syn"
echo '#include "mem/bulk.h"' >"$tmp/t/src/mem/kept.h"
echo '#include "mem/pages.h"' >"$tmp/t/src/mem/bulk.h"
plant mem/pages.c '#include "mem/kept.h"'
expect_fail "synthetic: cycle of three modules" 'include cycle: mem/bulk -> mem/pages -> mem/kept -> mem/bulk'

fresh "$syn"
plant mem/pages.c '#include "mem/nope.h"'
expect_fail "synthetic: missing header" 'src/mem/pages.c:2: missing header "mem/nope.h"'

fresh "$syn"
echo '/* 601 */' >>"$tmp/t/src/api/long.c"
expect_fail "synthetic: file over 600 lines" 'src/api/long.c: 601 lines, over 600'

fresh "$syn"
mkdir "$tmp/t/src/sys"
echo '' >"$tmp/t/src/sys/x.h"
expect_fail "synthetic: unknown folder" 'src/sys: not a layer folder'

fresh "$syn"
echo '' >"$tmp/t/src/stray.c"
expect_fail "synthetic: file outside the layers" 'src/stray: a source file outside the layer folders'

n=0
while IFS= read -r bad; do
	n=$((n + 1))
	fresh "$syn"
	line=$(($(wc -l <"$tmp/t/src/proto/ring.h") + 3))
	printf 'static inline void bad%d(struct ring *r, unsigned long *a)\n{\n\t%s\n}\n' "$n" "$bad" \
		>>"$tmp/t/src/proto/ring.h"
	expect_fail "synthetic: bad shm_ access: $bad" \
		"src/proto/ring.h:$line: shm_"
done <<'EOF'
r->shm_pos = 1;
r->shm_pos++;
if (r->shm_w[0].shm_flag) a[0] = 0;
a[0] = r->shm_pos;
atomic_load(&r->shm_pos);
__atomic_store_n(&r->shm_pos, 1, __ATOMIC_RELEASE);
atomic_fetch_add_explicit(&r->shm_w[1].shm_flag, 1, memory_order_relaxed);
flag_publish(&r->shm_w[r->shm_pos].shm_flag);
load_acquire(&a[r->shm_pos]);
store_relaxed(&a[0], r->shm_pos);
struct ring x = { .shm_pos = 1 };
EOF

fresh "$syn"
plant os/shm.h 'static inline void raw(struct r *r) { r->shm_pos = 0; }'
expect_pass "synthetic: os/shm.h itself may touch shm_ fields"

# ------------------------------------------------------------ a copy of src/

real="$tmp/real"
mkdir -p "$real"
cp -r "$root/src" "$root/include" "$real/"
removed=0
for round in 1 2 3 4 5; do
	if "$checker" -q "$real/src" "$real/include" >"$tmp/out" 2>&1; then
		break
	fi
	# file:line of each include or access named: delete those lines
	sed -n 's|^ *src/\([^:]*\):\([0-9][0-9]*\):.*|\1 \2|p' "$tmp/out" | sort -u >"$tmp/sites"
	for f in $(cut -d' ' -f1 "$tmp/sites" | sort -u); do
		sed -i "$(awk -v f="$f" '$1 == f { printf "%sd;", $2 }' "$tmp/sites")" "$real/src/$f"
		removed=$((removed + $(grep -c "^$f " "$tmp/sites")))
	done
	# too long: cut
	for f in $(sed -n 's|^src/\([^:]*\): [0-9]* lines, over .*|\1|p' "$tmp/out"); do
		head -n 600 "$real/src/$f" >"$tmp/cut" && mv "$tmp/cut" "$real/src/$f"
		removed=$((removed + 1))
	done
done
echo "# copy of src/: $removed offences of the real tree removed first"

fresh "$real"
expect_pass "copy of src/: passes once its offences are removed"

fresh "$real"
plant os/wait.h '#include "conn/port.h"'
line=$(wc -l <"$tmp/t/src/os/wait.h")
expect_fail "copy of src/: upward include os -> conn" "src/os/wait.h:$line: upward include \"conn/port.h\" (os is below conn)"

fresh "$real"
plant mem/data.h '#include "mem/bulk.h"'
plant mem/bulk.h '#include "mem/data.h"'
expect_fail "copy of src/: cycle mem/bulk <-> mem/data" 'include cycle: mem/bulk -> mem/data -> mem/bulk'

fresh "$real"
for k in $(seq 601); do echo "/* $k */"; done >"$tmp/t/src/os/big.c"
expect_fail "copy of src/: file over 600 lines" 'src/os/big.c: 601 lines, over 600'

fresh "$real"
printf '#include "proto/ring.h"\nstatic inline void bad(struct mp_ring_region *r) { r->shm_c2s = 0; }\n' \
	>"$tmp/t/src/proto/planted.h"
expect_fail "copy of src/: bad shm_ access" 'shm_c2s touched outside an os/shm.h accessor'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
