#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Frames and expectations for pcap_e2e.sh (evrd on net_pcap).

  pcap_e2e.py gen DIR            DIR/in.pcap, DIR/evrd.conf, DIR/expect.json
  pcap_e2e.py check DIR STATS    assert out.pcap and the stats snapshot

Every frame in in.pcap is either a valid event whose notifications are
predicted exactly (subscriber, format, content, order, sequence) or a piece
of bad input whose counter is predicted exactly; check() then compares the
WHOLE set of dataplane totals, not a sample.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evr_e2e as E  # noqa: E402

US_MAC, US = '02:00:00:00:00:01', '198.18.0.1'
PLAT_MAC, PLAT = '02:00:00:00:00:0a', '198.18.0.10'
SUB_A_MAC, SUB_A = '02:00:00:00:00:02', '198.18.0.2'
SUB_B_MAC, SUB_B = '02:00:00:00:00:03', '198.18.0.3'
MACS = {SUB_A: SUB_A_MAC, SUB_B: SUB_B_MAC}
L_RPC, L_PLAIN, L_JSON, L_AUTO = 8090, 8021, 8022, 8023

# Subscribers: key -> (event, destination ip, port, format, filters)
SUBS = {
    'aor_rpc':  ('E_UL_AOR_INSERT', SUB_A, 9001, 'jsonrpc', ['aor=sip:*@example.com']),
    'aor_json': ('E_UL_AOR_INSERT', SUB_B, 9002, 'json', []),
    'chan':     ('CHANNEL_CREATE', SUB_A, 9003, 'plain', []),
    'reg':      ('CUSTOM sofia::register', SUB_B, 9004, 'json', []),
    'contact':  ('E_UL_CONTACT_INSERT', SUB_A, 9005, 'plain', ['callid=*@host.example']),
}

CONFIG = """
eal = {{ lcores = "0-1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "{prefix}";
        vdevs = [ "net_pcap0,rx_pcap={d}/in.pcap,tx_pcap={d}/out.pcap" ]; }};
ports = ( {{ name = "p0"; device = "net_pcap0"; mac = "{us_mac}"; ipv4 = "{us}/24";
            neighbours = ( {{ ip = "{a}"; mac = "{a_mac}"; }},
                           {{ ip = "{b}"; mac = "{b_mac}"; }} ); }} );
workers = {{ count = 1; idle_sleep_us = 100; }};
listeners = ( {{ port = {l_rpc}; format = "jsonrpc"; }}, {{ port = {l_plain}; format = "plain"; }},
              {{ port = {l_json}; format = "json"; }}, {{ port = {l_auto}; format = "auto"; }} );
control = {{ socket = "{d}/evrd.sock"; }};
rings = {{ rx_pool = 2048; payload_pool = 2048; hdr_pool = 2048; indirect_pool = 1024; }};
limits = {{ max_attrs = 16; max_datagram = 1024; }};
subscriptions = (
{subs}
);
"""


def sub_conf():
    out = []
    for ev, ip, port, fmt, filt in SUBS.values():
        f = ', '.join('"%s"' % x for x in filt)
        out.append('  { event = "%s"; socket = "udp:%s:%d"; format = "%s"; filters = [ %s ]; }'
                   % (ev, ip, port, fmt, f))
    return ',\n'.join(out)


def udp_frame(dport, payload, sport=5060, **kw):
    return E.eth(US_MAC, PLAT_MAC, E.ETH_IP4, E.udp4(PLAT, sport, US, dport, payload, **kw))


def build():
    """-> frames, expected notifications per subscriber key, counters."""
    frames = []
    expect = {k: [] for k in SUBS}   # ordered list of (name, attrs subset)
    cnt = {}

    def bump(k, n=1):
        cnt[k] = cnt.get(k, 0) + n

    def event(dport, payload, name, attrs, subs, sport=5060):
        """A valid event: decoded, delivered to subs (keys) in order."""
        frames.append(udp_frame(dport, payload, sport=sport))
        bump('decode_ok')
        bump('events_rx')
        if subs:
            bump('matches', len(subs))
            bump('notifications', len(subs))
        else:
            bump('events_unmatched')
        for s in subs:
            expect[s].append({'name': name, 'attrs': attrs, 'sport': dport,
                              'idx': len(frames) - 1})

    def bad_event(dport, payload, reason):
        frames.append(udp_frame(dport, payload))
        bump('events_rx')
        bump('decode_' + reason)

    def bad_frame(fr, counter):
        frames.append(fr)
        bump(counter)

    # ---- L2/L3 service: ARP and ICMP echo are answered
    frames.append(E.arp_request(PLAT_MAC, PLAT, US))
    bump('arp_requests_rx')
    bump('arp_replies_tx')
    bump('neigh_learn_unneeded')  # answered; PLAT is not a next hop we wait for
    frames.append(E.eth(US_MAC, PLAT_MAC, E.ETH_IP4, E.icmp4_echo(PLAT, US, seq=1)))
    bump('icmp_echo_replies')
    frames.append(E.eth(US_MAC, PLAT_MAC, E.ETH_IP4, E.icmp4_echo(PLAT, US, seq=2), vlan=7))
    bump('icmp_echo_replies')
    bump('rx_vlan')

    # ---- valid events, every ingress format
    a1 = {'aor': 'sip:alice@example.com', 'expires': 3600, 'ua': 'Linphone/5.0 "q"'}
    event(L_RPC, E.jsonrpc_event('E_UL_AOR_INSERT', a1), 'E_UL_AOR_INSERT', a1,
          ['aor_rpc', 'aor_json'])
    a2 = {'aor': 'sip:bob@other.org', 'expires': 60}
    event(L_RPC, E.jsonrpc_event('E_UL_AOR_INSERT', a2), 'E_UL_AOR_INSERT', a2, ['aor_json'])
    h3 = [('Event-Name', 'CHANNEL_CREATE'), ('Unique-ID', 'u-3'),
          ('Caller-Caller-ID-Name', 'Alice Smith & co: 100%')]
    event(L_PLAIN, E.plain_event(h3), 'CHANNEL_CREATE', dict(h3), ['chan'])
    h4 = [('Event-Name', 'CHANNEL_CREATE'), ('Unique-ID', 'u-4'), ('Channel-State', 'CS_INIT')]
    event(L_PLAIN, E.plain_event(h4, envelope=True), 'CHANNEL_CREATE', dict(h4), ['chan'])
    h5 = [('Event-Name', 'CUSTOM'), ('Event-Subclass', 'sofia::register'),
          ('from-user', '1000'), ('network-ip', '198.18.0.10')]
    event(L_PLAIN, E.plain_event(h5), 'CUSTOM', dict(h5), ['reg'])
    h6 = [('Event-Name', 'CUSTOM'), ('Event-Subclass', 'sofia::register'), ('from-user', '1001')]
    event(L_JSON, E.json_event(h6), 'CUSTOM', dict(h6), ['reg'])
    h7 = [('Event-Name', 'CHANNEL_CREATE'), ('Unique-ID', 'u-7')]
    event(L_JSON, E.json_event(h7), 'CHANNEL_CREATE', dict(h7), ['chan'])
    a8 = {'aor': 'sip:carol@example.com'}
    event(L_AUTO, E.jsonrpc_event('E_UL_AOR_INSERT', a8), 'E_UL_AOR_INSERT', a8,
          ['aor_rpc', 'aor_json'])
    h9 = [('Event-Name', 'CHANNEL_CREATE'), ('Unique-ID', 'u-9')]
    event(L_AUTO, E.plain_event(h9, envelope=True), 'CHANNEL_CREATE', dict(h9), ['chan'])
    c10 = {'aor': 'sip:dan@example.com', 'callid': 'abc@host.example', 'cseq': 1}
    event(L_RPC, E.jsonrpc_event('E_UL_CONTACT_INSERT', c10), 'E_UL_CONTACT_INSERT', c10,
          ['contact'])
    c11 = {'aor': 'sip:dan@example.com', 'callid': 'abc@elsewhere', 'cseq': 2}
    event(L_RPC, E.jsonrpc_event('E_UL_CONTACT_INSERT', c11), 'E_UL_CONTACT_INSERT', c11, [])
    a12 = {'aor': 'sip:erin@example.com'}
    event(L_RPC, E.jsonrpc_event('E_UL_AOR_INSERT', a12), 'E_UL_AOR_INSERT', a12,
          ['aor_rpc', 'aor_json'], sport=5070)
    event(L_RPC, E.jsonrpc_event('E_NOBODY', {'x': 1}), 'E_NOBODY', {}, [])
    # an event in two IPv4 fragments: reassembled, then decoded
    a13 = {'aor': 'sip:frag@example.com', 'pad': 'z' * 700}
    u = E.udp4(PLAT, 5060, US, L_RPC, E.jsonrpc_event('E_UL_AOR_INSERT', a13))[20:]
    frames.append(E.eth(US_MAC, PLAT_MAC, E.ETH_IP4,
                        E.ip4(PLAT, US, 17, u[:512], ident=77, frag=0x2000)))
    frames.append(E.eth(US_MAC, PLAT_MAC, E.ETH_IP4,
                        E.ip4(PLAT, US, 17, u[512:], ident=77, frag=512 // 8)))
    bump('rx_fragments', 2)
    bump('rx_reassembled')
    bump('decode_ok')
    bump('events_rx')
    bump('matches', 2)
    bump('notifications', 2)
    for s in ('aor_rpc', 'aor_json'):
        expect[s].append({'name': 'E_UL_AOR_INSERT', 'attrs': a13, 'sport': L_RPC,
                          'idx': len(frames) - 1})

    # ---- malformed event datagrams, one decoder status each
    bad_event(L_RPC, b'{"jsonrpc":"2.0","method":', 'bad_json')
    bad_event(L_RPC, b'{"jsonrpc":"2.0","params":{"a":"1"}}', 'no_method')
    bad_event(L_RPC, b'{"jsonrpc":"1.0","method":"E_X"}', 'bad_jsonrpc_version')
    bad_event(L_RPC, b'[1,2,3]', 'not_object')
    bad_event(L_RPC, b'{"jsonrpc":"2.0","method":"E_X","params":{"a":{"b":1}}}', 'nested_value')
    bad_event(L_RPC, b'{"jsonrpc":"2.0","method":"E_X","params":{"a":"\\x"}}',
              'bad_string_escape')
    bad_event(L_RPC, E.jsonrpc_event('E_X', {'k%d' % i: i for i in range(20)}),
              'too_many_attrs')
    bad_event(L_RPC, E.jsonrpc_event('E_X', {'pad': 'p' * 1100}), 'oversize')
    bad_event(L_RPC, b'', 'empty')
    bad_event(L_PLAIN, b'Event-Name: E_X\nk: %zz\n\n', 'bad_url_escape')
    bad_event(L_PLAIN, b'Event-Name: E_X\nno colon here\n\n', 'bad_header_line')
    bad_event(L_PLAIN, b'k: v\n\n', 'no_event_name')
    bad_event(L_PLAIN, b'Event-Name: E_X\nk: a\0b\n\n', 'nul_byte')
    bad_event(L_PLAIN, b'Content-Length: 500\nContent-Type: text/event-plain\n\n'
              b'Event-Name: E_X\n\n', 'truncated_envelope')
    bad_event(L_PLAIN, b'Content-Length: 16\nContent-Type: text/event-json\n\n'
              b'Event-Name: E_X\n', 'bad_content_type')
    bad_event(L_PLAIN, b'Event-Name: E_X\nContent-Length: 50\n\nshort', 'truncated_body')
    bad_event(L_JSON, b'{"Event-Name":"E_X",', 'bad_json')
    bad_event(L_JSON, b'{"k":"v"}', 'no_event_name')

    # ---- bad frames, one counter each
    bad_frame(udp_frame(9999, b'{}'), 'rx_no_listener')
    bad_frame(udp_frame(L_RPC, E.jsonrpc_event('E_UL_AOR_INSERT', a1), bad_csum=True),
              'rx_bad_udp_checksum')
    bad_frame(E.eth(US_MAC, PLAT_MAC, E.ETH_IP4,
                    E.ip4(PLAT, US, 17, E.udp4(PLAT, 5060, US, L_RPC, b'{}')[20:],
                          bad_csum=True)), 'rx_bad_ip_checksum')
    bad_frame(E.eth(US_MAC, PLAT_MAC, E.ETH_IP4,
                    E.udp4(PLAT, 5060, US, L_RPC, b'{}', total_len=400)), 'rx_truncated')
    bad_frame(E.eth(US_MAC, PLAT_MAC, E.ETH_IP4,
                    E.udp4(PLAT, 5060, US, L_RPC, b'{}', udp_len=300)), 'rx_bad_udp_header')
    bad_frame(E.eth('02:00:00:00:00:99', PLAT_MAC, E.ETH_IP4,
                    E.udp4(PLAT, 5060, US, L_RPC, b'{}')), 'rx_not_for_us')
    bad_frame(E.eth(US_MAC, PLAT_MAC, E.ETH_IP4,
                    E.udp4(PLAT, 5060, '198.18.0.99', L_RPC, b'{}')), 'rx_not_for_us')
    bad_frame(E.arp_request(PLAT_MAC, PLAT, '198.18.0.77'), 'rx_arp_other')
    bump('neigh_learn_unneeded')  # merge rule: only entries we hold are updated
    bad_arp = bytearray(E.arp_request(PLAT_MAC, PLAT, US))
    bad_arp[14 + 4] = 8  # hardware address length 8
    bad_frame(bytes(bad_arp), 'rx_bad_arp')
    bad_frame(E.eth(US_MAC, PLAT_MAC, E.ETH_IP4, E.icmp4_echo(PLAT, US, typ=13)),
              'rx_icmp_other')
    bad_icmp = bytearray(E.eth(US_MAC, PLAT_MAC, E.ETH_IP4, E.icmp4_echo(PLAT, US)))
    bad_icmp[14 + 20 + 2] ^= 0xff
    bad_frame(bytes(bad_icmp), 'rx_bad_icmp')
    bad_frame(E.eth(US_MAC, PLAT_MAC, E.ETH_IP4, E.ip4(PLAT, US, 6, b'\0' * 20)),
              'rx_unknown_l4')
    bad_frame(E.eth(US_MAC, PLAT_MAC, 0x88cc, b'\0' * 46), 'rx_unknown_ethertype')
    bad_frame(b'\x02\x00\x00\x00\x00\x01\x02\x00', 'rx_runt')

    cnt['rx_packets'] = len(frames)
    cnt['rx_bytes'] = sum(len(f) for f in frames)
    return frames, expect, cnt


def gen(d, prefix):
    frames, expect, cnt = build()
    E.write_pcap(os.path.join(d, 'in.pcap'), frames)
    with open(os.path.join(d, 'evrd.conf'), 'w') as f:
        f.write(CONFIG.format(d=d, prefix=prefix, us_mac=US_MAC, us=US, a=SUB_A,
                              a_mac=SUB_A_MAC, b=SUB_B, b_mac=SUB_B_MAC, l_rpc=L_RPC,
                              l_plain=L_PLAIN, l_json=L_JSON, l_auto=L_AUTO,
                              subs=sub_conf()))
    with open(os.path.join(d, 'expect.json'), 'w') as f:
        json.dump({'expect': expect, 'counters': cnt, 'frames': len(frames)}, f, indent=1)
    print('gen: %d frames, %d notifications expected' % (
        len(frames), sum(len(v) for v in expect.values())))
    return 0


def attrs_match(note, want):
    """Every attribute of the input event is in the notification, with its
    value: JSON-RPC keeps types, plain/json carry strings."""
    got = note['attrs']
    for k, v in want.items():
        if k in ('Event-Name',):
            continue
        if note['format'] == 'jsonrpc':
            if got.get(k) != v:
                return '%s=%r (want %r)' % (k, got.get(k), v)
        else:
            if got.get(k) != str(v):
                return '%s=%r (want %r)' % (k, got.get(k), str(v))
    return None


def check(d, stats_path, extra_path):
    c = E.Checker()
    ex = json.load(open(os.path.join(d, 'expect.json')))
    expect, want_cnt = ex['expect'], ex['counters']
    stats = json.load(open(stats_path))
    tot = stats['dataplane']['totals']
    extra = json.load(open(extra_path))  # what the evrctl phase added
    frames = E.parse_frames(os.path.join(d, 'out.pcap'))

    # ---- every frame evrd sent, classified; nothing unexplained
    arp_replies = [f for f in frames if f.arp and f.arp['op'] == 2]
    c.check(len(arp_replies) == 1 and arp_replies[0].dst == PLAT_MAC and
            arp_replies[0].arp['sha'] == US_MAC and arp_replies[0].arp['spa'] == US and
            arp_replies[0].arp['tpa'] == PLAT,
            'one ARP reply: %s is-at %s, to the requester' % (US, US_MAC))
    c.eq(len([f for f in frames if f.arp and f.arp['op'] == 1]), 0,
         'no ARP request from evrd (static neighbours)')
    echo = [f for f in frames if f.proto == 1]
    c.check(len(echo) == 2 and all(f.l4[0] == 0 and E.csum(f.l4) == 0 and f.ip_csum_ok and
                                   f.ip_src == US and f.ip_dst == PLAT for f in echo),
            'two ICMP echo replies from %s with valid checksums' % US)
    c.eq(sorted(f.vlan for f in echo if f.vlan is not None), [7],
         'the 802.1Q-tagged echo answered with its tag')
    dgs = E.datagrams(frames)
    others = [f for f in frames if not f.arp and not (f.etype == E.ETH_IP4 and f.proto in (1, 17))]
    c.eq(len(others), 0, 'no unexplained frame in out.pcap')

    # ---- notifications per subscriber
    by_dest = {}
    for g in dgs:
        by_dest.setdefault((g['dst'], g['dport']), []).append(g)
    c.eq(all(g['udp_csum_ok'] and g['ip_csum_ok'] for g in dgs), True,
         'every notification has valid IP and UDP checksums')
    c.eq(all(g['src'] == US and g['src_mac'] == US_MAC for g in dgs), True,
         'every notification comes from %s / %s' % (US, US_MAC))
    c.eq(all(g['dst_mac'] == MACS.get(g['dst']) for g in dgs), True,
         'every notification goes to its static neighbour MAC')
    known = {(ip, port) for _, ip, port, _, _ in SUBS.values()}
    known.add(tuple(extra['dest']))
    c.eq(sorted('%s:%d' % k for k in by_dest if tuple(k) not in known), [],
         'no notification to an unknown destination')
    all_seqs = []
    for key, (ev, ip, port, fmt, _) in SUBS.items():
        got = by_dest.get((ip, port), [])
        want = expect[key]
        c.eq(len(got), len(want), '%s (%s -> %s:%d, %s): notification count' % (
            key, ev, ip, port, fmt))
        notes, perr = [], None
        for g in got:
            try:
                notes.append(E.parse_notification(g['payload']))
            except (ValueError, KeyError, UnicodeDecodeError) as e:
                perr = str(e)
        c.check(perr is None, '%s: every payload re-parses as %s%s' % (
            key, fmt, '' if perr is None else ' (%s)' % perr))
        c.eq(sorted({n['format'] for n in notes}), [fmt], '%s: format' % key)
        c.eq([g['sport'] for g in got], [w['sport'] for w in want],
             '%s: source port = the listener port the event came in on' % key)
        names = [n['name'] for n in notes]
        want_names = [w['name'] for w in want]
        c.eq(names, want_names, '%s: event names in input order' % key)
        bad = None
        for n, w in zip(notes, want):
            bad = bad or attrs_match(n, w['attrs'])
        c.check(bad is None, '%s: every input attribute delivered with its value, in order%s'
                % (key, '' if bad is None else ' (' + bad + ')'))
        if ev == 'CUSTOM sofia::register':
            c.eq([n['subclass'] for n in notes], ['sofia::register'] * len(notes),
                 '%s: Event-Subclass' % key)
        if fmt == 'jsonrpc':
            c.eq([n['seq'] for n in notes], [None] * len(notes),
                 '%s: JSON-RPC carries no Event-Sequence (OpenSIPS format)' % key)
        else:
            seqs = [n['seq'] for n in notes]
            c.check(all(isinstance(s, int) for s in seqs) and
                    all(a < b for a, b in zip(seqs, seqs[1:])),
                    '%s: Event-Sequence strictly increasing %s' % (key, seqs))
            all_seqs += [(q, w['idx']) for q, w in zip(seqs, want)]
    # One worker handles the capture in order: Event-Sequence grows with the
    # input position across all subscribers, and no two events share one.
    all_seqs.sort()
    c.check(len({q for q, _ in all_seqs}) == len(all_seqs) and
            [i for _, i in all_seqs] == sorted(i for _, i in all_seqs),
            'Event-Sequence unique per event and increasing with input order '
            'across subscribers')

    # ---- the evrctl phase: subscription made at run time, raise_event
    got = by_dest.get(tuple(extra['dest']), [])
    c.eq(len(got), 1, 'evrctl-made subscription: exactly one raise_event notification '
         'in out.pcap (the one raised after unsubscribe is not)')
    if got:
        n = E.parse_notification(got[0]['payload'])
        c.eq((n['format'], n['name'], n['attrs'].get('who')), ('plain', 'E_CTL', 'evrctl'),
             'raise_event notification content (plain, E_CTL, who=evrctl)')
        c.eq(got[0]['sport'], L_RPC, 'raise_event source port = first listener')

    # ---- counters: every total, exactly (snapshot before the evrctl phase)
    n_out = len(frames) - extra['frames']
    want = dict(want_cnt)
    want['tx_packets'] = n_out
    want['tx_bytes'] = sum(len(f.raw) for f in frames[:n_out])
    # net_pcap has no multi-segment TX: each notification (header mbuf +
    # shared payload) is copied once into a flat frame.
    if not stats['dataplane']['ports'][0]['multiseg_tx']:
        want['tx_linearized'] = want['notifications']
    for k, v in sorted(tot.items()):
        w = want.get(k, 0)
        c.eq(v, w, 'counter %s' % k)
    missing = sorted(set(want) - set(tot))
    c.eq(missing, [], 'every expected counter exists in stats')
    per_worker = sum(w['counters']['decode_ok'] for w in stats['dataplane']['workers'])
    c.eq(per_worker, want['decode_ok'], 'workers[].counters.decode_ok sums to the total')
    port = stats['dataplane']['ports'][0]
    c.eq(port['counters']['rx_packets'], ex['frames'], 'ports[0].counters.rx_packets')
    c.eq(port['eth']['ipackets'], ex['frames'], 'ports[0].eth.ipackets (PMD)')
    return c.rc()


def main():
    if sys.argv[1] == 'gen':
        return gen(sys.argv[2], sys.argv[3])
    return check(sys.argv[2], sys.argv[3], sys.argv[4])


if __name__ == '__main__':
    sys.exit(main())
