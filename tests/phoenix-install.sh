#!/usr/bin/env bash
# The Phoenix front-end as a user gets it: `make install PREFIX=...` into
# BUILD_DIR/phx-prefix, then
#   - pkg-config msgport-phoenix gives the include directory of the Phoenix
#     headers and -lmsgport-phoenix -lmsgport -pthread;
#   - an ordinary program still gets glibc's <sys/msg.h> (SysV queues),
#     also with pkg-config msgport's flags;
#   - <msgport/phoenix.h> works installed (its relative include);
#   - examples/fs builds from the installed tree with Phoenix's own flags
#     (-Werror) and runs (examples/fs/run.sh), on the shared libraries.
# Usage: tests/phoenix-install.sh BUILD_DIR [EXTRA_CFLAGS (e.g. sanitizers)]
set -euo pipefail
build=$(realpath "$1")
extra=${2-}
prefix=$build/phx-prefix
phx_flags="-Wall -Wstrict-prototypes -Wundef -Werror -fno-common"
fail() {
	echo "phoenix-install: FAIL: $*"
	exit 1
}

rm -rf "$prefix"
make -s --no-print-directory install B="$build" PREFIX="$prefix" >/dev/null
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
for h in sys/msg.h sys/file.h sys/threads.h phoenix/msg.h phoenix/file.h phoenix/types.h \
	phoenix/attribute.h; do
	[ -f "$prefix/include/msgport-phoenix/$h" ] || fail "not installed: msgport-phoenix/$h"
done
cflags=$(pkg-config --cflags msgport-phoenix | xargs)
libs=$(pkg-config --libs msgport-phoenix)
[ "$cflags" = "-I$prefix/include/msgport-phoenix" ] || fail "Cflags: $cflags"
for l in -lmsgport-phoenix -lmsgport -pthread; do
	grep -qw -- "$l" <<<"$libs" || fail "Libs without $l: $libs"
done
rpath="-Wl,-rpath,$prefix/lib"
tmp=$(mktemp -d /tmp/msgport-phx-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# glibc's SysV <sys/msg.h> for everyone else
cat >"$tmp/sysv.c" <<'C'
#include <sys/ipc.h>
#include <sys/msg.h>
#include <msgport.h>
int main(void)
{
	struct msqid_ds ds;
	return (int)sizeof(ds) == 0 || msgget(IPC_PRIVATE, 0600) == -2;
}
C
# shellcheck disable=SC2046
cc $phx_flags $(pkg-config --cflags msgport) "$tmp/sysv.c" -o "$tmp/sysv" \
	$(pkg-config --libs msgport) $extra $rpath || fail "glibc's <sys/msg.h> is hidden"

# the Phoenix headers through pkg-config msgport-phoenix, and the thin one
cat >"$tmp/thin.c" <<'C'
#include <msgport/phoenix.h>
int main(void)
{
	msg_t m;
	msg_rid_t rid = 0;
	u32 port;
	return sizeof(m.o.raw) != 64 || rid != 0 || portCreate(&port) != EOK ||
		(portDestroy(port), 0);
}
C
# shellcheck disable=SC2046
cc $phx_flags $(pkg-config --cflags msgport) "$tmp/thin.c" -o "$tmp/thin" $libs $extra $rpath ||
	fail "<msgport/phoenix.h> installed"
MSGPORT_ROOT=$tmp "$tmp/thin" || fail "<msgport/phoenix.h> program"

# the examples, from the installed tree with Phoenix's flags
out=$build/phx-prefix/build/examples/fs
mkdir -p "$out"
for ex in fs-server fs-client null-driver; do
	# shellcheck disable=SC2086
	cc $phx_flags $cflags "examples/fs/$ex.c" -o "$out/$ex" $libs $extra $rpath ||
		fail "examples/fs/$ex.c with Phoenix's flags"
	# grep reads all (no -q): quitting early could SIGPIPE ldd, failing the pipe
	ldd "$out/$ex" | grep "$prefix/lib/libmsgport-phoenix.so" >/dev/null || fail "$ex: not on the installed .so"
done
examples/fs/run.sh "$build/phx-prefix/build" >"$tmp/run.log" 2>&1 || {
	cat "$tmp/run.log"
	fail "examples/fs/run.sh on the installed build"
}
echo "phoenix-install: ok (installed, pkg-config, glibc <sys/msg.h>, examples/fs built -Werror and run)"
