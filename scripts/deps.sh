#!/usr/bin/env bash
# Install what building and testing need, when missing (Debian).  The
# library itself needs only libc; the tests need a C compiler and make;
# the NATS gateway (net/) libnats, and its tests nats-server.
set -euo pipefail

need=()
command -v cc >/dev/null 2>&1 || need+=(gcc)
command -v make >/dev/null 2>&1 || need+=(make)
command -v groff >/dev/null 2>&1 || need+=(groff-base)	# make test renders the manual pages
# ASan/UBSan runtime for `make test-asan`.
[ -e "$(cc -print-file-name=libasan.so 2>/dev/null || echo /nonexistent)" ] || need+=(libasan8)
[ -e "$(cc -print-file-name=libubsan.so 2>/dev/null || echo /nonexistent)" ] || need+=(libubsan1)
# pkg-config finds the optional libraries; libuv for examples/eventloop/uv-server.
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
pkg-config --exists libuv 2>/dev/null || need+=(libuv1-dev)
# The Python package (make python, its pytest suite, its NumPy example).
/usr/bin/python3 -c 'import cffi, pytest, numpy, sysconfig, os; assert os.path.exists(sysconfig.get_paths()["include"] + "/Python.h")' 2>/dev/null || need+=(python3-cffi python3-pytest python3-dev python3-numpy)
# The NATS gateway net/msgport-net (docs/net.md): its client library and,
# for its tests, the server.
[ -e /usr/include/nats/nats.h ] || [ -e /usr/include/nats.h ] || need+=(libnats-dev)
command -v nats-server >/dev/null 2>&1 || need+=(nats-server)
# openssl: tests/net/tls.sh makes a throwaway CA and server certificate.
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# tests/net/creds.sh makes throwaway NATS operator JWTs with Ed25519.
python3 -c 'import cryptography.hazmat.primitives.asymmetric.ed25519' 2>/dev/null || need+=(python3-cryptography)
# iproute2 (ip netns, veth): tests/net/netns.sh makes hosts as network namespaces.
command -v ip >/dev/null 2>&1 || need+=(iproute2)

if [ "${#need[@]}" -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		# Not root: say what is missing; what needs it is skipped or fails
		# with its own message.
		echo "deps: missing ${need[*]}; run: sudo apt-get install ${need[*]}" >&2
		exit 0
	fi
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi
