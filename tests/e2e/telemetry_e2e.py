#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Inputs and checks for telemetry_e2e.sh (evrd's /evr/ DPDK telemetry).

  telemetry_e2e.py gen DIR PREFIX        DIR/in0.pcap, in1.pcap, evrd.conf, expect.json
  telemetry_e2e.py check DIR TELSOCK CTLSOCK PID
                                         telemetry replies vs `evrctl stats`
  telemetry_e2e.py query TELSOCK CMD...  print each reply (debugging)
  telemetry_e2e.py hammer TELSOCK SECS   ask /evr/ commands until the socket
                                         goes away (shutdown); print counts

Two workers (net_pcap0 has one RX queue per rx_pcap: worker i reads
in<i>.pcap), two ports (p0 = net_pcap0, p1 = net_null0 where notifications
leave), a sip listener so the SIP state/endpoint counters are exported too.
The telemetry client is the documented v2 protocol: SOCK_SEQPACKET, an
info message first, then one command per message, one JSON reply each.
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
OUT, SUB, SUB_MAC = '198.19.0.1', '198.19.0.2', '02:00:00:00:01:02'
L_RPC, L_SIP = 8090, 5060

CONFIG = """
eal = {{ lcores = "0@0,1@1,2@1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "{prefix}";
        vdevs = [ "net_pcap0,rx_pcap={d}/in0.pcap,rx_pcap={d}/in1.pcap,tx_pcap={d}/out0.pcap,tx_pcap={d}/out1.pcap",
                  "net_null0,no-rx=1" ]; }};
ports = ( {{ name = "p0"; device = "net_pcap0"; mac = "{us_mac}"; ipv4 = "{us}/24";
            neighbours = ( {{ ip = "{plat}"; mac = "{plat_mac}"; }} ); }},
          {{ name = "p1"; device = "net_null0"; ipv4 = "{out}/24";
            neighbours = ( {{ ip = "{sub}"; mac = "{sub_mac}"; }} ); }} );
workers = {{ count = 2; idle_sleep_us = 200; }};
listeners = ( {{ port = {l_rpc}; format = "jsonrpc"; }}, {{ port = {l_sip}; format = "sip"; }} );
control = {{ socket = "{d}/evrd.sock"; }};
rings = {{ rx_pool = 2048; payload_pool = 2048; hdr_pool = 2048; indirect_pool = 1024; }};
subscriptions = ( {{ event = "E_UL_AOR_INSERT"; socket = "udp:{sub}:9000"; format = "json"; }} );
"""

OPTIONS = ('OPTIONS sip:evrd@198.18.0.1 SIP/2.0\r\n'
           'Via: SIP/2.0/UDP 198.18.0.10:5060;branch=z9hG4bK-tel-1\r\n'
           'Max-Forwards: 70\r\n'
           'From: <sip:probe@198.18.0.10>;tag=tel1\r\n'
           'To: <sip:evrd@198.18.0.1>\r\n'
           'Call-ID: tel-e2e-1@198.18.0.10\r\n'
           'CSeq: 1 OPTIONS\r\n'
           'Content-Length: 0\r\n\r\n').encode()


def frame(dport, payload, sport=5060):
    return E.eth(US_MAC, PLAT_MAC, E.ETH_IP4, E.udp4(PLAT, sport, US, dport, payload))


def cmd_gen(d, prefix):
    """Worker 0: 5 subscribed events, 1 unmatched, 2 malformed JSON, 1 UDP
    to a port without listener. Worker 1: 3 subscribed events, 1 JSON that
    is not an object, 1 SIP OPTIONS to the endpoint."""
    def ev(i):
        return E.jsonrpc_event('E_UL_AOR_INSERT', {'aor': 'sip:u%d@example.com' % i})

    in0 = [frame(L_RPC, ev(i)) for i in range(5)]
    in0 += [frame(L_RPC, E.jsonrpc_event('E_NOBODY', {'x': 1})),
            frame(L_RPC, b'{"jsonrpc":"2.0","method":'), frame(L_RPC, b'{{{'),
            frame(9999, b'nobody listens')]
    in1 = [frame(L_RPC, ev(10 + i)) for i in range(3)]
    in1 += [frame(L_RPC, b'[1,2,3]'), frame(L_SIP, OPTIONS)]
    E.write_pcap(os.path.join(d, 'in0.pcap'), in0)
    E.write_pcap(os.path.join(d, 'in1.pcap'), in1)
    with open(os.path.join(d, 'evrd.conf'), 'w') as f:
        f.write(CONFIG.format(prefix=prefix, d=d, us_mac=US_MAC, us=US, plat=PLAT,
                              plat_mac=PLAT_MAC, out=OUT, sub=SUB, sub_mac=SUB_MAC,
                              l_rpc=L_RPC, l_sip=L_SIP))
    expect = {
        'frames': len(in0) + len(in1),
        'worker_rx': [len(in0), len(in1)],
        'totals': {'rx_packets': len(in0) + len(in1), 'events_rx': 12, 'decode_ok': 9,
                   'decode_bad_json': 2, 'decode_not_object': 1, 'events_unmatched': 1,
                   'matches': 8, 'notifications': 8, 'rx_no_listener': 1, 'sip_rx': 1,
                   'sip_replies': 1, 'sip_endpoint_options': 1},
        'worker_decode_ok': [6, 3],
        'port_tx': {'p1': 8},
    }
    with open(os.path.join(d, 'expect.json'), 'w') as f:
        json.dump(expect, f)
    print(json.dumps({'frames': expect['frames']}))


# ------------------------------------------------------------- telemetry


class Tel:
    """DPDK telemetry v2 client (lib/telemetry, usertools/dpdk-telemetry.py)."""

    def __init__(self, path, timeout=5.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.info = json.loads(self.s.recv(1024).decode())
        self.max = int(self.info['max_output_len'])
        self.last_len = 0

    def raw(self, cmd):
        self.s.send(cmd.encode())
        data = self.s.recv(self.max + 1024)
        if not data:
            raise ConnectionError('telemetry socket closed')
        self.last_len = len(data)
        return json.loads(data.decode())

    def get(self, cmd):
        """The reply's value (None for null)."""
        r = self.raw(cmd)
        key = cmd.split(',', 1)[0]
        if list(r) != [key]:
            raise ValueError('reply to %s keyed %s' % (cmd, list(r)))
        return r[key]

    def close(self):
        self.s.close()


def counters_only(st):
    """The parts of `evrctl stats` that stand still once input stopped."""
    dp = st['dataplane']
    return {'totals': dp['totals'],
            'workers': [w['counters'] for w in dp['workers']],
            'ports': [p['counters'] for p in dp['ports']]}


def diff(got, want):
    keys = sorted(set(got) | set(want))
    bad = ['%s: %s vs %s' % (k, got.get(k), want.get(k)) for k in keys if got.get(k) != want.get(k)]
    return '; '.join(bad[:6]) + (' ...' if len(bad) > 6 else '')


def cmd_check(d, tel_path, ctl_path, pid):
    c = E.Checker()
    exp = json.load(open(os.path.join(d, 'expect.json')))
    ctl = E.Ctl(ctl_path)
    t = Tel(tel_path)
    c.eq(t.info.get('pid'), int(pid), 'telemetry info message: pid is evrd')
    c.check(str(t.info.get('version', '')).startswith('DPDK 22.11'),
            'telemetry info message: %s' % t.info.get('version'))
    cmds = t.get('/')
    want_cmds = ['/evr/info', '/evr/port', '/evr/ports', '/evr/stats', '/evr/worker',
                 '/evr/workers']
    c.eq([x for x in cmds if x.startswith('/evr/')], want_cmds, "'/' lists the /evr/ commands")
    c.check(t.get('/help,/evr/stats'), '/help,/evr/stats has help text')

    # One consistent moment: evrctl, every telemetry reply, evrctl again;
    # both evrctl snapshots equal (nothing moves) or try again.
    for attempt in range(10):
        before = ctl.call('stats')['result']
        tel = {'stats': t.get('/evr/stats'), 'workers': t.get('/evr/workers'),
               'ports': t.get('/evr/ports'),
               'worker': [t.get('/evr/worker,%d' % i) for i in range(2)],
               'port': [t.get('/evr/port,0'), t.get('/evr/port,p1')]}
        sizes = {}
        for cmd in ('/evr/stats', '/evr/worker,0', '/evr/worker,1', '/evr/port,0', '/evr/info'):
            t.raw(cmd)
            sizes[cmd] = t.last_len
        after = ctl.call('stats')['result']
        if counters_only(before) == counters_only(after):
            break
        time.sleep(0.3)
    c.check(counters_only(before) == counters_only(after),
            'counters quiescent across the telemetry queries (attempt %d)' % (attempt + 1))
    dp = after['dataplane']

    # /evr/stats == totals, key for key
    st = tel['stats'] or {}
    c.check(st == dp['totals'], '/evr/stats equals `evrctl stats` totals, all %d names '
            '(%s)' % (len(dp['totals']), diff(st, dp['totals']) or 'same'))
    c.check(len(st) <= 256, '/evr/stats has %d <= 256 (RTE_TEL_MAX_DICT_ENTRIES) entries' % len(st))
    c.check(any(k.startswith('sip_state_') for k in st) and 'sip_endpoint_options' in st and
            'sip_dialogs' in st and 'hep_ok' in st and 'decode_bad_json' in st,
            '/evr/stats carries decode_/sip_/hep_ statuses, sip_state_/sip_endpoint_ and gauges')
    for k, v in exp['totals'].items():
        c.eq(st.get(k), v, '/evr/stats %s' % k)

    # workers
    c.eq(tel['workers'], [0, 1], '/evr/workers')
    for i in range(2):
        w = dict(tel['worker'][i] or {})
        ew = dp['workers'][i]
        head = {k: w.pop(k, None) for k in ('worker', 'lcore', 'loops', 'busy_loops', 'sleeps',
                                            'arp_waiting')}
        c.eq([head['worker'], head['lcore'], head['arp_waiting']],
             [ew['worker'], ew['lcore'], ew['arp_waiting']], '/evr/worker,%d: worker, lcore, '
             'arp_waiting' % i)
        c.check(isinstance(head['loops'], int) and head['loops'] > 0 and
                head['busy_loops'] is not None and head['sleeps'] is not None,
                '/evr/worker,%d: loops %s, busy_loops %s, sleeps %s'
                % (i, head['loops'], head['busy_loops'], head['sleeps']))
        c.check(w == ew['counters'], '/evr/worker,%d counters equal `evrctl stats` '
                'workers[%d].counters (%d names; %s)' % (i, i, len(w),
                                                          diff(w, ew['counters']) or 'same'))
        c.eq(w.get('rx_packets'), exp['worker_rx'][i], '/evr/worker,%d rx_packets' % i)
        c.eq(w.get('decode_ok'), exp['worker_decode_ok'][i], '/evr/worker,%d decode_ok' % i)

    # ports, by index and by name
    c.eq(tel['ports'], ['p0', 'p1'], '/evr/ports')
    for i, p in enumerate(tel['port']):
        p = dict(p or {})
        ep = dp['ports'][i]
        head = {k: p.pop(k, None) for k in ('name', 'port_id', 'rx_queues', 'tx_queues')}
        c.eq(head, {k: ep[k] for k in head}, '/evr/port,%s: name, port_id, queues'
             % ('0' if i == 0 else 'p1'))
        c.check(p == ep['counters'], '/evr/port,%s counters equal `evrctl stats` ports[%d]'
                '.counters (%s)' % ('0' if i == 0 else 'p1', i, diff(p, ep['counters']) or 'same'))
    c.eq((tel['port'][1] or {}).get('tx_packets'), exp['port_tx']['p1'],
         '/evr/port,p1 tx_packets (the notifications)')
    c.eq((tel['port'][0] or {}).get('rx_packets'), exp['frames'], '/evr/port,0 rx_packets')

    # /evr/info
    info = t.get('/evr/info') or {}
    ver = ctl.call('evr_version')['result']['version']
    c.eq({k: info.get(k) for k in ('version', 'workers', 'ports', 'listeners', 'sip', 'pid',
                                   'state', 'sequence')},
         {'version': ver, 'workers': 2, 'ports': 2, 'listeners': 2, 'sip': 1,
          'pid': int(pid), 'state': 'running', 'sequence': dp['sequence']},
         '/evr/info: version, workers, ports, listeners, sip, pid, state, sequence')
    c.check(str(info.get('dpdk', '')).startswith('DPDK 22.11') and
            isinstance(info.get('uptime_ms'), int) and
            abs(info['uptime_ms'] / 1000.0 - dp['uptime_s']) < 30,
            '/evr/info: dpdk %s, uptime_ms %s (stats uptime_s %.1f)'
            % (info.get('dpdk'), info.get('uptime_ms'), dp['uptime_s']))

    # errors: null replies, and the connection stays usable
    for cmd in ('/evr/worker,2', '/evr/worker,-1', '/evr/worker,abc', '/evr/worker,0x',
                '/evr/worker', '/evr/port,9', '/evr/port,nope', '/evr/nonexistent'):
        c.check(t.get(cmd) is None, '%s -> null' % cmd)
    c.eq((t.get('/evr/worker,1') or {}).get('worker'), 1, 'connection still answers after errors')

    for cmd, n in sorted(sizes.items()):
        c.check(n < t.max, '%s reply %d bytes < max_output_len %d' % (cmd, n, t.max))
    t.close()
    ctl.close()
    return c.rc()


def cmd_query(path, cmds):
    t = Tel(path)
    print(json.dumps(t.info))
    for cmd in cmds:
        print(json.dumps(t.raw(cmd)))
    t.close()
    return 0


def cmd_hammer(path, secs):
    """Ask until the socket goes away or secs pass; never fails (the check
    is evrd's exit status). Prints 'hammer: first reply' once the first
    answer is in (the shell waits for it before SIGTERM: a fixed sleep
    was not enough on a busy machine), then 'hammer: N replies, M null'."""
    n = nulls = 0
    end = time.monotonic() + float(secs)
    try:
        t = Tel(path, timeout=2.0)
        while time.monotonic() < end:
            for cmd in ('/evr/stats', '/evr/worker,1', '/evr/port,0', '/evr/info'):
                if t.get(cmd) is None:
                    nulls += 1
                n += 1
                if n == 1:
                    print('hammer: first reply', flush=True)
    except (OSError, ValueError, ConnectionError):
        pass
    print('hammer: %d replies, %d null' % (n, nulls), flush=True)
    return 0


def main(argv):
    if len(argv) >= 3 and argv[0] == 'gen':
        cmd_gen(argv[1], argv[2])
        return 0
    if len(argv) == 5 and argv[0] == 'check':
        return cmd_check(*argv[1:])
    if len(argv) >= 2 and argv[0] == 'query':
        return cmd_query(argv[1], argv[2:])
    if len(argv) == 3 and argv[0] == 'hammer':
        return cmd_hammer(argv[1], argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
