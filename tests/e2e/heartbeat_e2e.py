#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""HEARTBEAT and FreeSWITCH standard headers, end to end (heartbeat_e2e.sh).

  hep-invite --to IP:PORT --bind IP:PORT --src IP --dst IP
      send one SIP INVITE encapsulated in HEPv3 (as a capture agent would),
      so evrd's SIP state raises CHANNEL_CREATE for it.
  check --notes FILE --version V --interval S --hb-json DST --hb-plain DST
        --chan DST --opensips DST
      PASS:/FAIL: lines (tests/e2e/lib.sh py_checks).
"""
import argparse
import json
import re
import socket
import struct
import sys
import time

STD = ['Core-UUID', 'FreeSWITCH-Hostname', 'FreeSWITCH-Switchname', 'FreeSWITCH-IPv4',
       'FreeSWITCH-IPv6', 'Event-Date-Local', 'Event-Date-GMT', 'Event-Date-Timestamp',
       'Event-Calling-File', 'Event-Calling-Function', 'Event-Calling-Line-Number']
UUID4 = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')
LOCAL = re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$')
GMT = re.compile(r'^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d '
                 r'(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$')
UPTIME = re.compile(r'^(\d+) years?, (\d+) days?, (\d+) hours?, (\d+) minutes?, (\d+) seconds?, '
                    r'(\d+) milliseconds?, (\d+) microseconds?$')


def chunk(t, v):
    return struct.pack('!HHH', 0, t, 6 + len(v)) + v


def cmd_hep_invite(a):
    sip = ('INVITE sip:2000@evr.test SIP/2.0\r\n'
           'Via: SIP/2.0/UDP %s:5062;branch=z9hG4bK-hb-1\r\n'
           'Max-Forwards: 70\r\n'
           'From: "Alice" <sip:1000@evr.test>;tag=hb1\r\n'
           'To: <sip:2000@evr.test>\r\n'
           'Call-ID: %s@%s\r\n'
           'CSeq: 1 INVITE\r\n'
           'Contact: <sip:1000@%s:5062>\r\n'
           'Content-Length: 0\r\n\r\n' % (a.src, a.call_id, a.src, a.src)).encode()
    now = time.time()
    body = (chunk(1, bytes([2])) + chunk(2, bytes([17]))
            + chunk(3, socket.inet_aton(a.src)) + chunk(4, socket.inet_aton(a.dst))
            + chunk(7, struct.pack('!H', 5062)) + chunk(8, struct.pack('!H', 5060))
            + chunk(9, struct.pack('!I', int(now))) + chunk(10, struct.pack('!I', int(now % 1 * 1e6)))
            + chunk(11, bytes([1])) + chunk(12, struct.pack('!I', 7))
            + (chunk(14, a.auth.encode()) if a.auth else b'') + chunk(15, sip))
    pkt = b'HEP3' + struct.pack('!H', 6 + len(body)) + body
    host, port = a.bind.rsplit(':', 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, int(port)))
    th, tp = a.to.rsplit(':', 1)
    s.sendto(pkt, (th, int(tp)))
    s.close()
    return 0


class Checks:
    def __init__(self):
        self.failed = 0

    def ok(self, cond, what):
        print('%s: %s' % ('PASS' if cond else 'FAIL', what))
        if not cond:
            self.failed += 1
        return cond

    def eq(self, got, want, what):
        return self.ok(got == want, '%s (got %r, want %r)' % (what, got, want) if got != want
                       else '%s (= %r)' % (what, want))


def std_checks(c, label, n, uuid):
    a = n['attrs']
    keys = list(a.keys())
    c.eq(keys[1:2 + len(STD)], STD + ['Event-Sequence'], '%s: standard headers right after '
         'Event-Name, then Event-Sequence, in switch_event_prep_for_delivery order' % label)
    c.eq(a.get('Core-UUID'), uuid, '%s: Core-UUID is the run\'s' % label)
    c.ok(LOCAL.match(a.get('Event-Date-Local', '')), '%s: Event-Date-Local %r is YYYY-MM-DD '
         'HH:MM:SS' % (label, a.get('Event-Date-Local')))
    c.ok(GMT.match(a.get('Event-Date-GMT', '')), '%s: Event-Date-GMT %r is RFC 1123'
         % (label, a.get('Event-Date-GMT')))
    ts = int(a.get('Event-Date-Timestamp', '0'))
    c.ok(abs(ts / 1e6 - n['t']) < 5, '%s: Event-Date-Timestamp %d is microseconds since the epoch '
         '(within 5 s of reception)' % (label, ts))
    gmt = time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime(ts // 1000000))
    c.eq(a.get('Event-Date-GMT'), gmt, '%s: Event-Date-GMT is the timestamp\'s second' % label)


def cmd_check(a):
    c = Checks()
    notes = [json.loads(x) for x in open(a.notes) if x.strip()]
    bad = [n for n in notes if 'error' in n]
    c.eq(len(bad), 0, 'every notification is well formed')
    by = {}
    for n in notes:
        by.setdefault(n['dst'], []).append(n)
    hbj = [n for n in by.get(a.hb_json, []) if n.get('name') == 'HEARTBEAT']
    hbp = [n for n in by.get(a.hb_plain, []) if n.get('name') == 'HEARTBEAT']
    c.ok(len(hbj) >= 2, 'json subscriber: %d HEARTBEATs (>= 2)' % len(hbj))
    c.ok(len(hbp) >= 2, 'plain subscriber: %d HEARTBEATs (>= 2)' % len(hbp))
    c.eq(len(by.get(a.hb_json, [])), len(hbj), 'HEARTBEAT subscriber got HEARTBEATs only')
    uuid = hbj[0]['attrs'].get('Core-UUID', '') if hbj else ''
    c.ok(UUID4.match(uuid), 'Core-UUID %r is a v4 UUID' % uuid)
    for fmt, hb in (('json', hbj), ('plain', hbp)):
        c.eq(len({n['attrs'].get('Core-UUID') for n in hb}), 1, '%s: one Core-UUID for the run' % fmt)
        gaps = [y['t'] - x['t'] for x, y in zip(hb, hb[1:])]
        c.ok(all(a.interval * 0.5 <= g <= a.interval * 2 for g in gaps),
             '%s: one HEARTBEAT per %s s interval (gaps %s)' % (fmt, a.interval,
                                                             ['%.2f' % g for g in gaps]))
        ups = [int(n['attrs'].get('Uptime-msec', '-1')) for n in hb]
        c.ok(ups == sorted(ups) and ups[0] >= a.interval * 1000 - 50,
             '%s: Uptime-msec grows, first one after an interval (%s)' % (fmt, ups))
        for i, n in enumerate(hb[:2]):
            at = n['attrs']
            lab = '%s HEARTBEAT %d' % (fmt, i + 1)
            std_checks(c, lab, n, uuid)
            c.eq(at.get('Event-Info'), 'System Ready', lab + ': Event-Info')
            m = UPTIME.match(at.get('Up-Time', ''))
            if c.ok(m, lab + ': Up-Time %r in FreeSWITCH\'s words' % at.get('Up-Time')):
                y, d, h, mi, s, ms, us = (int(x) for x in m.groups())
                total_ms = ((((y * 365 + d) * 24 + h) * 60 + mi) * 60 + s) * 1000 + ms
                c.eq(total_ms, int(at.get('Uptime-msec', '-1')), lab + ': Up-Time = Uptime-msec')
            c.eq(at.get('FreeSWITCH-Version'), a.version, lab + ': FreeSWITCH-Version is evrd\'s')
            for k in ('Evr-Events-Per-Sec', 'Evr-Events-Total', 'Evr-Live-Subscriptions',
                      'Evr-Drops-Total', 'Evr-Started'):
                c.ok(re.match(r'^\d+$', at.get(k, '')), '%s: %s = %r' % (lab, k, at.get(k)))
            c.ok(int(at.get('Evr-Live-Subscriptions', '0')) >= 4,
                 lab + ': Evr-Live-Subscriptions counts ours (>= 4)')
            c.eq(at.get('Event-Calling-Function'), 'evr_control_heartbeat', lab + ': calling function')
            c.eq(at.get('FreeSWITCH-IPv4'), a.evr_ip, lab + ': FreeSWITCH-IPv4 is the port address')
            c.ok(n.get('seq') is not None, lab + ': Event-Sequence present')
    chans = by.get(a.chan, [])
    sip = [n for n in chans if n['attrs'].get('Unique-ID') != 'raised-1']
    raised = [n for n in chans if n['attrs'].get('Unique-ID') == 'raised-1']
    if c.eq(len(sip), 1, 'one SIP-derived CHANNEL_CREATE (the HEP INVITE)'):
        n = sip[0]
        std_checks(c, 'SIP CHANNEL_CREATE', n, uuid)
        c.eq(n['attrs'].get('Event-Calling-File'), 'evr_sip_freeswitch.c', 'SIP CHANNEL_CREATE: calling file')
        c.eq(n['attrs'].get('Caller-Destination-Number'), '2000', 'SIP CHANNEL_CREATE: its own headers follow')
    if c.eq(len(raised), 1, 'one raise_event CHANNEL_CREATE'):
        std_checks(c, 'raised CHANNEL_CREATE', raised[0], uuid)
        c.eq(raised[0]['attrs'].get('Event-Calling-File'), 'evr_actions.c', 'raised CHANNEL_CREATE: calling file')
    os_ = by.get(a.opensips, [])
    if c.eq(len(os_), 1, 'one E_HB_TEST (OpenSIPS vocabulary, jsonrpc)'):
        c.eq(sorted(os_[0]['attrs'].keys()), ['aor'], 'E_HB_TEST: exactly its params, no standard header')
    return 1 if c.failed else 0


def main(argv):
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('hep-invite')
    p.add_argument('--to', required=True)
    p.add_argument('--bind', required=True)
    p.add_argument('--src', required=True)
    p.add_argument('--dst', required=True)
    p.add_argument('--auth', help='HEP auth key chunk (0x0e) value')
    p.add_argument('--call-id', default='hb-call-1')
    p = sub.add_parser('check')
    p.add_argument('--notes', required=True)
    p.add_argument('--version', required=True)
    p.add_argument('--interval', type=float, required=True)
    p.add_argument('--hb-json', required=True)
    p.add_argument('--hb-plain', required=True)
    p.add_argument('--chan', required=True)
    p.add_argument('--opensips', required=True)
    p.add_argument('--evr-ip', required=True)
    a = ap.parse_args(argv)
    return {'hep-invite': cmd_hep_invite, 'check': cmd_check}[a.cmd](a)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
