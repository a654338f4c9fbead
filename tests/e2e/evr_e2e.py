#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Helpers for evrd's end-to-end tests. Python standard library ONLY (CI has
no scapy): import it from test scripts, or run it as a small CLI from bash.

Library:
  frames     eth/arp/ip4/udp4/icmp4 and ip6/udp6/icmp6_echo/nd_ns builders
             with correct checksums (and switches to break them on purpose)
  pcap       write_pcap(path, frames) / read_pcap(path) (classic libpcap,
             either byte order, usec or nsec magic)
  parsing    Frame(raw) / parse_frames(path) (ARP, IPv4, IPv6 and its
             fragment header); datagrams(frames) -> UDP/IPv4 datagrams (IPv4
             fragments reassembled, checksums verified); reassemble(frames)
             -> (Frame, l4) of IPv4 and IPv6 packets; udp_ok(frame, l4)
  notify     parse_notification(payload) -> {format, name, attrs, seq, ...}
             for the three notification formats (jsonrpc, plain, json)
  control    Ctl: newline-delimited JSON-RPC client of the control socket

CLI (every loop bounded in count AND time):
  recv   [--bind IP:PORT]... [--unix PATH]  --count N --timeout S [--idle S]
         --out FILE.jsonl [--ready FILE]
         one JSON line per datagram: {"t": unix time, "dst", "src", "len", "b64"}
  send   --to IP:PORT [--bind IP] [--sport P] [--interval S] [--rate N]
         (payloads: --payload TEXT... or --file F with one JSON string per
         line) at most 1e6 datagrams
  flows  --to IP:PORT --sports A-B --count N [--rate R]   interleaved flows
  pcap-dump FILE              every frame as a JSON line (IPv4, UDP decoded)
  notes FILE.jsonl            recv output -> parsed notifications, JSON lines
  txcsum-off IFACE            ethtool -K IFACE tx off, via SIOCETHTOOL
  ping HOST [--count N] [--timeout S]   ICMP echo (raw socket, root)
  ctl SOCKET                  JSON lines on stdin -> responses on stdout
  selftest [--tshark]         pcap writer/reader round trip (+ tshark check)
"""
import argparse
import base64
import ctypes
import fcntl
import ipaddress
import json
import os
import select
import socket
import struct
import sys
import time
import urllib.parse

ETH_IP4, ETH_ARP, ETH_IP6, ETH_VLAN = 0x0800, 0x0806, 0x86DD, 0x8100
BCAST = 'ff:ff:ff:ff:ff:ff'

# ------------------------------------------------------------------ frames


def mac_b(s):
    return bytes(int(x, 16) for x in s.split(':'))


def mac_s(b):
    return ':'.join('%02x' % x for x in b)


def ip4_b(s):
    return ipaddress.IPv4Address(s).packed


def ip6_b(s):
    return ipaddress.IPv6Address(s).packed


def csum(data):
    """Internet checksum (RFC 1071) of data, as it goes on the wire."""
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def eth(dst, src, etype, payload, vlan=None, pad=True):
    """Ethernet frame; pad=False leaves a frame shorter than 60 bytes as is."""
    hdr = mac_b(dst) + mac_b(src)
    if vlan is not None:
        hdr += struct.pack('!HH', ETH_VLAN, vlan)
    fr = hdr + struct.pack('!H', etype) + payload
    if pad and len(fr) < 60:  # minimum Ethernet frame without FCS
        fr += b'\0' * (60 - len(fr))
    return fr


def arp(op, src_mac, src_ip, dst_mac, dst_ip, eth_dst=None, pad=True):
    body = struct.pack('!HHBBH', 1, ETH_IP4, 6, 4, op) + mac_b(src_mac) + \
        ip4_b(src_ip) + mac_b(dst_mac) + ip4_b(dst_ip)
    return eth(eth_dst or (BCAST if op == 1 else dst_mac), src_mac, ETH_ARP, body,
               pad=pad)


def arp_request(src_mac, src_ip, target_ip, pad=True):
    return arp(1, src_mac, src_ip, '00:00:00:00:00:00', target_ip, pad=pad)


def arp_reply(src_mac, src_ip, dst_mac, dst_ip, pad=True):
    return arp(2, src_mac, src_ip, dst_mac, dst_ip, pad=pad)


def ip4(src, dst, proto, payload, ident=1, frag=0, ttl=64, bad_csum=False,
        total_len=None, ihl=5):
    tl = total_len if total_len is not None else 4 * ihl + len(payload)
    hdr = struct.pack('!BBHHHBBH4s4s', 0x40 | ihl, 0, tl, ident, frag, ttl,
                      proto, 0, ip4_b(src), ip4_b(dst)) + b'\0' * (4 * ihl - 20)
    c = csum(hdr)
    if bad_csum:
        c ^= 0x5555
    return hdr[:10] + struct.pack('!H', c) + hdr[12:] + payload


def pseudo4(src, dst, proto, length):
    """IPv4 pseudo-header of the UDP/TCP checksum."""
    return ip4_b(src) + ip4_b(dst) + struct.pack('!BBH', 0, proto, length)


def pseudo6(src, dst, nh, length):
    """IPv6 pseudo-header of the UDP/ICMPv6 checksum (RFC 8200 8.1)."""
    return ip6_b(src) + ip6_b(dst) + struct.pack('!IxxxB', length, nh)


def udp_csum4(src, dst, u):
    return csum(pseudo4(src, dst, 17, len(u)) + u) or 0xffff


def udp4(src, sport, dst, dport, payload, bad_csum=False, no_csum=False,
         udp_len=None, **ipkw):
    """IPv4+UDP packet (no Ethernet). udp_len forces a (wrong) UDP length."""
    ul = udp_len if udp_len is not None else 8 + len(payload)
    u = struct.pack('!HHHH', sport, dport, ul, 0) + payload
    c = 0 if no_csum else udp_csum4(src, dst, u)
    if bad_csum:
        c ^= 0x0f0f
    return ip4(src, dst, 17, u[:6] + struct.pack('!H', c) + u[8:], **ipkw)


def icmp4_echo(src, dst, ident=7, seq=1, data=b'evrd-e2e-ping', typ=8, **ipkw):
    m = struct.pack('!BBHHH', typ, 0, 0, ident, seq) + data
    m = m[:2] + struct.pack('!H', csum(m)) + m[4:]
    return ip4(src, dst, 1, m, **ipkw)


def ip6(src, dst, nh, payload, hop=64):
    """IPv6 packet (no Ethernet, no extension header)."""
    return struct.pack('!IHBB', 6 << 28, len(payload), nh, hop) + ip6_b(src) + \
        ip6_b(dst) + payload


def l4sum6(src, dst, nh, l4):
    """Checksum of an IPv6 upper-layer message l4 (its checksum field 0)."""
    return csum(pseudo6(src, dst, nh, len(l4)) + l4) or 0xffff


def _with_csum(m, at, c):
    return m[:at] + struct.pack('!H', c) + m[at + 2:]


def udp6(src, sport, dst, dport, payload):
    u = struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload
    return ip6(src, dst, 17, _with_csum(u, 6, l4sum6(src, dst, 17, u)))


def icmp6_echo(src, dst, ident=9, seq=1, data=b'evrd-ping6'):
    m = struct.pack('!BBHHH', 128, 0, 0, ident, seq) + data
    return ip6(src, dst, 58, _with_csum(m, 2, l4sum6(src, dst, 58, m)))


def nd_ns(src, src_mac, target):
    """Neighbour solicitation for target to its solicited-node multicast
    address: (destination MAC, IPv6 packet)."""
    t = ip6_b(target)
    dst = ipaddress.IPv6Address(b'\xff\x02' + b'\0' * 9 + b'\x01\xff' + t[13:])
    m = struct.pack('!BBHI', 135, 0, 0, 0) + t + bytes([1, 1]) + mac_b(src_mac)
    m = _with_csum(m, 2, l4sum6(src, str(dst), 58, m))
    return '33:33:' + mac_s(dst.packed[12:]), ip6(src, str(dst), 58, m, hop=255)


# -------------------------------------------------------------------- pcap

PCAP_MAGIC_US, PCAP_MAGIC_NS = 0xa1b2c3d4, 0xa1b23c4d


def write_pcap(path, frames, t0=1700000000.0, step=0.001):
    """Classic pcap, Ethernet link type, microsecond timestamps. frames:
    bytes, or (time, bytes) pairs."""
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', PCAP_MAGIC_US, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            t = t0 + i * step
            if isinstance(fr, tuple):
                t, fr = fr
            sec, usec = int(t), int(round((t - int(t)) * 1e6))
            if usec >= 1000000:
                sec, usec = sec + 1, usec - 1000000
            f.write(struct.pack('<IIII', sec, usec, len(fr), len(fr)))
            f.write(fr)


def read_pcap(path):
    """[(time, bytes)]; accepts both byte orders and nanosecond pcaps."""
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 24:
        return []
    m_le = struct.unpack('<I', data[:4])[0]
    m_be = struct.unpack('>I', data[:4])[0]
    if m_le in (PCAP_MAGIC_US, PCAP_MAGIC_NS):
        en, magic = '<', m_le
    elif m_be in (PCAP_MAGIC_US, PCAP_MAGIC_NS):
        en, magic = '>', m_be
    else:
        raise ValueError('%s: not a classic pcap file' % path)
    div = 1e9 if magic == PCAP_MAGIC_NS else 1e6
    off, out = 24, []
    while off + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(en + 'IIII', data[off:off + 16])
        out.append((sec + frac / div, data[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    return out


# ----------------------------------------------------------------- parsing


class Frame:
    """One Ethernet frame, decoded as far as it goes (802.1Q tag, ARP, IPv4,
    IPv6 with its fragment header). Attributes absent from a layer are None.
    etype is the ethertype after a VLAN tag (vlan: the tag's VLAN id); l3 the
    bytes after the Ethernet header and tag; proto the IP protocol (for an
    IPv6 fragment, the next header after the fragment header); l4 what
    follows the IP header(s), up to the length that header gives; mf,
    frag_off (bytes) and ident describe a fragment, frag6 is True on an IPv6
    fragment. ip_csum_ok is None but for IPv4."""

    def __init__(self, raw, t=0.0):
        self.t, self.raw = t, raw
        self.dst = self.src = None
        self.etype = self.vlan = self.proto = None
        self.ip_src = self.ip_dst = None
        self.ip_csum_ok = None
        self.mf, self.frag_off, self.ident, self.frag6 = False, 0, None, False
        self.l3 = self.l4 = b''
        self.arp = None
        if len(raw) < 14:
            return
        self.dst, self.src = mac_s(raw[0:6]), mac_s(raw[6:12])
        off = 12
        self.etype = struct.unpack('!H', raw[off:off + 2])[0]
        if self.etype == ETH_VLAN and len(raw) >= 18:
            self.vlan = struct.unpack('!H', raw[14:16])[0] & 0xfff
            off = 16
            self.etype = struct.unpack('!H', raw[off:off + 2])[0]
        self.l3 = l3 = raw[off + 2:]
        if self.etype == ETH_ARP and len(l3) >= 28:
            op = struct.unpack('!H', l3[6:8])[0]
            self.arp = {'op': op, 'sha': mac_s(l3[8:14]),
                        'spa': str(ipaddress.IPv4Address(l3[14:18])),
                        'tha': mac_s(l3[18:24]),
                        'tpa': str(ipaddress.IPv4Address(l3[24:28]))}
        elif self.etype == ETH_IP4 and len(l3) >= 20:
            ihl = (l3[0] & 15) * 4
            tot, self.ident, fo = struct.unpack('!HHH', l3[2:8])
            self.proto = l3[9]
            self.ip_src = str(ipaddress.IPv4Address(l3[12:16]))
            self.ip_dst = str(ipaddress.IPv4Address(l3[16:20]))
            self.ip_csum_ok = csum(l3[:ihl]) == 0
            self.mf = bool(fo & 0x2000)
            self.frag_off = (fo & 0x1fff) * 8
            self.l4 = l3[ihl:tot]
        elif self.etype == ETH_IP6 and len(l3) >= 40:
            plen = struct.unpack('!H', l3[4:6])[0]
            self.proto = l3[6]
            self.ip_src = str(ipaddress.IPv6Address(l3[8:24]))
            self.ip_dst = str(ipaddress.IPv6Address(l3[24:40]))
            self.l4 = l3[40:40 + plen]
            if self.proto == 44 and len(self.l4) >= 8:  # fragment header
                nh, _, fo, self.ident = struct.unpack('!BBHI', self.l4[:8])
                self.proto, self.mf, self.frag_off = nh, bool(fo & 1), fo & 0xfff8
                self.l4 = self.l4[8:]
                self.frag6 = True

    def is_fragment(self):
        return self.proto is not None and (self.mf or self.frag_off > 0)


def parse_frames(path):
    return [Frame(raw, t) for t, raw in read_pcap(path)]


def _join(fs):
    """Fragments fs sorted by offset: (the bytes of the leading ones that fit
    end to end, how many of them)."""
    data, n = b'', 0
    for x in fs:
        if x.frag_off != len(data):
            break
        data += x.l4
        n += 1
    return data, n


def reassemble(frames):
    """IPv4 and IPv6 packets: [(Frame, l4 bytes)], the unfragmented ones in
    capture order, then each complete set of fragments (keyed by source,
    destination and ident) as (its first fragment, the joined l4)."""
    whole, parts = [], {}
    for f in frames:
        if f.proto is None:
            continue
        if f.is_fragment():
            parts.setdefault((f.ip_src, f.ip_dst, f.ident), []).append(f)
        else:
            whole.append((f, f.l4))
    for fs in parts.values():
        fs.sort(key=lambda x: x.frag_off)
        data, n = _join(fs)
        if n == len(fs) and not fs[-1].mf:
            whole.append((fs[0], data))
    return whole


def udp_ok(f, l4):
    """Whether the UDP datagram l4 (reassembled, if it was fragmented) of
    frame f has a valid checksum (or, over IPv4, none)."""
    if f.etype == ETH_IP4:
        if struct.unpack('!H', l4[6:8])[0] == 0:
            return True
        ph = pseudo4(f.ip_src, f.ip_dst, 17, len(l4))
    else:
        ph = pseudo6(f.ip_src, f.ip_dst, 17, len(l4))
    return csum(ph + l4) == 0


def datagrams(frames):
    """UDP/IPv4 datagrams in capture order (a fragmented one at the position
    of its last fragment): dicts with t, src_mac, dst_mac, src, dst, sport,
    dport, payload, udp_csum_ok, ip_csum_ok, fragments."""
    out, parts = [], {}
    for f in frames:
        if f.etype != ETH_IP4 or f.proto != 17:
            continue
        l4, nfrag, ipok = f.l4, 1, f.ip_csum_ok
        if f.is_fragment():
            key = (f.ip_src, f.ip_dst, f.ident)
            parts.setdefault(key, []).append(f)
            fs = sorted(parts[key], key=lambda x: x.frag_off)
            data, n = _join(fs)
            if not n or fs[n - 1].mf:
                continue
            del parts[key]
            l4, nfrag = data, len(fs)
            ipok = all(x.ip_csum_ok for x in fs)
        if len(l4) < 8:
            continue
        sport, dport, ulen, _ = struct.unpack('!HHHH', l4[:8])
        ok = udp_ok(f, l4)
        out.append({'t': f.t, 'src_mac': f.src, 'dst_mac': f.dst,
                    'src': f.ip_src, 'dst': f.ip_dst, 'sport': sport,
                    'dport': dport, 'payload': l4[8:ulen] if ulen <= len(l4) else l4[8:],
                    'udp_csum_ok': ok and ulen == len(l4), 'ip_csum_ok': ipok,
                    'fragments': nfrag})
    return out


# ----------------------------------------------------------- notifications


def _plain_headers(block):
    hdrs = []
    for line in block.split('\n'):
        if line.endswith('\r'):
            line = line[:-1]
        if not line:
            continue
        k, sep, v = line.partition(':')
        if not sep:
            raise ValueError('plain: header line without colon: %r' % line)
        hdrs.append((k, urllib.parse.unquote(v.lstrip(' '), errors='strict')))
    return hdrs


def parse_notification(payload):
    """Decode a notification payload (bytes) in whichever of the three
    formats it is. Returns {format, name, subclass, attrs (dict, for
    jsonrpc the params), seq (int or None), body, raw}. Raises ValueError on
    anything malformed, so a test that parses every notification also
    checks that each one is well formed."""
    text = payload.decode('utf-8')
    res = {'raw': text, 'subclass': None, 'body': None, 'seq': None}
    if text.startswith('{'):
        o = json.loads(text)
        if not isinstance(o, dict):
            raise ValueError('not an object')
        if 'jsonrpc' in o:
            if o.get('jsonrpc') != '2.0' or not isinstance(o.get('method'), str):
                raise ValueError('bad JSON-RPC notification')
            if list(o.keys())[:2] != ['jsonrpc', 'method']:
                raise ValueError('JSON-RPC key order %r' % list(o.keys()))
            res.update(format='jsonrpc', name=o['method'],
                       attrs=o.get('params', {}))
            return res
        if not all(isinstance(v, str) for v in o.values()):
            raise ValueError('json notification with a non-string value')
        keys = list(o.keys())
        if not keys or keys[0] != 'Event-Name':
            raise ValueError('json: Event-Name is not first')
        seq = o.get('Event-Sequence')
        res.update(format='json', name=o['Event-Name'], attrs=o,
                   subclass=o.get('Event-Subclass'), body=o.get('_body'),
                   seq=int(seq) if seq is not None else None)
        return res
    # FreeSWITCH plain inside the ESL envelope.
    env, sep, rest = text.partition('\n\n')
    if not sep:
        raise ValueError('plain: no envelope')
    eh = dict(_plain_headers(env))
    if eh.get('Content-Type') != 'text/event-plain':
        raise ValueError('plain: envelope Content-Type %r' % eh.get('Content-Type'))
    n = int(eh['Content-Length'])
    ev = payload[len(env.encode()) + 2:]
    if len(ev) != n:
        raise ValueError('plain: envelope says %d bytes, %d present' % (n, len(ev)))
    ev = ev.decode('utf-8')
    block, sep, body = ev.partition('\n\n')
    hdrs = _plain_headers(block)
    attrs = {}
    for k, v in hdrs:
        attrs[k] = '' if v == '_undef_' else v
    if not hdrs or hdrs[0][0] != 'Event-Name':
        raise ValueError('plain: Event-Name is not first')
    if 'Content-Length' in attrs:
        bl = int(attrs.pop('Content-Length'))
        if len(body.encode()) != bl:
            raise ValueError('plain: body length')
        res['body'] = body
    elif body.strip('\n'):
        raise ValueError('plain: bytes after the header block')
    seq = attrs.get('Event-Sequence')
    res.update(format='plain', name=attrs['Event-Name'], attrs=attrs,
               subclass=attrs.get('Event-Subclass'),
               seq=int(seq) if seq is not None else None)
    return res


# ---------------------------------------------------------- event payloads


def jsonrpc_event(method, params=None, **extra):
    o = {'jsonrpc': '2.0', 'method': method}
    if params is not None:
        o['params'] = params
    o.update(extra)
    return json.dumps(o, separators=(',', ':')).encode()


def plain_event(headers, envelope=False, body=None):
    """FreeSWITCH text/event-plain: headers is a list of (name, value);
    values are URL-encoded. envelope=True wraps it in the ESL envelope."""
    ev = ''.join('%s: %s\n' % (k, urllib.parse.quote(str(v), safe=''))
                 for k, v in headers)
    if body is not None:
        ev += 'Content-Length: %d\n\n%s' % (len(body.encode()), body)
    else:
        ev += '\n'
    ev = ev.encode()
    if envelope:
        ev = b'Content-Length: %d\nContent-Type: text/event-plain\n\n' % len(ev) + ev
    return ev


def json_event(headers):
    return json.dumps(dict(headers), separators=(',', ':')).encode()


# ----------------------------------------------------------------- control


class Ctl:
    """Control socket client: one JSON-RPC request per line. call() is
    synchronous; pipeline() sends many requests and reads every answer."""

    def __init__(self, path, timeout=10.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b''
        self.next_id = 1

    def close(self):
        self.s.close()

    def send_raw(self, data):
        self.s.sendall(data)

    def read_line(self):
        while b'\n' not in self.buf:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise ConnectionError('control socket closed')
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b'\n')
        return json.loads(line)

    def call(self, method, params=None):
        req = {'jsonrpc': '2.0', 'id': self.next_id, 'method': method}
        self.next_id += 1
        if params is not None:
            req['params'] = params
        self.send_raw(json.dumps(req).encode() + b'\n')
        return self.read_line()

    def pipeline(self, reqs, window=512):
        """Send requests (dicts without id) keeping at most `window` in
        flight; return the responses in order."""
        out, sent, lines = [], 0, []
        for r in reqs:
            r = dict(r, jsonrpc='2.0', id=self.next_id)
            self.next_id += 1
            lines.append(json.dumps(r, separators=(',', ':')).encode() + b'\n')
        while len(out) < len(lines):
            if sent < len(lines) and sent - len(out) < window:
                k = min(len(lines), len(out) + window)
                self.send_raw(b''.join(lines[sent:k]))
                sent = k
            out.append(self.read_line())
        return out


# ------------------------------------------------------------ assertions


class Checker:
    """Assertions printed one per line as PASS:/FAIL:/PENDING:, the format
    lib.sh's py_checks counts into the test's summary."""

    def __init__(self):
        self.failed = 0
        self.passed = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
            print('PASS: %s' % what, flush=True)
        else:
            self.failed += 1
            print('FAIL: %s' % what, flush=True)
        return bool(cond)

    def eq(self, got, want, what):
        if got == want:
            return self.check(True, '%s (= %s)' % (what, _short(want)))
        return self.check(False, '%s: got %s, want %s' % (what, _short(got), _short(want)))

    def pending(self, what, why):
        print('PENDING: %s -- %s' % (what, why), flush=True)

    def rc(self):
        return 1 if self.failed else 0


def _short(v, n=200):
    s = v if isinstance(v, str) else json.dumps(v, default=str)
    return s if len(s) <= n else s[:n] + '...'


# --------------------------------------------------------------------- CLI


def parse_hostport(s):
    host, _, port = s.rpartition(':')
    return host.strip('[]'), int(port)


def unix_dgram_sink(path):
    """A unix: destination's receiver bound at path (any old socket file
    removed; 0666: evrd may run unprivileged)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)
    return s


def cmd_recv(a):
    socks = {}
    if a.unix:
        socks[unix_dgram_sink(a.unix)] = 'unix:' + a.unix
    for b in a.bind or []:
        host, port = parse_hostport(b)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        s.bind((host, port))
        socks[s] = '%s:%d' % (host, port)
    if a.ready:
        open(a.ready, 'w').close()
    deadline = time.monotonic() + a.timeout
    last = None
    n = 0
    with open(a.out, 'a') as out:
        while n < a.count:
            now = time.monotonic()
            left = deadline - now
            if a.idle and last is not None:
                left = min(left, last + a.idle - now)
            if left <= 0:
                break
            r, _, _ = select.select(list(socks), [], [], left)
            for s in r:
                data, src = s.recvfrom(70000)
                last = time.monotonic()
                n += 1
                if isinstance(src, tuple):
                    src = '%s:%d' % src
                out.write(json.dumps({'t': time.time(), 'dst': socks[s], 'src': src or '',
                                      'len': len(data),
                                      'b64': base64.b64encode(data).decode()}) + '\n')
            out.flush()
    for s in socks:
        s.close()
    if a.unix:
        os.unlink(a.unix)
    print('recv: %d datagram(s)' % n, file=sys.stderr)
    return 0


def load_records(path):
    recs = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    r['payload'] = base64.b64decode(r['b64'])
                    recs.append(r)
    return recs


def cmd_send(a):
    payloads = [p.encode() for p in a.payload or []]
    if a.file:
        with open(a.file) as f:
            for line in f:
                if line.strip():
                    v = json.loads(line)
                    payloads.append(v.encode('latin-1') if isinstance(v, str) else
                                    base64.b64decode(v['b64']))
    if len(payloads) * a.repeat > 1000000:
        print('send: refusing more than 1e6 datagrams', file=sys.stderr)
        return 2
    host, port = parse_hostport(a.to)
    s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.bind or '', a.sport or 0))
    gap = 1.0 / a.rate if a.rate else a.interval
    deadline = time.monotonic() + a.timeout
    n = 0
    t_next = time.monotonic()
    for _ in range(a.repeat):
        for p in payloads:
            if time.monotonic() > deadline:
                print('send: timeout after %d datagram(s)' % n, file=sys.stderr)
                return 1
            if gap:
                d = t_next - time.monotonic()
                if d > 0:
                    time.sleep(d)
                t_next += gap
            s.sendto(p, (host, port))
            n += 1
    print('send: %d datagram(s) to %s' % (n, a.to), file=sys.stderr)
    return 0


def cmd_flows(a):
    """Interleaved JSON-RPC event flows, one UDP socket (source port) per
    flow: event i of flow f is {"flow": f, "seq": i}. Paced at --rate."""
    lo, _, hi = a.sports.partition('-')
    sports = list(range(int(lo), int(hi or lo) + 1))
    if len(sports) * a.count > 1000000:
        print('flows: refusing more than 1e6 datagrams', file=sys.stderr)
        return 2
    host, port = parse_hostport(a.to)
    socks = []
    for p in sports:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a.bind or '', p))
        socks.append(s)
    gap = 1.0 / a.rate if a.rate else 0
    deadline = time.monotonic() + a.timeout
    t_next = time.monotonic()
    n = 0
    for i in range(a.count):
        for f, s in enumerate(socks):
            if time.monotonic() > deadline:
                print('flows: timeout after %d datagram(s)' % n, file=sys.stderr)
                return 1
            if gap:
                d = t_next - time.monotonic()
                if d > 0:
                    time.sleep(d)
                t_next += gap
            s.sendto(jsonrpc_event(a.event, {'flow': f, 'seq': i, 'sport': sports[f]}),
                     (host, port))
            n += 1
    print('flows: %d datagram(s) in %d flow(s) to %s' % (n, len(socks), a.to), file=sys.stderr)
    return 0


def frame_json(f):
    d = {'t': f.t, 'src_mac': f.src, 'dst_mac': f.dst, 'etype': f.etype,
         'len': len(f.raw)}
    if f.vlan is not None:
        d['vlan'] = f.vlan
    if f.arp:
        d['arp'] = f.arp
    if f.proto is not None and f.etype == ETH_IP4:
        d.update(proto=f.proto, src=f.ip_src, dst=f.ip_dst, ip_csum_ok=f.ip_csum_ok)
        if f.is_fragment():
            d['fragment'] = {'off': f.frag_off, 'mf': f.mf, 'id': f.ident}
        elif f.proto == 17 and len(f.l4) >= 8:
            dg = datagrams([f])[0]
            d.update(sport=dg['sport'], dport=dg['dport'],
                     udp_csum_ok=dg['udp_csum_ok'],
                     payload=dg['payload'].decode('utf-8', 'replace'))
        elif f.proto == 1 and len(f.l4) >= 8:
            d['icmp'] = {'type': f.l4[0], 'code': f.l4[1], 'csum_ok': csum(f.l4) == 0}
    return d


def cmd_pcap_dump(a):
    for f in parse_frames(a.file):
        print(json.dumps(frame_json(f)))
    return 0


def cmd_notes(a):
    for r in load_records(a.file):
        try:
            n = parse_notification(r['payload'])
            n.pop('raw')
        except (ValueError, KeyError, UnicodeDecodeError) as e:
            n = {'error': str(e), 'raw': r['payload'].decode('utf-8', 'replace')}
        n['t'], n['dst'], n['src'] = r['t'], r.get('dst'), r.get('src')
        print(json.dumps(n))
    return 0


def cmd_txcsum_off(a):
    """ethtool -K IFACE tx off without ethtool: SIOCETHTOOL with
    ETHTOOL_STXCSUM (0x17). The kernel keeps the legacy command."""
    SIOCETHTOOL, ETHTOOL_STXCSUM = 0x8946, 0x00000017
    val = ctypes.create_string_buffer(struct.pack('II', ETHTOOL_STXCSUM, 0))
    ifr = struct.pack('16sP', a.iface.encode(), ctypes.addressof(val))
    ifr += b'\0' * (40 - len(ifr))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifr)
    finally:
        s.close()
    return 0


def cmd_ping(a):
    """ICMP echo like `ping -c N`: exit 0 iff every request was answered
    (by the right source, ident and sequence, with a valid checksum)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = os.getpid() & 0xffff
    ok = 0
    for seq in range(1, a.count + 1):
        m = struct.pack('!BBHHH', 8, 0, 0, ident, seq) + b'evr-e2e-%d' % seq
        m = m[:2] + struct.pack('!H', csum(m)) + m[4:]
        t0 = time.monotonic()
        s.sendto(m, (a.host, 0))
        got = False
        while not got:
            left = a.timeout - (time.monotonic() - t0)
            if left <= 0:
                break
            r, _, _ = select.select([s], [], [], left)
            if not r:
                break
            data, src = s.recvfrom(2048)
            ihl = (data[0] & 15) * 4
            icmp = data[ihl:]
            if (src[0] == a.host and len(icmp) >= 8 and icmp[0] == 0 and
                    struct.unpack('!HH', icmp[4:8]) == (ident, seq) and csum(icmp) == 0):
                got = True
                print('%d bytes from %s: icmp_seq=%d time=%.2f ms' % (
                    len(icmp), src[0], seq, (time.monotonic() - t0) * 1000))
        ok += got
        if seq < a.count:
            time.sleep(a.interval)
    print('%d packets transmitted, %d received' % (a.count, ok))
    return 0 if ok == a.count else 1


def cmd_ctl(a):
    c = Ctl(a.socket, timeout=a.timeout)
    for line in sys.stdin:
        if not line.strip():
            continue
        c.send_raw(line.encode() if line.endswith('\n') else line.encode() + b'\n')
        if '"id"' in line:
            print(json.dumps(c.read_line()))
    c.close()
    return 0


def _selftest_ip6(M1, M2, frames):
    """IPv6 builders through Frame, udp_ok and reassemble (with some of
    cmd_selftest's IPv4 frames)."""
    errors = []
    S6, D6 = '2001:db8::2', '2001:db8::1'
    u = udp6(S6, 5060, D6, 8090, b'v6' * 900)
    fh = struct.pack('!BBHI', 17, 0, 1, 42)  # offset 0, more fragments
    parts = [ip6(S6, D6, 44, fh + u[40:1272]),
             ip6(S6, D6, 44, fh[:2] + struct.pack('!H', 1232) + fh[4:] + u[1272:])]
    fs = [Frame(eth(M1, M2, ETH_IP6, x)) for x in [u] + parts +
          [icmp6_echo(S6, D6), nd_ns(S6, M2, D6)[1]]]
    f = fs[0]
    if (f.proto, f.ip_src, f.ip_dst, f.is_fragment()) != (17, S6, D6, False):
        errors.append('Frame(udp6): %r' % ((f.proto, f.ip_src, f.ip_dst),))
    if not (fs[1].frag6 and fs[1].mf and fs[2].frag_off == 1232 and fs[2].ident == 42):
        errors.append('Frame: IPv6 fragment header')
    for f in fs[3:]:
        if csum(pseudo6(f.ip_src, f.ip_dst, 58, len(f.l4)) + f.l4) != 0:
            errors.append('ICMPv6 type %d: checksum' % f.l4[0])
    # frames[3]: UDP with a bad checksum; frames[-2:]: two IPv4 fragments
    whole = reassemble(fs + [Frame(x) for x in [frames[3]] + frames[-2:]])
    got = [(x.etype, len(l4), udp_ok(x, l4)) for x, l4 in whole if x.proto == 17]
    want = [(ETH_IP6, 1808, True), (ETH_IP4, 11, False), (ETH_IP6, 1808, True),
            (ETH_IP4, 3008, True)]
    if got != want:
        errors.append('reassemble/udp_ok: got %r want %r' % (got, want))
    return errors


def cmd_selftest(a):
    """Write frames of every builder, read them back, compare; with
    --tshark, also have tshark decode the file and agree on every field
    (including its checksum verdicts)."""
    import subprocess
    import tempfile
    M1, M2 = '02:00:00:00:00:01', '02:00:00:00:00:02'
    A1, A2 = '198.18.0.1', '198.18.0.2'
    pays = [b'{"jsonrpc":"2.0","method":"E_X","params":{"a":"1"}}', b'x' * 1000, b'']
    frames = [eth(M1, M2, ETH_IP4, udp4(A2, 5060 + i, A1, 8090, p)) for i, p in enumerate(pays)]
    frames.append(eth(M1, M2, ETH_IP4, udp4(A2, 1, A1, 2, b'bad', bad_csum=True)))
    frames.append(arp_request(M2, A2, A1))
    frames.append(eth(M1, M2, ETH_IP4, icmp4_echo(A2, A1)))
    big = udp4(A2, 7, A1, 8090, b'y' * 3000)[20:]
    frames.append(eth(M1, M2, ETH_IP4, ip4(A2, A1, 17, big[:1480], ident=9, frag=0x2000)))
    frames.append(eth(M1, M2, ETH_IP4, ip4(A2, A1, 17, big[1480:], ident=9, frag=185)))
    errors = []
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, 't.pcap')
        write_pcap(p, frames)
        back = read_pcap(p)
        if [f for _, f in back] != frames:
            errors.append('read_pcap != written frames')
        dg = datagrams([Frame(r, t) for t, r in back])
        want = [(5060 + i, 8090, x, True) for i, x in enumerate(pays)] + \
            [(1, 2, b'bad', False), (7, 8090, b'y' * 3000, True)]
        got = [(x['sport'], x['dport'], x['payload'], x['udp_csum_ok']) for x in dg]
        if got != want:
            errors.append('datagrams: %r' % [(g[0], g[1], len(g[2]), g[3]) for g in got])
        if a.tshark:
            out = subprocess.run(
                ['tshark', '-r', p, '-o', 'udp.check_checksum:TRUE',
                 '-o', 'ip.check_checksum:TRUE', '-T', 'fields', '-E', 'separator=|',
                 '-e', 'frame.number', '-e', 'udp.srcport', '-e', 'udp.dstport',
                 '-e', 'udp.checksum.status', '-e', 'ip.checksum.status',
                 '-e', 'arp.opcode', '-e', 'icmp.type', '-e', 'icmp.checksum.status',
                 '-e', 'udp.length'],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            if out.returncode != 0:
                errors.append('tshark failed: %s' % out.stderr.decode()[-300:])
            rows = [r.split('|') for r in out.stdout.decode().splitlines()]
            # checksum.status (tshark 4.0 enum): 1 = good, 0 = bad
            G, B = '1', '0'
            exp = [['1', '5060', '8090', G, G, '', '', '', str(8 + len(pays[0]))],
                   ['2', '5061', '8090', G, G, '', '', '', '1008'],
                   ['3', '5062', '8090', G, G, '', '', '', '8'],
                   ['4', '1', '2', B, G, '', '', '', '11'],
                   ['5', '', '', '', '', '1', '', '', ''],
                   ['6', '', '', '', G, '', '8', G, ''],
                   ['7', '', '', '', G, '', '', '', ''],
                   ['8', '7', '8090', G, G, '', '', '', '3008']]
            if len(rows) != len(exp):
                errors.append('tshark rows %d != %d' % (len(rows), len(exp)))
            for r, e in zip(rows, exp):
                if r != e:
                    errors.append('tshark frame %s: got %r want %r' % (e[0], r, e))
    errors += _selftest_ip6(M1, M2, frames)
    for n in [jsonrpc_event('E_A', {'k': 'v'}),
              plain_event([('Event-Name', 'E_A'), ('k', 'v w'), ('Event-Sequence', 5)],
                          envelope=True, body='hi'),
              b'{"Event-Name":"E_A","k":"v","Event-Sequence":"7"}']:
        try:
            parse_notification(n)
        except Exception as e:  # noqa: BLE001 (report anything)
            errors.append('parse_notification(%r): %s' % (n[:40], e))
    for e in errors:
        print('FAIL: selftest: %s' % e)
    if not errors:
        print('PASS: selftest: %d frames of every builder round-tripped through '
              'write_pcap/read_pcap/datagrams (fragments, checksum verdicts), '
              'notification parser ok%s' % (len(frames), ', tshark agrees' if a.tshark else ''))
    return 1 if errors else 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('recv')
    p.add_argument('--bind', action='append', help='IP:PORT, repeatable')
    p.add_argument('--unix')
    p.add_argument('--count', type=int, default=1000)
    p.add_argument('--timeout', type=float, default=10)
    p.add_argument('--idle', type=float, default=0)
    p.add_argument('--out', required=True)
    p.add_argument('--ready')
    p = sub.add_parser('send')
    p.add_argument('--to', required=True)
    p.add_argument('--bind')
    p.add_argument('--sport', type=int)
    p.add_argument('--payload', action='append')
    p.add_argument('--file')
    p.add_argument('--repeat', type=int, default=1)
    p.add_argument('--interval', type=float, default=0)
    p.add_argument('--rate', type=float, default=0)
    p.add_argument('--timeout', type=float, default=30)
    p = sub.add_parser('flows')
    p.add_argument('--to', required=True)
    p.add_argument('--bind')
    p.add_argument('--sports', required=True, help='FIRST-LAST source ports')
    p.add_argument('--count', type=int, required=True, help='events per flow')
    p.add_argument('--event', default='E_FLOW')
    p.add_argument('--rate', type=float, default=0)
    p.add_argument('--timeout', type=float, default=60)
    p = sub.add_parser('pcap-dump')
    p.add_argument('file')
    p = sub.add_parser('notes')
    p.add_argument('file')
    p = sub.add_parser('txcsum-off')
    p.add_argument('iface')
    p = sub.add_parser('ping')
    p.add_argument('host')
    p.add_argument('--count', type=int, default=3)
    p.add_argument('--timeout', type=float, default=1)
    p.add_argument('--interval', type=float, default=0.2)
    p = sub.add_parser('ctl')
    p.add_argument('socket')
    p.add_argument('--timeout', type=float, default=10)
    p = sub.add_parser('selftest')
    p.add_argument('--tshark', action='store_true')
    a = ap.parse_args(argv)
    if a.cmd == 'recv' and not a.bind and not a.unix:
        ap.error('recv: --bind and/or --unix')
    return {'recv': cmd_recv, 'send': cmd_send, 'flows': cmd_flows, 'pcap-dump': cmd_pcap_dump,
            'notes': cmd_notes, 'txcsum-off': cmd_txcsum_off, 'ping': cmd_ping,
            'ctl': cmd_ctl, 'selftest': cmd_selftest}[a.cmd](a)


if __name__ == '__main__':
    sys.exit(main())
