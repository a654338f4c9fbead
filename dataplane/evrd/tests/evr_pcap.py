# SPDX-License-Identifier: Apache-2.0
"""Tiny pcap writer/reader and frame builders for evrd tests.

Standard library only (struct), so CI needs no scapy. Builds Ethernet,
ARP, IPv4/IPv6, UDP, ICMP/ICMPv6 (echo, neighbour solicitation) with
correct checksums, and parses what evrd sends back (including IPv4/IPv6
fragment reassembly).
"""
import ipaddress
import struct

ETH_IP4, ETH_ARP, ETH_IP6, ETH_VLAN = 0x0800, 0x0806, 0x86DD, 0x8100


def mac_b(s):
    return bytes(int(x, 16) for x in s.split(':'))


def mac_s(b):
    return ':'.join('%02x' % x for x in b)


def ip4_b(s):
    return ipaddress.IPv4Address(s).packed


def ip6_b(s):
    return ipaddress.IPv6Address(s).packed


def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def eth(dst, src, etype, payload, vlan=None):
    hdr = mac_b(dst) + mac_b(src)
    if vlan is not None:
        hdr += struct.pack('!HH', ETH_VLAN, vlan)
    return hdr + struct.pack('!H', etype) + payload


def arp_request(src_mac, src_ip, target_ip):
    body = struct.pack('!HHBBH', 1, ETH_IP4, 6, 4, 1) + mac_b(src_mac) + \
        ip4_b(src_ip) + b'\0' * 6 + ip4_b(target_ip)
    return eth('ff:ff:ff:ff:ff:ff', src_mac, ETH_ARP, body)


def arp_reply(src_mac, src_ip, dst_mac, dst_ip):
    body = struct.pack('!HHBBH', 1, ETH_IP4, 6, 4, 2) + mac_b(src_mac) + \
        ip4_b(src_ip) + mac_b(dst_mac) + ip4_b(dst_ip)
    return eth(dst_mac, src_mac, ETH_ARP, body)


def ip4(src, dst, proto, payload, ident=1, frag=0, bad_csum=False):
    hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), ident, frag,
                      64, proto, 0, ip4_b(src), ip4_b(dst))
    c = csum(hdr)
    if bad_csum:
        c ^= 0x5555
    return hdr[:10] + struct.pack('!H', c) + hdr[12:] + payload


def udp4(src, sport, dst, dport, payload, bad_csum=False, no_csum=False):
    u = struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload
    ph = ip4_b(src) + ip4_b(dst) + struct.pack('!BBH', 0, 17, len(u))
    c = 0 if no_csum else (csum(ph + u) or 0xffff)
    if bad_csum:
        c ^= 0x0f0f
    return ip4(src, dst, 17, u[:6] + struct.pack('!H', c) + u[8:])


def icmp4_echo(src, dst, ident=7, seq=1, data=b'evrd-ping'):
    m = struct.pack('!BBHHH', 8, 0, 0, ident, seq) + data
    m = m[:2] + struct.pack('!H', csum(m)) + m[4:]
    return ip4(src, dst, 1, m)


def ip6(src, dst, nh, payload, hop=64):
    return struct.pack('!IHBB', 6 << 28, len(payload), nh, hop) + ip6_b(src) + \
        ip6_b(dst) + payload


def l4sum6(src, dst, nh, l4):
    ph = ip6_b(src) + ip6_b(dst) + struct.pack('!IxxxB', len(l4), nh)
    return csum(ph + l4) or 0xffff


def udp6(src, sport, dst, dport, payload):
    u = struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload
    c = l4sum6(src, dst, 17, u)
    return ip6(src, dst, 17, u[:6] + struct.pack('!H', c) + u[8:])


def icmp6_echo(src, dst, ident=9, seq=1, data=b'evrd-ping6'):
    m = struct.pack('!BBHHH', 128, 0, 0, ident, seq) + data
    c = l4sum6(src, dst, 58, m)
    return ip6(src, dst, 58, m[:2] + struct.pack('!H', c) + m[4:])


def nd_ns(src, src_mac, target):
    t = ip6_b(target)
    dst = str(ipaddress.IPv6Address(b'\xff\x02' + b'\0' * 9 + b'\x01\xff' + t[13:]))
    m = struct.pack('!BBHI', 135, 0, 0, 0) + t + bytes([1, 1]) + mac_b(src_mac)
    c = l4sum6(src, dst, 58, m)
    dmac = '33:33:' + ':'.join('%02x' % x for x in ipaddress.IPv6Address(dst).packed[12:])
    return dmac, ip6(src, dst, 58, m[:2] + struct.pack('!H', c) + m[4:], hop=255)


def write_pcap(path, frames):
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack('<IIII', 1700000000, i, len(fr), len(fr)))
            f.write(fr)


def read_pcap(path):
    data = open(path, 'rb').read()
    magic = struct.unpack('<I', data[:4])[0]
    endian = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    off, out = 24, []
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + 'IIII', data[off:off + 16])
        out.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return out


class Frame:
    """Parsed frame: dst, src, etype, and l3/l4 fields as found."""

    def __init__(self, raw):
        self.raw = raw
        self.dst, self.src = mac_s(raw[0:6]), mac_s(raw[6:12])
        self.etype = struct.unpack('!H', raw[12:14])[0]
        self.l3 = raw[14:]
        self.proto = None
        if self.etype == ETH_IP4:
            ihl = (self.l3[0] & 15) * 4
            tot, self.ident, fo = struct.unpack('!HHH', self.l3[2:8])
            self.proto = self.l3[9]
            self.ip_src = str(ipaddress.IPv4Address(self.l3[12:16]))
            self.ip_dst = str(ipaddress.IPv4Address(self.l3[16:20]))
            self.ip_csum_ok = csum(self.l3[:ihl]) == 0
            self.mf = bool(fo & 0x2000)
            self.frag_off = (fo & 0x1fff) * 8
            self.l4 = self.l3[ihl:tot]
        elif self.etype == ETH_IP6:
            plen = struct.unpack('!H', self.l3[4:6])[0]
            self.proto = self.l3[6]
            self.ip_src = str(ipaddress.IPv6Address(self.l3[8:24]))
            self.ip_dst = str(ipaddress.IPv6Address(self.l3[24:40]))
            self.l4 = self.l3[40:40 + plen]
            self.mf, self.frag_off = False, 0
            if self.proto == 44:  # fragment header
                nh, _, fo, self.ident = struct.unpack('!BBHI', self.l4[:8])
                self.proto, self.mf, self.frag_off = nh, bool(fo & 1), fo & 0xfff8
                self.l4 = self.l4[8:]
                self.frag6 = True

    def is_fragment(self):
        return self.proto is not None and (self.mf or self.frag_off)


def reassemble(frames):
    """Group IP fragments; return list of (first Frame, full l4 bytes)."""
    whole, parts = [], {}
    for f in frames:
        if f.proto is None:
            continue
        if f.is_fragment():
            parts.setdefault((f.ip_src, f.ip_dst, f.ident), []).append(f)
        else:
            whole.append((f, f.l4))
    for key, fs in parts.items():
        fs.sort(key=lambda x: x.frag_off)
        data = b''
        for x in fs:
            if x.frag_off != len(data):
                break
            data += x.l4
        else:
            if not fs[-1].mf:
                whole.append((fs[0], data))
    return whole


def udp_ok(f, l4):
    """Verify the UDP checksum of a (reassembled) datagram."""
    if f.etype == ETH_IP4:
        if struct.unpack('!H', l4[6:8])[0] == 0:
            return True
        ph = ip4_b(f.ip_src) + ip4_b(f.ip_dst) + struct.pack('!BBH', 0, 17, len(l4))
    else:
        ph = ip6_b(f.ip_src) + ip6_b(f.ip_dst) + struct.pack('!IxxxB', len(l4), 17)
    return csum(ph + l4) == 0
