#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Frames and expectations for reasm_e2e.sh (evrd on net_pcap): IP
reassembly of events of any size (issue 8 items 1 and 9).

  reasm_e2e.py gen DIR PREFIX     DIR/in.pcap, DIR/evrd.conf, DIR/expect.json
  reasm_e2e.py check DIR STATS    assert out.pcap and the stats snapshot
  reasm_e2e.py gen-tx DIR PREFIX  second run: port mtu 9000 on net_pcap
  reasm_e2e.py check-tx DIR STATS (no multi-segment TX): its out.pcap

in.pcap carries events of 1.5, 3, 9, 30 and 65 KB (UDP payload), each
fragmented at MTU 1500 and at MTU 576 (up to 119 fragments), over IPv4 and
IPv6, as JSON-RPC and as FreeSWITCH plain; fragments in order, last first,
reversed or shuffled, one sent twice (an exact duplicate). Interleaved with
the MTU 1500 ones (sent after all MTU 576 ones), a fragment storm: first
fragments of datagrams that never complete (from an attacker's address),
40 before every event and one after every 3rd fragment of an event. The table is small (limits.reassembly_flows 16,
reassembly_fragments 256) so the storm fills it many times over.

Then, unfragmented jumbo frames: events of 8,900 and 9,000 bytes (frames
of 8,942 to 9,062 bytes, larger than one 2,048-byte mbuf: DPDK 22.11's
net_pcap delivers them as a chain without advertising scatter; issue 8
item 1) over IPv4 and IPv6, JSON-RPC and plain; an 8,000-byte ICMP and
ICMPv6 echo request in one frame each (parsed and checksummed across the
chain; the reply would exceed the port's MTU 1500: icmp_echo_too_big, not
rx_bad_icmp); a 1,400-byte ICMP and ICMPv6 echo fragmented at 576
(reassembled into a chain, answered from it in one frame).

Asserts: every event's notification, exact content (JSON-RPC params equal
to the input's; plain: every input header with its value, in order) and
nothing else; both reassembled echoes answered in out.pcap (source and
destination swapped, same identifier, sequence and data, valid checksum);
every counter of the reassembly exactly as a model of the
table predicts (rx_fragments, rx_reassembled, rx_frag_evicted = the storm
fragments evicted, rx_frag_duplicate, rx_frag_dropped, no invalid, no
timeout, no rx_bad_ip_header, rx_truncated, rx_bad_icmp).
"""
import json
import os
import random
import struct
import sys
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evr_e2e as E  # noqa: E402

US_MAC, US, US6 = '02:00:00:00:00:01', '198.18.0.1', '2001:db8:18::1'
PLAT_MAC, PLAT, PLAT6 = '02:00:00:00:00:0a', '198.18.0.10', '2001:db8:18::10'
EVIL, EVIL6 = '198.18.0.66', '2001:db8:18::66'
SUB_MAC, SUB = '02:00:00:00:00:02', '198.18.0.2'
L_RPC, L_PLAIN = 8090, 8021
P_RPC, P_PLAIN = 9001, 9002
FLOWS, FRAGS = 16, 256

SIZES = [1500, 3000, 9000, 30000, 65000]
MTUS = [1500, 576]
JUMBO_SIZES = [8900, 9000]  # UDP payload, one frame each (past the port MTU: a pcap can)
JUMBO_ECHO = bytes(range(256)) * 31 + bytes(64)  # 8,000 bytes, not all one value
FRAG_ECHO = bytes(range(256)) * 5 + bytes(120)  # 1,400 bytes, fragmented at 576

CONFIG = """
eal = {{ lcores = "0-1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "{prefix}";
        vdevs = [ "net_pcap0,rx_pcap={d}/in.pcap,tx_pcap={d}/out.pcap" ]; }};
ports = ( {{ name = "p0"; device = "net_pcap0"; mac = "{us_mac}"; ipv4 = "{us}/24";
            ipv6 = "{us6}/64";
            neighbours = ( {{ ip = "{sub}"; mac = "{sub_mac}"; }} ); }} );
workers = {{ count = 1; idle_sleep_us = 100; }};
listeners = ( {{ port = {l_rpc}; format = "jsonrpc"; }}, {{ port = {l_plain}; format = "plain"; }} );
control = {{ socket = "{d}/evrd.sock"; }};
rings = {{ rx_pool = 2048; payload_pool = 2048; hdr_pool = 4096; indirect_pool = 2048; }};
limits = {{ max_value_len = 65507; reassembly_flows = {flows}; reassembly_fragments = {frags};
           reassembly_timeout_ms = 60000; }};
subscriptions = (
{subs}
);
"""


def sized(make, target):
    """make(n) -> payload with an n-byte pad; the payload of exactly target
    bytes (the pad is plain ASCII, encoded as is in both formats)."""
    p = make(0)
    p = make(target - len(p))
    assert len(p) == target, (len(p), target)
    return p


def big_event(n, fmt, size, tag, pads, attrs_extra, hdrs_extra):
    """One event of exactly size bytes, padded with pads[0] (JSON-RPC) or
    pads[1] (plain): (name, attrs the notification must carry, payload,
    listener port)."""
    if fmt == 'jsonrpc':
        name = 'E_%s_%d' % (tag, n)
        attrs = dict({'n': n, 'size': size}, **attrs_extra)
        pl = sized(lambda k: E.jsonrpc_event(name, dict(attrs, pad=pads[0] * max(k, 0))), size)
        attrs['pad'] = json.loads(pl)['params']['pad']
        return name, attrs, pl, L_RPC
    name = '%s_%d' % (tag, n)
    hdrs = [('Event-Name', name), ('Unique-ID', 'u-%d' % n), ('Size', str(size))] + hdrs_extra
    pl = sized(lambda k: E.plain_event(hdrs + [('Pad', pads[1] * max(k, 0))]), size)
    attrs = OrderedDict(hdrs + [('Pad', pads[1] * (size - len(E.plain_event(
        hdrs + [('Pad', '')]))))])
    return name, attrs, pl, L_PLAIN


def fragments(v6, payload, dport, ident, mtu, src, dst, l4=None, proto=17):
    """IP packets (no Ethernet) of one UDP datagram (or of the upper-layer
    message l4 of protocol proto) fragmented for mtu: [(offset, packet)]."""
    if v6:
        u = l4 if l4 is not None else E.udp6(src, 5060, dst, dport, payload)[40:]
        step = (mtu - 40 - 8) // 8 * 8
    else:
        u = l4 if l4 is not None else E.udp4(src, 5060, dst, dport, payload)[20:]
        step = (mtu - 20) // 8 * 8
    out = []
    for off in range(0, len(u), step):
        piece = u[off:off + step]
        more = off + step < len(u)
        if v6:
            fh = struct.pack('!BBHI', proto, 0, off | (1 if more else 0), ident)
            out.append((off, E.ip6(src, dst, 44, fh + piece)))
        else:
            out.append((off, E.ip4(src, dst, proto, piece, ident=ident,
                                   frag=(off // 8) | (0x2000 if more else 0))))
    return out


class Model:
    """The reassembly table as evr_reasm.c keeps it, for one worker: open
    datagrams in creation order; a new one when flows are full, or a
    fragment when fragments are full, evicts the oldest (not the one the
    fragment belongs to). Counts what it predicts."""

    def __init__(self):
        self.open = OrderedDict()   # key -> set of offsets held
        self.held = 0
        self.c = {'rx_fragments': 0, 'rx_reassembled': 0, 'rx_frag_evicted': 0,
                  'rx_frag_duplicate': 0}
        self.legit_evicted = 0

    def evict(self, key):
        n = len(self.open.pop(key))
        self.held -= n
        self.c['rx_frag_evicted'] += n
        if not key[0].startswith('evil'):
            self.legit_evicted += 1

    def add(self, key, off, last_piece, nfrag):
        self.c['rx_fragments'] += 1
        if key not in self.open:
            if len(self.open) >= FLOWS:
                self.evict(next(iter(self.open)))
            self.open[key] = set()
        if off in self.open[key]:
            self.c['rx_frag_duplicate'] += 1
            return
        while self.held >= FRAGS:
            old = next(k for k in self.open if k != key)
            self.evict(old)
        self.open[key].add(off)
        self.held += 1
        if len(self.open[key]) == nfrag:
            self.held -= nfrag
            del self.open[key]
            self.c['rx_reassembled'] += 1


def build():
    rnd = random.Random(8)
    frames, expect = [], []
    m = Model()
    evil_id = [0]

    def storm(n):
        for _ in range(n):
            i = evil_id[0]
            evil_id[0] += 1
            v6 = i % 2 == 1
            src, dst = (EVIL6, US6) if v6 else (EVIL, US)
            u = b'\0' * 1024
            if v6:
                fh = struct.pack('!BBHI', 17, 0, 1, 0x10000 + i)
                pkt = E.ip6(src, dst, 44, fh + u)
            else:
                pkt = E.ip4(src, dst, 17, u, ident=i & 0xffff, frag=0x2000)
            frames.append(E.eth(US_MAC, PLAT_MAC, E.ETH_IP6 if v6 else E.ETH_IP4, pkt))
            m.add(('evil', v6, i), 0, False, 2)

    n = 0
    # MTU 576 first, without a storm: the count of fragments alone is
    # tested (librte_ip_frag stopped at 8); then MTU 1500 under the storm.
    for mtu in MTUS[::-1]:
        stormy = mtu == 1500
        for size in SIZES:
            for v6 in (False, True):
                for fmt in ('jsonrpc', 'plain'):
                    n += 1
                    name, attrs, pl, dport = big_event(
                        n, fmt, size, 'BIG', 'pq', {'mtu': mtu, 'v6': 'yes' if v6 else 'no'},
                        [('MTU', str(mtu))])
                    src, dst = (PLAT6, US6) if v6 else (PLAT, US)
                    fr = fragments(v6, pl, dport, 1000 + n, mtu, src, dst)
                    order = list(range(len(fr)))
                    mode = n % 4
                    if mode == 1:
                        order = order[-1:] + order[:-1]
                    elif mode == 2:
                        order.reverse()
                    elif mode == 3:
                        rnd.shuffle(order)
                    # an exact duplicate, before the datagram completes
                    order.insert(len(order) // 2, order[len(order) // 2 - 1])
                    storm(40 if stormy else 0)
                    for j, i in enumerate(order):
                        off, pkt = fr[i]
                        frames.append(E.eth(US_MAC, PLAT_MAC, E.ETH_IP6 if v6 else E.ETH_IP4, pkt))
                        m.add(('legit', v6, n), off, i == len(fr) - 1, len(fr))
                        if stormy and j % 3 == 2:
                            storm(1)
                    expect.append({'name': name, 'fmt': fmt, 'attrs': attrs,
                                   'port': P_RPC if fmt == 'jsonrpc' else P_PLAIN,
                                   'size': size, 'mtu': mtu, 'v6': v6, 'frags': len(fr)})
    # Unfragmented jumbo frames: no fragment, no table; one chain each.
    for size in JUMBO_SIZES:
        for v6 in (False, True):
            for fmt in ('jsonrpc', 'plain'):
                n += 1
                name, attrs, pl, dport = big_event(n, fmt, size, 'JUMBO', 'jk',
                                                   {'v6': 'yes' if v6 else 'no'}, [])
                if v6:
                    pkt = E.udp6(PLAT6, 5060, US6, dport, pl)
                else:
                    pkt = E.udp4(PLAT, 5060, US, dport, pl)
                frames.append(E.eth(US_MAC, PLAT_MAC, E.ETH_IP6 if v6 else E.ETH_IP4, pkt))
                expect.append({'name': name, 'fmt': fmt, 'attrs': attrs,
                               'port': P_RPC if fmt == 'jsonrpc' else P_PLAIN,
                               'size': size, 'mtu': 0, 'v6': v6, 'frags': 1})
    frames.append(E.eth(US_MAC, PLAT_MAC, E.ETH_IP4,
                        E.icmp4_echo(PLAT, US, ident=31, seq=32, data=JUMBO_ECHO)))
    frames.append(E.eth(US_MAC, PLAT_MAC, E.ETH_IP6,
                        E.icmp6_echo(PLAT6, US6, ident=51, seq=52, data=JUMBO_ECHO)))
    # Echo requests fragmented at 576: a reassembled chain, answered.
    for v6, ident in ((False, 41), (True, 61)):
        src, dst = (PLAT6, US6) if v6 else (PLAT, US)
        pkt = (E.icmp6_echo if v6 else E.icmp4_echo)(src, dst, ident=ident, seq=ident + 1,
                                                     data=FRAG_ECHO)
        fr = fragments(v6, None, 0, 5000 + ident, 576, src, dst,
                       l4=pkt[40:] if v6 else pkt[20:], proto=58 if v6 else 1)
        for i, (off, p) in enumerate(fr):
            frames.append(E.eth(US_MAC, PLAT_MAC, E.ETH_IP6 if v6 else E.ETH_IP4, p))
            m.add(('echo', v6, ident), off, i == len(fr) - 1, len(fr))
    cnt = dict(m.c)
    cnt['jumbo_events'] = 4 * len(JUMBO_SIZES)
    cnt['icmp_echo_replies'] = cnt['icmp6_echo_replies'] = 1
    cnt['icmp_echo_too_big'] = 2
    cnt['rx_frag_dropped'] = cnt['rx_frag_evicted'] + cnt['rx_frag_duplicate']
    cnt['rx_packets'] = len(frames)
    cnt['notifications'] = len(expect)
    cnt['storm_fragments'] = evil_id[0]
    cnt['storm_held_at_end'] = sum(1 for k in m.open if k[0] == 'evil')
    assert m.legit_evicted == 0, 'the test pattern itself would evict a legitimate datagram'
    assert cnt['rx_reassembled'] == len(expect) - cnt['jumbo_events'] + 2  # + 2 echoes
    return frames, expect, cnt


def gen(d, prefix):
    frames, expect, cnt = build()
    E.write_pcap(os.path.join(d, 'in.pcap'), frames)
    with open(os.path.join(d, 'evrd.conf'), 'w') as f:
        f.write(CONFIG.format(d=d, prefix=prefix, us_mac=US_MAC, us=US, us6=US6, sub=SUB,
                              sub_mac=SUB_MAC, l_rpc=L_RPC, l_plain=L_PLAIN, p_rpc=P_RPC,
                              p_plain=P_PLAIN, flows=FLOWS, frags=FRAGS,
                              subs=',\n'.join(
                                  '  { event = "%s"; socket = "udp:%s:%d"; format = "%s"; }'
                                  % (e['name'], SUB, e['port'], e['fmt']) for e in expect)))
    with open(os.path.join(d, 'expect.json'), 'w') as f:
        json.dump({'expect': expect, 'counters': cnt, 'frames': len(frames)}, f)
    print('gen: %d frames, %d events (largest %d fragments), %d storm fragments' % (
        len(frames), len(expect), max(e['frags'] for e in expect), cnt['storm_fragments']))
    return 0


def check(d, stats_path):
    c = E.Checker()
    ex = json.load(open(os.path.join(d, 'expect.json')))
    expect, want = ex['expect'], ex['counters']
    tot = json.load(open(stats_path))['dataplane']['totals']
    frames = E.parse_frames(os.path.join(d, 'out.pcap'))
    got = {}
    bad = []
    for f, l4 in E.reassemble(frames):
        if f.proto != 17:
            continue
        if not E.udp_ok(f, l4):
            bad.append('checksum')
        dport = struct.unpack('!H', l4[2:4])[0]
        try:
            note = E.parse_notification(l4[8:])
        except (ValueError, KeyError, UnicodeDecodeError) as e:
            bad.append(str(e))
            continue
        got.setdefault(note['name'], []).append((f.ip_dst, dport, note))
    c.eq(bad, [], 'every notification in out.pcap parses, UDP checksum valid')
    for e in expect:
        what = '%s (%d bytes, %s, IPv%d, %d fragments, %s)' % (
            e['name'], e['size'], 'MTU %d' % e['mtu'] if e['mtu'] else 'one jumbo frame',
            6 if e['v6'] else 4, e['frags'], e['fmt'])
        g = got.pop(e['name'], [])
        if not c.eq(len(g), 1, what + ': one notification'):
            continue
        dst, dport, note = g[0]
        c.eq((dst, dport, note['format']), (SUB, e['port'], e['fmt']),
             what + ': destination and format')
        if e['fmt'] == 'jsonrpc':
            c.check(note['attrs'] == e['attrs'], what + ': params equal the input event\'s')
        else:
            keys = [k for k in note['attrs'] if k in e['attrs']]
            c.check(keys == list(e['attrs']) and
                    all(note['attrs'][k] == v for k, v in e['attrs'].items()),
                    what + ': every input header, in order, with its value')
    c.eq(sorted(got), [], 'no other notification')
    echo = {}
    for f in frames:
        if f.proto == 1 and f.l4[:1] == b'\0':
            echo['v4'] = (f.ip_src, f.ip_dst, f.l4, E.csum(f.l4) == 0)
        elif f.proto == 58 and f.l4[:1] == b'\x81':
            echo['v6'] = (f.ip_src, f.ip_dst, f.l4,
                          E.csum(E.pseudo6(f.ip_src, f.ip_dst, 58, len(f.l4)) + f.l4) == 0)
    for k, src, dst, ident, seq in (('v4', US, PLAT, 41, 42), ('v6', US6, PLAT6, 61, 62)):
        what = '1,400-byte ICMP%s echo fragmented at 576' % ('v6' if k == 'v6' else '')
        if not c.check(k in echo, what + ': reply in out.pcap'):
            continue
        s, d, l4, ok = echo[k]
        c.eq((s, d), (src, dst), what + ': reply from us to the requester')
        c.eq(struct.unpack('!HH', l4[4:8]), (ident, seq), what + ': identifier and sequence')
        c.check(l4[8:] == FRAG_ECHO, what + ': data returned whole (%d bytes)' % len(l4[8:]))
        c.check(ok, what + ': reply checksum valid')
    for k in ('rx_fragments', 'rx_reassembled', 'rx_frag_evicted', 'rx_frag_duplicate',
              'rx_frag_dropped', 'rx_packets', 'notifications', 'icmp_echo_replies',
              'icmp6_echo_replies', 'icmp_echo_too_big'):
        c.eq(tot.get(k), want[k], 'counter %s (the table model predicts it)' % k)
    for k in ('rx_frag_invalid', 'rx_frag_timeout', 'rx_frag_off', 'rx_bad_ip_header',
              'rx_truncated', 'rx_bad_icmp', 'pool_empty', 'tx_linearize_failed'):
        c.eq(tot.get(k, 0), 0, 'counter %s' % k)
    c.check(want['rx_frag_evicted'] + want['storm_held_at_end'] == want['storm_fragments'],
            'every storm fragment evicted but the %d still held at the end (%d evicted)'
            % (want['storm_held_at_end'], want['rx_frag_evicted']))
    return c.rc()


TX_SIZES = [8900, 30000]


def gen_tx(d, prefix):
    """net_pcap offers no multi-segment TX: with mtu 9000 evrd must
    fragment at what one payload mbuf holds, not lose every notification
    over ~2 KB (tx_linearize_failed). One event per size, IPv4, in one
    frame (8,900) or fragmented at 1500 (30,000)."""
    frames, expect = [], []
    for n, size in enumerate(TX_SIZES, 1):
        name, attrs, pl, dport = big_event(n, 'jsonrpc', size, 'TX', 'tt', {}, [])
        if size + 28 <= 9000:
            frames.append(E.eth(US_MAC, PLAT_MAC, E.ETH_IP4, E.udp4(PLAT, 5060, US, dport, pl)))
        else:
            for _, pkt in fragments(False, pl, dport, 900 + n, 1500, PLAT, US):
                frames.append(E.eth(US_MAC, PLAT_MAC, E.ETH_IP4, pkt))
        expect.append({'name': name, 'attrs': attrs})
    E.write_pcap(os.path.join(d, 'in.pcap'), frames)
    conf = CONFIG.replace('ipv6 = "{us6}/64";', 'ipv6 = "{us6}/64"; mtu = 9000;')
    with open(os.path.join(d, 'evrd.conf'), 'w') as f:
        f.write(conf.format(d=d, prefix=prefix, us_mac=US_MAC, us=US, us6=US6, sub=SUB,
                            sub_mac=SUB_MAC, l_rpc=L_RPC, l_plain=L_PLAIN, flows=FLOWS,
                            frags=FRAGS, subs=',\n'.join(
                                '  { event = "%s"; socket = "udp:%s:%d"; format = "jsonrpc"; }'
                                % (e['name'], SUB, P_RPC) for e in expect)))
    with open(os.path.join(d, 'expect.json'), 'w') as f:
        json.dump({'expect': expect, 'frames': len(frames)}, f)
    return 0


def check_tx(d, stats_path):
    c = E.Checker()
    ex = json.load(open(os.path.join(d, 'expect.json')))
    tot = json.load(open(stats_path))['dataplane']['totals']
    frames = E.parse_frames(os.path.join(d, 'out.pcap'))
    c.check(frames and max(len(f.raw) for f in frames) <= 2048,
            'every frame in out.pcap fits one 2,048-byte mbuf (longest %d)'
            % max([len(f.raw) for f in frames] or [0]))
    got = {}
    for f, l4 in E.reassemble(frames):
        if f.proto == 17:
            note = E.parse_notification(l4[8:])
            got.setdefault(note['name'], []).append(note)
    for e in ex['expect']:
        g = got.get(e['name'], [])
        if c.eq(len(g), 1, '%s: one notification' % e['name']):
            c.check(g[0]['attrs'] == e['attrs'], '%s: params equal the input event\'s'
                    % e['name'])
    for k in ('tx_linearize_failed', 'frag_failed', 'rx_truncated', 'pool_empty'):
        c.eq(tot.get(k, 0), 0, 'counter %s' % k)
    c.eq(tot.get('notifications'), len(ex['expect']), 'counter notifications')
    return c.rc()


def main():
    if sys.argv[1] == 'gen':
        return gen(sys.argv[2], sys.argv[3])
    if sys.argv[1] == 'gen-tx':
        return gen_tx(sys.argv[2], sys.argv[3])
    if sys.argv[1] == 'check-tx':
        return check_tx(sys.argv[2], sys.argv[3])
    return check(sys.argv[2], sys.argv[3])


if __name__ == '__main__':
    sys.exit(main())
