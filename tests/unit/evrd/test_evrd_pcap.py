#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""evrd smoke test on net_pcap (needs root for EAL; ~5 s).

Feeds a generated pcap through evrd (net_pcap rx_pcap -> tx_pcap) and
checks what comes out: ARP and ICMP/ICMPv6 echo answers, a neighbour
advertisement, JSON and JSON-RPC notifications to static subscribers over
IPv4 and IPv6 with valid checksums, a fragmented large notification that
reassembles, an ARP request for a subscriber without a static neighbour,
and named drop counters for every kind of bad input.

Usage: test_evrd_pcap.py EVRD [--keep]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', '..', '..', 'tests', 'e2e'))
import evr_e2e as P  # noqa: E402

US_MAC, US4, US6 = '02:00:00:00:00:01', '198.18.0.1', '2001:db8::1'
PLAT_MAC, PLAT4, PLAT6 = '02:00:00:00:00:0a', '198.18.0.10', '2001:db8::a'
SUB_MAC, SUB4, SUB6 = '02:00:00:00:00:02', '198.18.0.2', '2001:db8::2'
LOST4 = '198.18.0.3'  # subscriber that never answers ARP

CONFIG = """
eal = {{ lcores = "0-1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "evrd-smoke-{pid}";
        vdevs = [ "net_pcap0,rx_pcap={dir}/in.pcap,tx_pcap={dir}/out.pcap" ]; }};
ports = ( {{ name = "p0"; device = "net_pcap0"; mac = "{us_mac}";
            ipv4 = "{us4}/15"; ipv6 = "{us6}/64"; mtu = 1500;
            neighbours = ( {{ ip = "{sub4}"; mac = "{sub_mac}"; }},
                           {{ ip = "{sub6}"; mac = "{sub_mac}"; }} ); }} );
workers = {{ count = 1; idle_sleep_us = 50; }};
listeners = ( {{ port = 8090; format = "jsonrpc"; }}, {{ port = 8021; format = "plain"; }} );
control = {{ socket = "{dir}/evrd.sock"; }};
rings = {{ rx_pool = 2048; payload_pool = 2048; hdr_pool = 2048; indirect_pool = 1024; }};
arp = {{ retry_ms = 100; max_retries = 2; }};
subscriptions = (
  {{ event = "E_UL_AOR_INSERT"; socket = "udp:{sub4}:9000"; format = "json";
     filters = [ "aor=sip:*" ]; }},
  {{ event = "E_UL_AOR_INSERT"; socket = "udp:{lost4}:9001"; format = "jsonrpc"; }},
  {{ event = "E_BIG"; socket = "udp:{sub4}:9002"; format = "jsonrpc"; }},
  {{ event = "E_V6"; socket = "udp:[{sub6}]:9003"; format = "plain"; }},
  {{ event = "CUSTOM sofia::register"; socket = "udp:{sub4}:9004"; format = "json"; }}
);
"""


def event(method, params):
    return json.dumps({'jsonrpc': '2.0', 'method': method, 'params': params},
                      separators=(',', ':')).encode()


def eth(dst, src, etype, payload, vlan=None):
    """Frames as built: not padded to the Ethernet minimum."""
    return P.eth(dst, src, etype, payload, vlan=vlan, pad=False)


def frames():
    f = []
    f.append(P.arp_request(PLAT_MAC, PLAT4, US4, pad=False))
    f.append(eth(US_MAC, PLAT_MAC, P.ETH_IP4, P.icmp4_echo(PLAT4, US4, data=b'evrd-ping')))
    f.append(eth(US_MAC, PLAT_MAC, P.ETH_IP4, P.icmp4_echo(PLAT4, US4, seq=2,
                                                           data=b'evrd-ping'), vlan=5))
    f.append(eth(US_MAC, PLAT_MAC, P.ETH_IP4, P.udp4(
        PLAT4, 5060, US4, 8090, event('E_UL_AOR_INSERT', {'aor': 'sip:alice@example.com',
                                                          'expires': 3600}))))
    # filter does not match: only the unfiltered (unresolvable) subscriber
    f.append(eth(US_MAC, PLAT_MAC, P.ETH_IP4, P.udp4(
        PLAT4, 5060, US4, 8090, event('E_UL_AOR_INSERT', {'aor': 'tel:+100'}))))
    f.append(eth(US_MAC, PLAT_MAC, P.ETH_IP4, P.udp4(
        PLAT4, 5060, US4, 8090, event('E_BIG', {'blob': 'x' * 3000}))))
    # an event in two IPv4 fragments: reassembled, then decoded
    u = P.udp4(PLAT4, 5061, US4, 8090, event('E_UL_AOR_INSERT', {
        'aor': 'sip:frag@example.com', 'pad': 'z' * 1400}))
    body = u[20:]
    f.append(eth(US_MAC, PLAT_MAC, P.ETH_IP4, P.ip4(PLAT4, US4, 17, body[:1480],
                                                    ident=77, frag=0x2000)))
    f.append(eth(US_MAC, PLAT_MAC, P.ETH_IP4, P.ip4(PLAT4, US4, 17, body[1480:],
                                                    ident=77, frag=1480 // 8)))
    plain = (b'Event-Name: CUSTOM\nEvent-Subclass: sofia%3A%3Aregister\n'
             b'from-user: 1000\n\n')
    f.append(eth(US_MAC, PLAT_MAC, P.ETH_IP4, P.udp4(PLAT4, 5060, US4, 8021, plain)))
    # bad input, each with its counter
    f.append(eth(US_MAC, PLAT_MAC, P.ETH_IP4, P.udp4(
        PLAT4, 5060, US4, 8090, event('E_UL_AOR_INSERT', {'aor': 'sip:x'}), bad_csum=True)))
    f.append(eth(US_MAC, PLAT_MAC, P.ETH_IP4, P.udp4(PLAT4, 5060, US4, 9999, b'{}')))
    f.append(eth(US_MAC, PLAT_MAC, P.ETH_IP4, P.udp4(PLAT4, 5060, US4, 8090, b'{"jsonrpc":')))
    f.append(eth('02:00:00:00:00:99', PLAT_MAC, P.ETH_IP4, P.udp4(PLAT4, 1, US4, 8090, b'{}')))
    f.append(eth(US_MAC, PLAT_MAC, P.ETH_IP4, P.ip4(PLAT4, US4, 17, b'\0' * 8, bad_csum=True)))
    f.append(eth(US_MAC, PLAT_MAC, P.ETH_IP4, P.ip4(PLAT4, US4, 17, b'\0' * 16, frag=0x2000)))
    f.append(eth(US_MAC, PLAT_MAC, 0x88cc, b'\0' * 46))
    f.append(eth(US_MAC, PLAT_MAC, P.ETH_IP4, P.ip4(PLAT4, US4, 6, b'\0' * 20)))
    f.append(b'\x02\x00')
    # IPv6: ND, echo, an event
    dmac, ns = P.nd_ns(PLAT6, PLAT_MAC, US6)
    f.append(eth(dmac, PLAT_MAC, P.ETH_IP6, ns))
    f.append(eth(US_MAC, PLAT_MAC, P.ETH_IP6, P.icmp6_echo(PLAT6, US6)))
    f.append(eth(US_MAC, PLAT_MAC, P.ETH_IP6, P.udp6(
        PLAT6, 5060, US6, 8090, event('E_V6', {'k': 'v'}))))
    f.append(eth(US_MAC, PLAT_MAC, P.ETH_IP6, P.udp6(
        PLAT6, 5060, US6, 8090, event('E_V6', {'k': 'w' * 1450}))))
    return f


def fail(msg):
    print('FAIL:', msg)
    return 1


def main():
    evrd = sys.argv[1]
    keep = '--keep' in sys.argv
    if os.geteuid() != 0:
        print('SKIP: needs root (DPDK EAL)')
        return 77
    d = tempfile.mkdtemp(prefix='evrd-pcap-')
    try:
        P.write_pcap(os.path.join(d, 'in.pcap'), frames(), step=1e-6)
        conf = os.path.join(d, 'evrd.conf')
        with open(conf, 'w') as fh:
            fh.write(CONFIG.format(pid=os.getpid(), dir=d, us_mac=US_MAC, us4=US4, us6=US6,
                                   sub4=SUB4, sub6=SUB6, sub_mac=SUB_MAC, lost4=LOST4))
        stats_path = os.path.join(d, 'stats.json')
        cmd = [evrd, '-c', conf, '--duration', '2.5', '--stats-file', stats_path,
               '--store-path', os.path.join(d, 'store')]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60)
        out = p.stdout.decode(errors='replace')
        if p.returncode != 0:
            print(out)
            return fail('evrd exited %d' % p.returncode)
        stats = json.load(open(stats_path))
        tot = stats['totals']
        got = P.parse_frames(os.path.join(d, 'out.pcap'))
        rc = check(got, tot)
        if rc:
            print(out)
            print(json.dumps(tot, indent=1))
        return rc
    finally:
        # EAL leaves its runtime directory behind.
        shutil.rmtree('/var/run/dpdk/evrd-smoke-%d' % os.getpid(), ignore_errors=True)
        if keep:
            print('kept', d)
        else:
            shutil.rmtree(d, ignore_errors=True)


def check(got, tot):
    errors = []

    def expect(cond, what):
        if not cond:
            errors.append(what)

    # Frame decodes past an 802.1Q tag: every check but the one on the tag
    # is about the untagged frames.
    vlan = [f for f in got if f.vlan is not None or f.etype == P.ETH_VLAN]
    untagged = [f for f in got if f.vlan is None and f.etype != P.ETH_VLAN]
    arp_replies = [f for f in untagged if f.etype == P.ETH_ARP and f.l3[7] == 2]
    expect(len(arp_replies) == 1 and arp_replies[0].dst == PLAT_MAC and
           arp_replies[0].l3[8:14] == P.mac_b(US_MAC), 'one ARP reply with our MAC')
    arp_reqs = [f for f in untagged if f.etype == P.ETH_ARP and f.l3[7] == 1]
    expect(len(arp_reqs) >= 1 and all(r.l3[24:28] == P.ip4_b(LOST4) for r in arp_reqs),
           'ARP requests for the unresolvable subscriber')
    echo = [f for f in untagged if f.etype == P.ETH_IP4 and f.proto == 1]
    expect(len(echo) == 1 and echo[0].l4[0] == 0 and P.csum(echo[0].l4) == 0 and
           echo[0].ip_csum_ok, 'ICMP echo reply with valid checksums')
    expect(len(vlan) == 1, '802.1Q echo answered with its tag')
    icmp6 = [f for f in untagged if f.etype == P.ETH_IP6 and f.proto == 58]
    expect(any(f.l4[0] == 129 for f in icmp6), 'ICMPv6 echo reply')
    expect(any(f.l4[0] == 136 and f.l4[8:24] == P.ip6_b(US6) for f in icmp6),
           'neighbour advertisement for our address')

    notes = {}
    for f, l4 in P.reassemble(untagged):
        if f.proto != 17:
            continue
        dport = int.from_bytes(l4[2:4], 'big')
        expect(P.udp_ok(f, l4), 'UDP checksum to port %d' % dport)
        expect(f.dst == SUB_MAC, 'notification to the static neighbour MAC')
        notes.setdefault(dport, []).append(l4[8:])
    j = notes.get(9000, [])
    expect(len(j) == 2, 'two JSON notifications (filter aor=sip:*) got %d' % len(j))
    if len(j) == 2:
        expect(json.loads(j[1]).get('aor') == 'sip:frag@example.com',
               'notification of the reassembled event')
        o = json.loads(j[0])
        expect(o.get('Event-Name') == 'E_UL_AOR_INSERT' and
               o.get('aor') == 'sip:alice@example.com' and 'Event-Sequence' in o,
               'JSON notification content: %r' % o)
    big = notes.get(9002, [])
    expect(len(big) == 1 and len(json.loads(big[0])['params']['blob']) == 3000,
           'large notification reassembled from fragments')
    expect(any(f.is_fragment() for f in untagged), 'fragments on the wire')
    v6 = notes.get(9003, [])
    expect(len(v6) == 2 and all(b'Event-Name: E_V6' in x for x in v6),
           'plain notifications over IPv6')
    expect(any(len(x) > 1450 and x.count(b'w') == 1450 for x in v6),
           'large IPv6 notification reassembled from fragments')
    expect(any(f.frag6 for f in untagged), 'IPv6 fragments on the wire')
    cu = notes.get(9004, [])
    expect(len(cu) == 1 and json.loads(cu[0]).get('Event-Subclass') == 'sofia::register',
           'CUSTOM subclass notification from a plain event')

    want = {
        'arp_requests_rx': 1, 'arp_replies_tx': 1, 'icmp_echo_replies': 2,
        'icmp6_echo_replies': 1, 'nd_ns_rx': 1, 'nd_na_tx': 1, 'rx_vlan': 1,
        'rx_bad_udp_checksum': 1, 'rx_no_listener': 1, 'decode_bad_json': 1,
        'rx_not_for_us': 1, 'rx_bad_ip_checksum': 1, 'rx_fragments': 3,
        'rx_reassembled': 1,
        'rx_unknown_ethertype': 1, 'rx_unknown_l4': 1, 'rx_runt': 1,
        'decode_ok': 7, 'fragmented': 3, 'arp_unresolved': 3,
    }
    for k, v in want.items():
        expect(tot.get(k) == v, 'counter %s = %s, want %s' % (k, tot.get(k), v))
    expect(tot.get('rx_packets') == len(frames()), 'rx_packets')
    for e in errors:
        print('FAIL:', e)
    if not errors:
        print('evrd pcap smoke: %d frames out, all checks passed' % len(got))
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
