#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A minimal OpenSIPS MI client speaking exactly what opensips-cli sends
(opensipscli/communication/datagram.py and fifo.py): json.dumps of
{"jsonrpc", "id", "method", "params"}; over UDP one datagram and one
recv(1024) reply, over the FIFO ":opensips_fifo_reply_<n>:{json}" with the
reply FIFO mkfifo'd in the reply directory, then one line read from it.

  mi_client.py udp HOST PORT METHOD       -> prints the result as JSON
  mi_client.py fifo FIFO REPLY_DIR METHOD

Exit 0 with the result, 1 on an error reply, a foreign id or a timeout
(every wait is bounded: 5 s).
"""
import json
import os
import random
import select
import socket
import sys
import time

TIMEOUT = 5.0


def command(method):
    rid = str(random.randint(0, 32767))
    return rid, json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": {}})


def check(rid, text):
    reply = json.loads(text)
    if reply.get("id") != rid or "result" not in reply:
        print("bad reply: %s" % text, file=sys.stderr)
        return 1
    print(json.dumps(reply["result"]))
    return 0


def udp(host, port, method):
    rid, cmd = command(method)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(TIMEOUT)
    s.sendto(cmd.encode(), (host, int(port)))
    try:
        return check(rid, s.recv(1024))
    finally:
        s.close()


def fifo(path, reply_dir, method):
    rid, cmd = command(method)
    name = "opensips_fifo_reply_%d" % random.randrange(32767)
    reply = os.path.join(reply_dir, name)
    if os.path.exists(reply):
        os.unlink(reply)
    os.mkfifo(reply, 0o666)
    try:
        # Non-blocking, so a daemon that is not reading fails instead of
        # hanging the test (opensips-cli itself opens blocking).
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.write(fd, (":%s:%s" % (name, cmd)).encode())
        os.close(fd)
        rfd = os.open(reply, os.O_RDONLY | os.O_NONBLOCK)
        data = b""
        end = time.monotonic() + TIMEOUT
        while not data.endswith(b"\n") and time.monotonic() < end:
            ready, _, _ = select.select([rfd], [], [], max(0.0, end - time.monotonic()))
            if ready:
                chunk = os.read(rfd, 65536)
                data += chunk
                if not chunk and data:
                    break
                if not chunk:
                    time.sleep(0.01)  # no writer yet: poll reports EOF
        os.close(rfd)
    finally:
        os.unlink(reply)
    if not data:
        print("no reply on %s" % reply, file=sys.stderr)
        return 1
    return check(rid, data.decode())


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("udp", "fifo"):
        print(__doc__, file=sys.stderr)
        return 2
    if sys.argv[1] == "udp":
        return udp(sys.argv[2], sys.argv[3], sys.argv[4])
    return fifo(sys.argv[2], sys.argv[3], sys.argv[4])


if __name__ == "__main__":
    sys.exit(main())
