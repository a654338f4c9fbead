#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Helper of sip_reorder_e2e.sh: HEPv3 copies that arrive out of order.

A capture agent may send the HEP copy of a reply before the request's
(Kamailio siptrace did so in CI), and with several workers a request can be
late behind another worker. evrd holds such a message (sip.reorder_ms) and
applies it when its request arrives.

  gen DIR PREFIX     in.pcap (HEPv3 to evrd's listener, replies first) and
                     evrd_hold.conf / evrd_nohold.conf (sip.reorder_ms 0)
  check DIR          PASS/FAIL lines from out_hold.pcap, out_nohold.pcap and
                     stats_hold.json / stats_nohold.json
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', '..', 'bench', 'sip'))
import evr_e2e as E  # noqa: E402
import gen_sip_pcap as G  # noqa: E402

EVR, EVR_MAC = '198.18.7.1', '02:00:00:00:07:01'
AGENT, AGENT_MAC = '198.18.7.2', '02:00:00:00:07:02'
UA, PROXY = '198.18.7.10', '198.18.7.20'

REG = ('REGISTER sip:example.com SIP/2.0\r\n'
       'Via: SIP/2.0/UDP {ua}:5062;branch=z9hG4bK-reo1;rport\r\n'
       'Max-Forwards: 70\r\nFrom: <sip:carol@example.com>;tag=rf1\r\n'
       'To: <sip:carol@example.com>\r\nCall-ID: reorder-reg-1\r\nCSeq: 1 REGISTER\r\n'
       'Contact: <sip:carol@{ua}:5062>;expires=600\r\nContent-Length: 0\r\n\r\n')
REG_200 = ('SIP/2.0 200 OK\r\n'
           'Via: SIP/2.0/UDP {ua}:5062;branch=z9hG4bK-reo1;rport=5062\r\n'
           'From: <sip:carol@example.com>;tag=rf1\r\n'
           'To: <sip:carol@example.com>;tag=srv\r\nCall-ID: reorder-reg-1\r\nCSeq: 1 REGISTER\r\n'
           'Contact: <sip:carol@{ua}:5062>;expires=600\r\nContent-Length: 0\r\n\r\n')
DLG = ('Via: SIP/2.0/UDP {ua}:5062;branch=z9hG4bK-reo{b}\r\n'
       'From: "Carol" <sip:carol@example.com>;tag=c1\r\nTo: <sip:2000@example.com>{tt}\r\n'
       'Call-ID: reorder-call-1\r\nCSeq: {cs} {m}\r\n')
INV = 'INVITE sip:2000@example.com SIP/2.0\r\n' + DLG + 'Max-Forwards: 70\r\n' \
      'Contact: <sip:carol@{ua}:5062>\r\nContent-Length: 0\r\n\r\n'
RSP = 'SIP/2.0 {code}\r\n' + DLG + 'Content-Length: 0\r\n\r\n'
ACK = 'ACK sip:2000@{px} SIP/2.0\r\n' + DLG + 'Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n'


# The callee's side of the same dialog (its tag t2 in From, the caller's c1
# in To, its own CSeq space starting at 1 like the caller's), in wire order:
# a re-INVITE, UPDATE, INFO and a session-timer refresh of its own and the
# caller's answers. They belong to the dialog: nothing held, no orphan, no
# event (issue 8 item 4: they were looked up by From tag only and held).
def callee(method, cseq, extra=''):
    return ('{m} sip:carol@{{ua}}:5062 SIP/2.0\r\n'
            'Via: SIP/2.0/UDP {{px}}:5060;branch=z9hG4bK-reu{m}{cs}\r\n'
            'Max-Forwards: 70\r\nFrom: <sip:2000@example.com>;tag=t2\r\n'
            'To: "Carol" <sip:carol@example.com>;tag=c1\r\nCall-ID: reorder-call-1\r\n'
            'CSeq: {cs} {m}\r\nContact: <sip:2000@{{px}}:5060>\r\n{x}'
            'Content-Length: 0\r\n\r\n').format(m=method, cs=cseq, x=extra)


def callee_rsp(method, cseq, extra=''):
    return ('SIP/2.0 200 OK\r\n'
            'Via: SIP/2.0/UDP {{px}}:5060;branch=z9hG4bK-reu{m}{cs}\r\n'
            'From: <sip:2000@example.com>;tag=t2\r\n'
            'To: "Carol" <sip:carol@example.com>;tag=c1\r\nCall-ID: reorder-call-1\r\n'
            'CSeq: {cs} {m}\r\n{x}Content-Length: 0\r\n\r\n').format(m=method, cs=cseq, x=extra)


TIMER = 'Session-Expires: 1800;refresher=uas\r\nSupported: timer\r\n'

# (label, text, from UA?) in the order the agent's copies arrive: each reply
# or in-dialog request before what it depends on.
SEQ = [
    ('200 REGISTER', REG_200, False),
    ('REGISTER', REG, True),
    ('180', RSP.replace('{code}', '180 Ringing'), False),
    ('INVITE', INV, True),
    ('ACK', ACK, True),
    ('200 INVITE', RSP.replace('{code}', '200 OK'), False),
    ('callee re-INVITE', callee('INVITE', 1), False),
    ('200 callee re-INVITE', callee_rsp('INVITE', 1), True),
    ('callee ACK', callee('ACK', 1), False),
    ('callee UPDATE', callee('UPDATE', 2, TIMER), False),
    ('200 callee UPDATE', callee_rsp('UPDATE', 2, TIMER), True),
    ('callee INFO', callee('INFO', 3), False),
    ('200 callee INFO', callee_rsp('INFO', 3), True),
    ('callee refresh', callee('INVITE', 4, TIMER), False),
    ('200 callee refresh', callee_rsp('INVITE', 4, TIMER), True),
    ('callee refresh ACK', callee('ACK', 4), False),
]
HELD = 3  # the REGISTER's 200, the 180, the ACK

WANT = ['E_UL_AOR_INSERT', 'E_UL_CONTACT_INSERT', 'CUSTOM sofia::register',
        'CHANNEL_CREATE', 'CHANNEL_PROGRESS', 'E_DLG_STATE_CHANGED 1>2',
        'CHANNEL_ANSWER', 'E_DLG_STATE_CHANGED 2>3', 'E_DLG_STATE_CHANGED 3>4']


def text(t, label):
    tt = ';tag=t2' if label in ('180', '200 INVITE', 'ACK') else ''
    m, cs, b = ('ACK', 1, 2) if label == 'ACK' else ('INVITE', 1, 1)
    return t.format(ua=UA, px=PROXY, tt=tt, m=m, cs=cs, b=b).encode()


def conf(d, prefix, name, reorder_ms):
    return '''eal = {{ lcores = "0-1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "{prefix}-{name}";
        vdevs = [ "net_pcap0,rx_pcap={d}/in.pcap,tx_pcap={d}/out_{name}.pcap" ]; }};
ports = ( {{ name = "p0"; device = "net_pcap0"; mac = "{emac}"; ipv4 = "{evr}/24";
            verify_udp_checksum = true;
            neighbours = ( {{ ip = "{agent}"; mac = "{amac}"; }} ); }} );
workers = {{ count = 1; }};
listeners = ( {{ port = 9060; format = "hep"; }} );
sip = {{ reorder_ms = {reorder}; }};
control = {{ socket = "{d}/evrd_{name}.sock"; }};
subscriptions = ( {{ event = "ALL"; socket = "udp:{agent}:9000"; format = "json"; }} );
'''.format(prefix=prefix, name=name, d=d, emac=EVR_MAC, evr=EVR, agent=AGENT,
           amac=AGENT_MAC, reorder=reorder_ms)


def cmd_gen(d, prefix):
    frames = []
    for k, (label, t, from_ua) in enumerate(SEQ):
        src, dst = (UA, PROXY) if from_ua else (PROXY, UA)
        sp, dp = (5062, 5060) if from_ua else (5060, 5062)
        hep = G.hep3(text(t, label), src, dst, sp, dp, 1700000000.0 + k * 0.001, False)
        frames.append(E.eth(EVR_MAC, AGENT_MAC, E.ETH_IP4, E.udp4(AGENT, 9061, EVR, 9060, hep)))
    E.write_pcap(os.path.join(d, 'in.pcap'), frames)
    for name, ms in (('hold', 200), ('nohold', 0)):
        with open(os.path.join(d, 'evrd_%s.conf' % name), 'w') as f:
            f.write(conf(d, prefix, name, ms))
    print(len(frames))
    return 0


def events(path):
    out = []
    for dg in E.datagrams(E.parse_frames(path)):
        if dg['dport'] != 9000:
            continue
        ev = json.loads(dg['payload'])
        key = ev['Event-Name']
        if key == 'HEARTBEAT':  # evrd's own, on ALL past heartbeat.interval_s
            continue
        if key == 'CUSTOM':
            key += ' ' + ev.get('Event-Subclass', '')
        if key == 'E_DLG_STATE_CHANGED':
            key += ' %s>%s' % (ev.get('old_state'), ev.get('new_state'))
        out.append(key)
    return out


def cmd_check(d):
    c = E.Checker()
    tot = {}
    for name in ('hold', 'nohold'):
        st = json.load(open(os.path.join(d, 'stats_%s.json' % name)))
        tot[name] = st['dataplane']['totals']
    got = events(os.path.join(d, 'out_hold.pcap'))
    c.eq(got, WANT, 'held: replies and the ACK copied before their requests still derive '
         'every event, in dialog order')
    t = tot['hold']
    c.eq({k: t.get(k) for k in ('sip_held', 'sip_held_expired', 'sip_state_orphan_response',
                                'sip_state_orphan_request', 'sip_state_dup_request',
                                'sip_state_dup_response', 'sip_state_fork_2xx', 'hep_ok')},
         {'sip_held': HELD, 'sip_held_expired': 0, 'sip_state_orphan_response': 0,
          'sip_state_orphan_request': 0, 'sip_state_dup_request': 0,
          'sip_state_dup_response': 0, 'sip_state_fork_2xx': 0, 'hep_ok': len(SEQ)},
         'held: counters (3 held, none expired, no orphan; the callee\'s in-dialog '
         'messages neither held nor orphans nor taken for the INVITE\'s)')
    # The same copies with holding off (sip.reorder_ms = 0): the test would
    # catch a regression, the 200 and the 180 are orphans and their events lost.
    got = events(os.path.join(d, 'out_nohold.pcap'))
    c.check('E_UL_AOR_INSERT' not in got and 'CHANNEL_PROGRESS' not in got,
            'reorder_ms 0: the REGISTER 200 and the 180 are orphans (no AOR_INSERT, '
            'no PROGRESS): %s' % got)
    c.eq(tot['nohold'].get('sip_state_orphan_response'), 2,
         'reorder_ms 0: sip_state_orphan_response = 2 (the callee\'s side none)')
    c.eq(tot['nohold'].get('sip_state_orphan_request'), 0,
         'reorder_ms 0: sip_state_orphan_request = 0 (the callee\'s ACKs found their dialog)')
    return c.rc()


def main(argv):
    if len(argv) >= 3 and argv[0] == 'gen':
        return cmd_gen(argv[1], argv[2])
    if len(argv) >= 2 and argv[0] == 'check':
        return cmd_check(argv[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
