#!/usr/bin/env bash
# Install what building and testing need, when missing (Debian).  The
# library itself needs only libc; the tests need a C compiler and make;
# the NATS gateway (net/) libnats, and its tests nats-server.
set -euo pipefail

need=()
command -v cc >/dev/null 2>&1 || need+=(gcc)
command -v make >/dev/null 2>&1 || need+=(make)
# ASan/UBSan runtime for `make test-asan`.
[ -e "$(cc -print-file-name=libasan.so 2>/dev/null || echo /nonexistent)" ] || need+=(libasan8)
[ -e "$(cc -print-file-name=libubsan.so 2>/dev/null || echo /nonexistent)" ] || need+=(libubsan1)
# The NATS gateway net/msgport-net (docs/net.md): its client library and,
# for its tests, the server.
[ -e /usr/include/nats/nats.h ] || [ -e /usr/include/nats.h ] || need+=(libnats-dev)
command -v nats-server >/dev/null 2>&1 || need+=(nats-server)

if [ "${#need[@]}" -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing ${need[*]}; run: sudo apt-get install ${need[*]}" >&2
		exit 1
	fi
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi
