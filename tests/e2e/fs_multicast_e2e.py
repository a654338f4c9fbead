#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""mod_event_multicast datagrams, built as the module builds them
(mod_event_multicast.c): switch_event_serialize() text (URL-encoded plain,
"Multicast-Sender" added by the module), the 21-byte validation magic, a
NUL and zero padding; with a psk: a 36-byte UUID string in clear, then
Blowfish-CBC (key = the psk bytes, IV = the UUID string's first 8 bytes,
PKCS padding) of text + magic, made with the OpenSSL command line.

  fs_multicast_e2e.py send --group G --port P --bind ADDR --sender NAME
                           --subclass S [--psk K] [--no-magic] [--n N]
"""
import argparse, socket, subprocess, sys, urllib.parse, uuid

MAGIC = bytes([226, 132, 177, 197, 152, 198, 142, 211, 172, 197, 158,
               208, 169, 208, 135, 197, 166, 207, 154, 196, 166])


def serialize(headers):
    # switch_event_serialize: "Name: url-encoded value\n" ... "\n"
    return ''.join('%s: %s\n' % (k, urllib.parse.quote(v, safe=''))
                   for k, v in headers) + '\n'


def datagram(a, i):
    text = serialize([('Event-Name', 'CUSTOM'), ('Event-Subclass', a.subclass),
                      ('Core-UUID', '11111111-2222-3333-4444-%012d' % i),
                      ('FreeSWITCH-Hostname', a.sender), ('X-Seq', str(i)),
                      ('Multicast-Sender', a.sender)]).encode()
    if a.no_magic:
        return text
    if not a.psk:
        return text + MAGIC + b'\0' + b'\0' * 52
    u = str(uuid.uuid4()).encode()
    ct = subprocess.run(['openssl', 'enc', '-bf-cbc', '-provider', 'legacy', '-provider',
                         'default', '-K', a.psk.encode().hex(), '-iv', u[:8].hex()],
                        input=text + MAGIC, capture_output=True, check=True).stdout
    return u + ct


def igmp_query(a):
    """An IGMPv2 general query (or group-specific with --group) to 224.0.0.1
    (or the group), as a querier router sends it (RFC 2236)."""
    group = socket.inet_aton(a.group or '0.0.0.0')
    msg = bytearray([0x11, 100, 0, 0]) + group
    s = sum((msg[i] << 8) + msg[i + 1] for i in range(0, 8, 2))
    s = (s & 0xffff) + (s >> 16)
    ck = ~((s & 0xffff) + (s >> 16)) & 0xffff
    msg[2], msg[3] = ck >> 8, ck & 0xff
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_IGMP)
    r.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(a.bind))
    r.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    r.sendto(bytes(msg), (a.group or '224.0.0.1', 0))
    print('IGMP query sent')
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    q = sub.add_parser('igmp-query')
    q.add_argument('--bind', required=True)
    q.add_argument('--group')
    p = sub.add_parser('send')
    p.add_argument('--group', required=True)
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--bind', required=True)
    p.add_argument('--sender', required=True)
    p.add_argument('--subclass', default='evr::mcast')
    p.add_argument('--psk')
    p.add_argument('--no-magic', action='store_true')
    p.add_argument('--n', type=int, default=1)
    a = ap.parse_args()
    if a.cmd == 'igmp-query':
        return igmp_query(a)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(a.bind))
    s.bind((a.bind, 0))
    for i in range(a.n):
        s.sendto(datagram(a, i), (a.group, a.port))
    print('sent %d datagram(s) to %s:%d' % (a.n, a.group, a.port))
    return 0


if __name__ == '__main__':
    sys.exit(main())
