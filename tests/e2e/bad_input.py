#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Bad input for bad_input.sh.

  bad_input.py frames OUT.pcap          deterministic malformed frames
  bad_input.py account STATS.json N     every frame accounted to one counter
  bad_input.py control SOCKET           abuse the control socket

frames: valid frames of every kind (ARP, ICMP, UDP events in the three
formats) cut at every length and with single bytes mutated (a fixed
xorshift sequence, so a failure reproduces), plus random garbage. The IPv4
flags/fragment-offset bytes are never mutated: every frame then ends in
exactly one terminal counter, which `account` checks.
"""
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evr_e2e as E  # noqa: E402

US_MAC, US = '02:00:00:00:00:01', '198.18.0.1'
PLAT_MAC, PLAT = '02:00:00:00:00:0a', '198.18.0.10'

# Counters that end a frame's life in the dataplane (one per frame).
TERMINAL = ['rx_runt', 'rx_not_for_us', 'rx_unknown_ethertype', 'rx_bad_ip_header', 'rx_truncated',
            'rx_bad_ip_checksum', 'rx_ipv6_ext_header', 'rx_unknown_l4',
            'rx_bad_udp_header', 'rx_bad_udp_checksum', 'rx_no_listener', 'rx_bad_arp',
            'rx_arp_other', 'arp_requests_rx', 'arp_replies_rx', 'rx_bad_icmp',
            'rx_icmp_other', 'icmp_echo_replies', 'icmp6_echo_replies', 'nd_ns_rx',
            'nd_na_rx', 'events_rx']


class XorShift:
    def __init__(self, seed):
        self.s = seed

    def next(self):
        x = self.s
        x ^= (x << 13) & 0xffffffff
        x ^= x >> 17
        x ^= (x << 5) & 0xffffffff
        self.s = x & 0xffffffff
        return self.s

    def below(self, n):
        return self.next() % n


def seeds():
    ev = E.jsonrpc_event('E_UL_AOR_INSERT', {'aor': 'sip:a@example.com', 'expires': 60})
    pl = E.plain_event([('Event-Name', 'CHANNEL_CREATE'), ('Unique-ID', 'x y')],
                       envelope=True)
    js = E.json_event([('Event-Name', 'CUSTOM'), ('Event-Subclass', 'sofia::register')])
    return [
        # without UDP checksum: payload mutations reach the decoders
        E.eth(US_MAC, PLAT_MAC, E.ETH_IP4, E.udp4(PLAT, 5060, US, 8090, ev, no_csum=True)),
        E.eth(US_MAC, PLAT_MAC, E.ETH_IP4, E.udp4(PLAT, 5060, US, 8021, pl, no_csum=True)),
        E.eth(US_MAC, PLAT_MAC, E.ETH_IP4, E.udp4(PLAT, 5060, US, 8022, js, no_csum=True)),
        E.arp_request(PLAT_MAC, PLAT, US),
        E.eth(US_MAC, PLAT_MAC, E.ETH_IP4, E.icmp4_echo(PLAT, US)),
        E.eth(US_MAC, PLAT_MAC, E.ETH_IP4, E.udp4(PLAT, 5060, US, 8090, ev)),
        E.eth(US_MAC, PLAT_MAC, E.ETH_IP4, E.udp4(PLAT, 5060, US, 8021, pl)),
        E.eth(US_MAC, PLAT_MAC, E.ETH_IP4, E.udp4(PLAT, 5060, US, 8022, js)),
        E.eth(US_MAC, PLAT_MAC, E.ETH_IP4, E.udp4(PLAT, 5060, US, 8090, ev), vlan=3),
    ]


def frames():
    rnd = XorShift(0x5eed1234)
    out = []
    for s in seeds():
        ip_flags = set()
        if len(s) > 14 and s[12:14] == b'\x08\x00':
            ip_flags = {20, 21}
        elif len(s) > 18 and s[12:14] == b'\x81\x00':
            ip_flags = {24, 25}
        # truncated at every length (no Ethernet padding added back)
        for n in range(0, len(s), 3):
            out.append(s[:n])
        # one byte mutated, 80 times per seed (payload only for the
        # seeds without UDP checksum)
        nock = s[12:14] == b'\x08\x00' and s[40:42] == b'\x00\x00'
        for _ in range(80):
            b = bytearray(s)
            i = 42 + rnd.below(len(b) - 42) if nock else rnd.below(len(b))
            if i in ip_flags:
                continue
            b[i] ^= 1 + rnd.below(255)
            out.append(bytes(b))
    # garbage of random length, addressed to us so it gets past L2
    for _ in range(100):
        n = rnd.below(200)
        body = bytes(rnd.below(256) for _ in range(n))
        et = [0x0800, 0x0806, 0x86dd, 0x8100, rnd.below(65536)][rnd.below(5)]
        fr = E.mac_b(US_MAC) + E.mac_b(PLAT_MAC) + et.to_bytes(2, 'big') + body
        if et == 0x0800 and len(fr) > 21:
            fr = fr[:20] + b'\x00\x00' + fr[22:]  # not a fragment
        if et == 0x8100 and len(fr) > 25:
            fr = fr[:16] + b'\x08\x00' + fr[18:24] + b'\x00\x00' + fr[26:]
        out.append(fr)
    # pcap records of length 0 are not valid for every reader: keep >= 1
    return [f if f else b'\x00' for f in out]


def cmd_frames(path):
    fr = frames()
    E.write_pcap(path, fr)
    print(len(fr))
    return 0


def cmd_account(stats_path, n):
    c = E.Checker()
    tot = json.load(open(stats_path))['dataplane']['totals']
    c.eq(tot['rx_packets'], n, 'rx_packets = frames in the capture')
    acc = sum(tot.get(k, 0) for k in TERMINAL)
    c.eq(acc, n, 'every frame accounted to exactly one terminal counter (%s)' %
         ', '.join('%s=%d' % (k, tot[k]) for k in TERMINAL if tot.get(k)))
    dec = sum(v for k, v in tot.items() if k.startswith('decode_'))
    c.eq(dec, tot['events_rx'], 'every event datagram has one decode_<status>')
    c.check(tot.get('decode_ok', 0) > 0 and dec - tot['decode_ok'] > 0,
            'both decoded and undecodable events among them (ok=%d, errors=%d)'
            % (tot.get('decode_ok', 0), dec - tot.get('decode_ok', 0)))
    c.eq(tot.get('rx_fragments', 0), 0, 'no fragment in the set (by construction)')
    return c.rc()


def cmd_control(path):
    """Misbehaving control clients; the daemon must answer each with the
    right error and keep serving."""
    c = E.Checker()

    def conn():
        return E.Ctl(path, timeout=5)

    a = conn()
    a.send_raw(b'this is not json\n')
    r = a.read_line()
    c.eq(r.get('error', {}).get('code'), -32700, 'garbage line -> -32700 parse error')
    c.eq(r.get('id', 'absent'), None, 'parse error answered with id null')
    r = a.call('evr_version')
    c.eq(r.get('result', {}).get('name'), 'evrd', 'same connection still usable after -32700')
    a.send_raw(b'{"jsonrpc":"2.0","id":7,"method":"version"\n')
    c.eq(a.read_line().get('error', {}).get('code'), -32700, 'truncated JSON object -> -32700')
    a.send_raw(b'[]\n')
    c.eq(a.read_line().get('error', {}).get('code'), -32600, 'empty batch -> -32600')
    a.send_raw(b'{"jsonrpc":"1.0","id":8,"method":"version"}\n')
    c.eq(a.read_line().get('error', {}).get('code'), -32600, 'jsonrpc 1.0 -> -32600')
    c.eq(a.call('no_such_method').get('error', {}).get('code'), -32601,
         'unknown method -> -32601')
    r = a.call('event_subscribe', {'event': 'E_X'})
    c.eq(r.get('error', {}).get('code'), -32602, 'subscribe without socket -> -32602')
    r = a.call('evr_subscribe', {'event': 'E_X', 'socket': 'udp:198.18.0.2:9',
                                 'filters': ['aor=[abc']})
    c.check(r.get('error', {}).get('code') == -32602 and
            'aor=[abc' in r['error'].get('message', ''),
            'bad filter -> -32602 naming the filter (%s)' % r.get('error', {}).get('message'))
    r = a.call('evr_subscribe', {'event': 'E_X', 'socket': 'tcp:198.18.0.2:9'})
    c.eq(r.get('error', {}).get('code'), -32602, 'bad destination -> -32602')
    # the OpenSIPS MI family answers a bad value as OpenSIPS does: 400
    r = a.call('event_subscribe', {'event': 'E_X', 'socket': 'tcp:198.18.0.2:9'})
    c.eq(r.get('error', {}).get('code'), 400, 'MI event_subscribe, bad destination -> 400')
    c.eq(a.call('event_unsubscribe', {'id': 999999}).get('error', {}).get('code'), 404,
         'unsubscribe of an unknown id -> 404')
    # notification (no id): executed, never answered; the next answer is ours
    a.send_raw(b'{"jsonrpc":"2.0","method":"version"}\n')
    r = a.call('evr_version')
    c.eq(r.get('id'), a.next_id - 1, 'a notification gets no response line')
    # batch with a good and a bad element
    a.send_raw(b'[{"jsonrpc":"2.0","id":"b1","method":"version"},'
               b'{"jsonrpc":"2.0","id":"b2","method":"nope"}]\n')
    r = a.read_line()
    c.check(isinstance(r, list) and len(r) == 2 and 'result' in r[0] and
            r[1].get('error', {}).get('code') == -32601,
            'batch [ok, unknown] -> [result, -32601]')
    # invalid UTF-8 and a NUL byte in a line
    a.send_raw(b'{"jsonrpc":"2.0","id":9,"method":"\xff\xfe"}\n')
    c.check('error' in a.read_line(), 'invalid UTF-8 -> an error response')
    a.send_raw(b'{"jsonrpc":"2.0","id":10,"method":"vers\x00ion"}\n')
    c.check('error' in a.read_line(), 'NUL byte in a request -> an error response')
    r = a.call('evr_version')
    c.eq(r.get('result', {}).get('name'), 'evrd', 'connection still usable after 12 bad requests')

    # a line over the 1 MiB limit: -32600 and the connection is closed
    b = conn()
    try:
        b.send_raw(b'{"jsonrpc":"2.0","id":1,"method":"version","params":{"x":"' +
                   b'a' * (1100 * 1024) + b'"}}\n')
    except OSError:
        pass
    try:
        r = b.read_line()
        c.eq(r.get('error', {}).get('code'), -32600, 'line over 1 MiB -> -32600')
        try:
            b.read_line()
            closed = False
        except (ConnectionError, OSError):
            closed = True
        c.check(closed, 'connection closed after a too-large line')
    except (ConnectionError, OSError) as e:
        c.check(False, 'line over 1 MiB answered before close (%s)' % e)
    b.close()

    # clients disconnecting mid-request, and before reading their answer
    for i in range(20):
        d = conn()
        try:
            d.send_raw(b'{"jsonrpc":"2.0","id":1,"method":"sta')
        except OSError:
            pass  # refused (503) and closed by the server first
        d.close()
        d = conn()
        try:
            d.send_raw(b'{"jsonrpc":"2.0","id":1,"method":"stats"}\n' * 50)
            d.s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # refused (503) and closed by the server first: fine too
        d.close()

    def usable():
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                x = conn()
                ok = x.call('evr_version').get('result', {}).get('name') == 'evrd'
                x.close()
                if ok:
                    return True
            except (OSError, ConnectionError, ValueError):
                pass
            time.sleep(0.05)
        return False
    c.check(usable(), 'server usable again within 5 s after 40 clients that vanished')
    # max_clients (16 in bad_input.sh's config): one more gets 503 and is closed
    held = [conn() for _ in range(16)]
    held[0].call('version')  # all accepted by now
    extra = conn()
    try:
        r = extra.read_line()
    except (ConnectionError, OSError) as e:
        r = {'exception': str(e)}
    c.eq(r.get('error', {}).get('code'), 503, 'client over max_clients gets error 503')
    extra.close()
    for h in held:
        h.close()
    c.check(usable(), 'server usable again once the 16 idle clients left')
    # a client that half-closes: its last line (no newline) is still served
    e = conn()
    e.send_raw(b'{"jsonrpc":"2.0","id":42,"method":"version"}')
    e.s.shutdown(socket.SHUT_WR)
    r = e.read_line()
    c.eq(r.get('id'), 42, 'last line without newline before half-close is served')
    e.close()
    # a silent client does not block others
    silent = conn()
    f = conn()
    t0 = time.monotonic()
    r = f.call('stats')
    c.check('result' in r and time.monotonic() - t0 < 2,
            'stats answered while a silent client is connected')
    st = r.get('result', {}).get('control', {})
    print('control stats: %s' % json.dumps(st))
    silent.close()
    f.close()
    a.close()
    return c.rc()


def main():
    cmd = sys.argv[1]
    if cmd == 'frames':
        return cmd_frames(sys.argv[2])
    if cmd == 'account':
        return cmd_account(sys.argv[2], int(sys.argv[3]))
    return cmd_control(sys.argv[2])


if __name__ == '__main__':
    sys.exit(main())
