# tests/net/creds.sh, sourced by tests/net/run.sh: --creds FILE, NATS's
# operator mode (decentralized JWT auth).  tests/net/creds.py makes a
# throwaway operator, an account preloaded in the server's MEMORY resolver,
# a user of it (good.creds) and a user of an account the server does not
# know (bad.creds).  Needs python3's `cryptography` (Ed25519): else one SKIP.
if ! python3 -c 'import cryptography.hazmat.primitives.asymmetric.ed25519' 2>/dev/null; then
	echo "SKIP net creds (no python3 cryptography module)"
else
	mkdir -p "$T/cr" && chmod 700 "$T/cr"
	python3 "$(dirname "${BASH_SOURCE[0]}")/creds.py" "$T/cr"
	nats n5 -c "$T/cr/server.conf"
	host cr1 "$n5_url" --creds "$T/cr/good.creds" --export /dev
	serve cr1 /dev/echo cr1
	host cr2 "$n5_url" --creds "$T/cr/good.creds"
	check creds_call "$(at cr2 "$NT" call /net/cr1/dev/echo 1 0 with-creds)" '^err=0 size=10 ok=1 '
	mkdir -p "$T/cr3" && chmod 700 "$T/cr3"
	out=$(MSGPORT_ROOT="$T/cr3" timeout 20 "$GW" --nats "$n5_url" --host cr3 \
		--creds "$T/cr/bad.creds" 2>&1; echo "rc=$?")
	check creds_wrong_account_refused "$(tr '\n' ' ' <<<"$out")" '[Aa]uthoriz.*rc=1 $'
	grep -q 'authentication error' "$T/n5.log" && ok creds_refusal_logged ||
		bad creds_refusal_logged "no authentication error in the server's log"
fi
