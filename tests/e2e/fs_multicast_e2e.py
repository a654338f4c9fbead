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
                           [--ifname IF: G is an IPv6 group sent on IF]
  fs_multicast_e2e.py igmp-query --bind ADDR [--group G]
  fs_multicast_e2e.py mld-query --ifname IF [--group G6]
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


def mld_query(a):
    """An MLDv2 general query (or group-specific with --group) to ff02::1
    (or the group), as a querier router sends it (RFC 3810 section 5.1):
    from the link-local address, hop limit 1, behind a Hop-by-Hop header
    with Router Alert (value 0: MLD). The kernel fills the ICMPv6
    checksum of a raw ICMPv6 socket."""
    ifindex = socket.if_nametoindex(a.ifname)
    group = socket.inet_pton(socket.AF_INET6, a.group or '::')
    # type 130, code 0, checksum, max resp code 1000 ms, reserved,
    # address, then QRV 2 / QQIC 125 / no sources (28 bytes: MLDv2)
    msg = bytes([130, 0, 0, 0, 0x03, 0xe8, 0, 0]) + group + bytes([2, 125, 0, 0])
    r = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    # IPV6_HOPOPTS (54): next header/length are the kernel's; Router
    # Alert (5, length 2, value 0) and PadN (1, 0)
    r.setsockopt(socket.IPPROTO_IPV6, 54, bytes([0, 0, 5, 2, 0, 0, 1, 0]))
    r.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
    r.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 1)
    # a querier speaks from its link-local address, whatever the group's scope
    ll = [l.split()[0] for l in open('/proc/net/if_inet6')
          if l.split()[5] == a.ifname and l.startswith('fe80')][0]
    r.bind((socket.inet_ntop(socket.AF_INET6, bytes.fromhex(ll)), 0, 0, ifindex))
    r.sendto(msg, (a.group or 'ff02::1', 0, 0, ifindex))
    print('MLD query sent')
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    q = sub.add_parser('igmp-query')
    q.add_argument('--bind', required=True)
    q.add_argument('--group')
    q = sub.add_parser('mld-query')
    q.add_argument('--ifname', required=True)
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
    p.add_argument('--ifname')
    a = ap.parse_args()
    if a.cmd == 'igmp-query':
        return igmp_query(a)
    if a.cmd == 'mld-query':
        return mld_query(a)
    if a.ifname:  # an IPv6 group, as mod_event_multicast sends to one
        ifindex = socket.if_nametoindex(a.ifname)
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
        s.bind((a.bind, 0))
        dst = (a.group, a.port, 0, ifindex)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(a.bind))
        s.bind((a.bind, 0))
        dst = (a.group, a.port)
    for i in range(a.n):
        s.sendto(datagram(a, i), dst)
    print('sent %d datagram(s) to %s:%d' % (a.n, a.group, a.port))
    return 0


if __name__ == '__main__':
    sys.exit(main())
