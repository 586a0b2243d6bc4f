#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Echo server: answers every call with its own data; one-way messages and
pulses are printed.  Usage: echo_server.py [PATH] (default /demo/py-echo).
Try: python3 -c 'import msgport; print(msgport.call("/demo/py-echo", b"hi"))'
"""
import sys

import msgport


def main(path):
    with msgport.Port() as port:
        port.register(path, 0o666)
        print("echo: serving %s on port %d" % (path, port.number), flush=True)
        while True:
            msg = port.recv()
            if msg.kind == msgport.CALL:
                msg.respond(msg.data[:msg.capacity])
            elif msg.kind == msgport.PULSE:
                print("echo: pulse code %d value %d (x%d)" % (msg.code, msg.value, msg.count), flush=True)
            else:
                print("echo: one-way %r" % bytes(msg.data[:64]), flush=True)
                if bytes(msg.data) == b"quit":
                    return


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/demo/py-echo")
