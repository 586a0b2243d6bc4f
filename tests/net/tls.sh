# Sourced by tests/net/run.sh (its ok/bad/check/bg/wait_log/nats/host/serve/at,
# $T, $GW, $NT): TLS to NATS.  A throwaway CA and a server certificate for
# 127.0.0.1 made with openssl in $T/tls, and another CA that signed
# nothing; nats-server on loopback with tls { cert_file, key_file }.  A
# gateway given the CA (--tls-ca) looks up and calls across it; one given
# the other CA, and one without --tls-ca, fail to connect: exit status 1
# and NATS's reason on stderr.  The daemons go with run.sh's cleanup (bg),
# the certificates with $T.  Without openssl: one "SKIP" line.

# tls_ca NAME: a self-signed CA, $T/tls/NAME.pem and NAME.key.
tls_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=msgport test $1" -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign \
		-keyout "$T/tls/$1.key" -out "$T/tls/$1.pem" >"$T/tls/$1.log" 2>&1
}

# tls_server: $T/tls/server.pem (127.0.0.1, localhost), signed by the CA "ca".
tls_server() {
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$T/tls/server.ext"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost \
		-keyout "$T/tls/server.key" -out "$T/tls/server.csr" >"$T/tls/server.log" 2>&1 &&
	openssl x509 -req -in "$T/tls/server.csr" -CA "$T/tls/ca.pem" -CAkey "$T/tls/ca.key" \
		-CAcreateserial -days 2 -extfile "$T/tls/server.ext" -out "$T/tls/server.pem" \
		>>"$T/tls/server.log" 2>&1
}

# tls_refused NAME ARGS...: a gateway that must not connect; "rc=N: reason".
tls_refused() {
	local name=$1 out rc; shift
	mkdir -p "$T/$name" && chmod 700 "$T/$name"
	out=$(MSGPORT_ROOT="$T/$name" timeout 20 "$GW" --nats "$tls_url" --host "$name" "$@" 2>&1)
	rc=$?
	echo "rc=$rc: $(tr '\n' ' ' <<<"$out")"
}

if ! command -v openssl >/dev/null 2>&1; then
	echo "SKIP net tls (no openssl: scripts/deps.sh installs it)"
elif ! { mkdir -p "$T/tls" && tls_ca ca && tls_ca other && tls_server; }; then
	bad tls_certificates "openssl failed: $(cat "$T"/tls/*.log | tr '\n' ' ')"
else
	printf 'tls {\n  cert_file: "%s"\n  key_file: "%s"\n  timeout: 5\n}\n' \
		"$T/tls/server.pem" "$T/tls/server.key" >"$T/tls.conf"
	nats tls -c "$T/tls.conf"
	host ta "$tls_url" --tls-ca "$T/tls/ca.pem"
	host tb "$tls_url" --tls-ca "$T/tls/ca.pem" --export /dev
	serve tb /dev/echo tb
	check tls_lookup "$(at ta "$NT" lookup /net/tb/dev/echo)" '^lookup=0$'
	check tls_call "$(at ta "$NT" call /net/tb/dev/echo 1 0 over-tls)" '^err=0 size=8 ok=1 '
	check tls_wrong_ca_refused "$(tls_refused tc --tls-ca "$T/tls/other.pem")" \
		'^rc=1: msgport-net: NATS .*([Cc]ertificate|SSL|TLS|verify)'
	check tls_without_ca_refused "$(tls_refused td)" '^rc=1: msgport-net: NATS .*(TLS|SSL|[Ss]ecure)'
fi
