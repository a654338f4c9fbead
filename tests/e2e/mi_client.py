#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""OpenSIPS MI clients speaking exactly what opensips-cli and python-opensips
send (opensipscli/communication/{datagram,fifo,http}.py, jsonrpc_helper.py;
opensips/mi/{datagram,fifo,http}.py; PyPI is not reachable from the test
machines, so their framing is reproduced here, not imported): json.dumps of
{"jsonrpc", "id", "method", "params"} with json's default separators;
  udp    one datagram, one reply datagram (opensips-cli reads recv(1024));
  unix   a bound reply path (python-opensips /tmp/opensips_mi_reply_*);
  fifo   ":opensips_fifo_reply_<n>:{json}" written to the request FIFO, the
         reply FIFO mkfifo'd in the reply directory, one line read from it;
  http   POST with Content-Type: application/json.
Every wait is bounded (5 s).

  mi_client.py udp HOST PORT METHOD [PARAMS-JSON]
  mi_client.py unix SOCKET METHOD [PARAMS-JSON]
  mi_client.py fifo FIFO REPLY_DIR METHOD [PARAMS-JSON]
  mi_client.py http PORT METHOD [PARAMS-JSON]
    -> the result as JSON on stdout, exit 0; exit 1 on an error reply, a
       foreign id or a timeout
"""
import json
import os
import random
import select
import socket
import sys
import tempfile
import time
import urllib.request

TIMEOUT = 5.0


class MIError(Exception):
    """An error reply: code and message, as jsonrpc_helper raises it."""

    def __init__(self, code, message):
        super().__init__('%s: %s' % (code, message))
        self.code = code
        self.message = message


def command(method, params):
    rid = str(random.randint(0, 32767))
    return rid, json.dumps({'jsonrpc': '2.0', 'id': rid, 'method': method, 'params': params})


def result(rid, text):
    """jsonrpc_helper.get_reply, plus: the reply carries our id."""
    j = json.loads(text)
    if j.get('id') != rid:
        raise ValueError('reply id %r for request %r' % (j.get('id'), rid))
    if isinstance(j.get('error'), dict):
        raise MIError(j['error'].get('code'), j['error'].get('message'))
    if 'result' not in j:
        raise MIError(-32603, 'Internal error')
    return j['result']


class Udp:
    name = 'mi_datagram udp'

    def __init__(self, host, port):
        self.addr = (host, int(port))

    def execute(self, method, params=None):
        rid, cmd = command(method, params if params is not None else {})
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.settimeout(TIMEOUT)
            s.sendto(cmd.encode(), self.addr)
            return result(rid, s.recv(65535))
        finally:
            s.close()


class Unix:
    name = 'mi_datagram unix'

    def __init__(self, path):
        self.path = path

    def execute(self, method, params=None):
        rid, cmd = command(method, params if params is not None else {})
        me = os.path.join(tempfile.gettempdir(),
                          'opensips_mi_reply_%d' % random.randint(0, 1 << 30))
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            s.bind(me)
            s.settimeout(TIMEOUT)
            s.sendto(cmd.encode(), self.path)
            return result(rid, s.recv(65535))
        finally:
            s.close()
            os.unlink(me)


class Fifo:
    name = 'mi_fifo'

    def __init__(self, path, reply_dir):
        self.path = path
        self.reply_dir = reply_dir

    def execute(self, method, params=None):
        rid, cmd = command(method, params if params is not None else {})
        name = 'opensips_fifo_reply_%d' % random.randrange(32767)
        reply = os.path.join(self.reply_dir, name)
        if os.path.exists(reply):
            os.unlink(reply)
        os.mkfifo(reply, 0o666)
        try:
            # Non-blocking, so a daemon that is not reading fails instead of
            # hanging the test (opensips-cli itself opens blocking).
            fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            os.write(fd, (':%s:%s' % (name, cmd)).encode())
            os.close(fd)
            rfd = os.open(reply, os.O_RDONLY | os.O_NONBLOCK)
            data = b''
            end = time.monotonic() + TIMEOUT
            while not data.endswith(b'\n') and time.monotonic() < end:
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
            raise TimeoutError('no reply on %s' % reply)
        return result(rid, data.decode())


class Http:
    name = 'mi_http'

    def __init__(self, port, host='127.0.0.1'):
        self.url = 'http://%s:%s/mi' % (host, port)

    def execute(self, method, params=None):
        rid, cmd = command(method, params if params is not None else {})
        req = urllib.request.Request(self.url, cmd.encode(),
                                     {'Content-Type': 'application/json'})
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            return result(rid, r.read().decode())


def main(argv):
    kinds = {'udp': (Udp, 2), 'unix': (Unix, 1), 'fifo': (Fifo, 2), 'http': (Http, 1)}
    if len(argv) < 2 or argv[1] not in kinds:
        print(__doc__, file=sys.stderr)
        return 2
    cls, nargs = kinds[argv[1]]
    rest = argv[2 + nargs:]
    if len(rest) not in (1, 2):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        res = cls(*argv[2:2 + nargs]).execute(rest[0], json.loads(rest[1]) if len(rest) > 1
                                              else None)
    except (MIError, ValueError, OSError) as e:
        print('error: %s' % e, file=sys.stderr)
        return 1
    print(json.dumps(res))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
