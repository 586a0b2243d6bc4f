#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Throwaway NATS operator-mode credentials for tests/net/creds.sh.

Writes into DIR: op.jwt (an operator), server.conf (nats-server trusting it,
one account preloaded in a MEMORY resolver), good.creds (a user of that
account) and bad.creds (a user of an account the server does not know).
NKeys and JWTs are made here with the `cryptography` module's Ed25519, as
nats-io/nkeys and nats-io/jwt encode them; no nsc needed.
Usage: creds.py DIR
"""
import base64, hashlib, json, os, sys, time
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

PREFIX = {"seed": 18 << 3, "operator": 14 << 3, "account": 0, "user": 20 << 3}

def crc16(data):  # CRC-16/XMODEM, as nkeys' crc16.go
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc

def b32(raw):
    raw += crc16(raw).to_bytes(2, "little")
    return base64.b32encode(raw).decode().rstrip("=")

class Key:
    def __init__(self, kind):
        self.kind, self.sk = kind, Ed25519PrivateKey.generate()
        pub = self.sk.public_key().public_bytes(serialization.Encoding.Raw,
                                                serialization.PublicFormat.Raw)
        self.pub = b32(bytes([PREFIX[kind]]) + pub)
        seed = self.sk.private_bytes(serialization.Encoding.Raw,
                                     serialization.PrivateFormat.Raw,
                                     serialization.NoEncryption())
        t = PREFIX[kind]
        self.seed = b32(bytes([PREFIX["seed"] | t >> 5, (t & 31) << 3]) + seed)

def b64(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")

def jwt(issuer, subject, name, nats):
    claims = {"iat": int(time.time()), "iss": issuer.pub, "name": name,
              "sub": subject.pub, "nats": dict(nats, version=2)}
    claims["jti"] = base64.b32encode(hashlib.sha256(
        json.dumps(claims, sort_keys=True).encode()).digest()).decode().rstrip("=")
    head = b64(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = issuer.sk.sign((head + "." + body).encode())
    return head + "." + body + "." + b64(sig)

def creds(user_jwt, user):
    return ("-----BEGIN NATS USER JWT-----\n%s\n------END NATS USER JWT------\n\n"
            "-----BEGIN USER NKEY SEED-----\n%s\n------END USER NKEY SEED------\n"
            % (user_jwt, user.seed))

def main(d):
    op, acc, other = Key("operator"), Key("account"), Key("account")
    op_jwt = jwt(op, op, "mpnet-op", {"type": "operator"})
    limits = {"subs": -1, "conn": -1, "leaf": -1, "imports": -1, "exports": -1,
              "data": -1, "payload": -1, "wildcards": True}
    acc_jwt = jwt(op, acc, "mpnet", {"type": "account", "limits": limits})
    user_nats = {"type": "user", "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1}
    good, bad = Key("user"), Key("user")
    files = {
        "op.jwt": op_jwt,
        "server.conf": 'operator: "%s/op.jwt"\nresolver: MEMORY\nresolver_preload: {\n  %s: "%s"\n}\n'
                       % (d, acc.pub, acc_jwt),
        "good.creds": creds(jwt(acc, good, "gw", user_nats), good),
        "bad.creds": creds(jwt(other, bad, "gw", user_nats), bad),
    }
    for name, text in files.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
        os.chmod(os.path.join(d, name), 0o600)

if __name__ == "__main__":
    main(sys.argv[1])
