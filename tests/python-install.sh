#!/usr/bin/env bash
# The Python package as a user gets it: `make install DESTDIR=tmp
# PREFIX=/usr/local`, then
#   - msgport/*.py and the extension _msgport_cffi are in
#     PREFIX/lib/python3.N/dist-packages, a directory Debian's python3 has
#     on its sys.path without DESTDIR (as PREFIX=/usr's would be);
#   - the installed extension's rpath is LIBDIR, not the build directory;
#   - python3 with PYTHONPATH at that directory (and LD_LIBRARY_PATH at
#     the staged LIBDIR, as DESTDIR is not where the rpath points) imports
#     msgport from there, on the installed libmsgport.so, and a call and
#     an asyncio recv go through.
# Usage: tests/python-install.sh BUILD_DIR [PYTHON]
set -euo pipefail
build=$(realpath "$1")
python=${2:-/usr/bin/python3}
fail() {
	echo "python-install: FAIL: $*"
	exit 1
}

tmp=$(mktemp -d /tmp/msgport-py-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest
make -s --no-print-directory install B="$build" PYTHON="$python" DESTDIR="$dest" \
	PREFIX=/usr/local >"$tmp/install.log" 2>&1 || {
	cat "$tmp/install.log"
	fail "make install"
}
ver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
pydir=/usr/local/lib/python$ver/dist-packages
staged=$dest$pydir
[ -f "$staged/msgport/__init__.py" ] || fail "not installed: $pydir/msgport"
[ -f "$staged/msgport/aio.py" ] || fail "not installed: $pydir/msgport/aio.py"
ext=$(ls "$staged"/_msgport_cffi*.so 2>/dev/null) || fail "not installed: $pydir/_msgport_cffi*.so"
"$python" -c 'import sys; sys.exit(sys.argv[1] not in sys.path)' "$pydir" ||
	fail "$pydir is not on $python's sys.path"
runpath=$(readelf -d "$ext" | grep -E 'R(UN)?PATH' || true)
grep -qF '[/usr/local/lib]' <<<"$runpath" || fail "extension's rpath not /usr/local/lib: $runpath"
grep -qF "$build" <<<"$runpath" && fail "extension's rpath names the build directory: $runpath"

# From elsewhere than the source tree, so that only the installed files
# can be found.
mkdir -p "$tmp/run" "$tmp/root"
cd "$tmp/run"
env -u B PYTHONPATH="$staged" LD_LIBRARY_PATH="$dest/usr/local/lib" MSGPORT_ROOT="$tmp/root" \
	"$python" - "$staged" "$dest/usr/local/lib" <<'PY' || fail "the installed package"
import asyncio, os, sys, threading
staged, libdir = sys.argv[1], sys.argv[2]
import msgport, _msgport_cffi
from msgport import aio
for name, f in (("msgport", msgport.__file__), ("_msgport_cffi", _msgport_cffi.__file__)):
    assert f.startswith(staged + "/"), "%s from %s" % (name, f)
maps = [l.split()[-1] for l in open("/proc/self/maps") if "libmsgport.so" in l]
assert maps and all(m.startswith(libdir + "/") for m in maps), maps

with msgport.Port() as port:
    port.register("/py-install/echo")
    def serve():
        m = port.recv(timeout=10)
        m.respond(bytes(m.data)[::-1])
    t = threading.Thread(target=serve)
    t.start()
    assert msgport.call("/py-install/echo", b"abc", timeout=10) == b"cba"
    t.join()

async def pulse_to_self():
    with aio.Port() as p:
        msgport.pulse(p, 3, 42)
        m = await p.recv(timeout=10)
        assert (m.kind, m.code, m.value) == (msgport.PULSE, 3, 42), m
asyncio.run(pulse_to_self())
PY
echo "python-install: ok (make install DESTDIR PREFIX=/usr/local: $pydir, rpath /usr/local/lib, imported and called)"
