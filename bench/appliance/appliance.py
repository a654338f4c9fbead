#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Control-socket side of the appliance benchmark (bench/appliance/run.sh).
Standard library only.

  appliance.py load SOCK subs.jsonl OUT.json
      send every subscription over ONE connection, pipelined (a window of
      requests in flight), count results; OUT gets count, errors, seconds
  appliance.py snap SOCK OUT.json
      one `stats` result
  appliance.py sample SOCK INTERVAL DURATION OUT.jsonl
      `stats` every INTERVAL s for at most DURATION s (stops on SIGTERM)
  appliance.py churn SOCK churn.jsonl RATE DURATION OUT.json
      RATE control operations per second for DURATION s: subscriptions
      from the churn pool, each removed by id one second later, so the
      subscription count stays level; OUT gets achieved ops/s, errors
  appliance.py settle SOCK TIMEOUT
      wait until the matcher's Hyperscan compile count stops moving
  appliance.py summary RESULT_DIR OUT.json
      turn the snapshots and testpmd log into the result JSON, print the
      summary table and the gnuplot data files
"""
import json
import os
import re
import signal
import socket
import sys
import time


class Ctl:
    def __init__(self, path, timeout=30.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b''
        self.id = 0

    def lines(self):
        """Yield response lines as they arrive (blocking)."""
        while True:
            while b'\n' not in self.buf:
                chunk = self.s.recv(1 << 20)
                if not chunk:
                    raise ConnectionError('control socket closed')
                self.buf += chunk
            line, _, self.buf = self.buf.partition(b'\n')
            yield line

    def call(self, method, params=None):
        self.id += 1
        req = {'jsonrpc': '2.0', 'id': self.id, 'method': method}
        if params is not None:
            req['params'] = params
        self.s.sendall(json.dumps(req).encode() + b'\n')
        return json.loads(next(self.lines()))


def cmd_load(sock, path, out):
    c = Ctl(sock, timeout=120)
    with open(path, 'rb') as f:
        reqs = [x for x in f.read().split(b'\n') if x]
    window, sent, got, errors = 4096, 0, 0, {}
    t0 = time.monotonic()
    rd = c.lines()
    chunk = 512
    while got < len(reqs):
        while sent < len(reqs) and sent - got < window:
            k = min(len(reqs), sent + chunk)
            c.s.sendall(b'\n'.join(reqs[sent:k]) + b'\n')
            sent = k
        line = next(rd)
        got += 1
        if b'"error"' in line:
            code = str(json.loads(line)['error']['code'])
            errors[code] = errors.get(code, 0) + 1
    dt = time.monotonic() - t0
    res = {'subscriptions': len(reqs), 'errors': errors, 'seconds': round(dt, 3),
           'per_s': round(len(reqs) / dt, 1)}
    json.dump(res, open(out, 'w'))
    print('load: %d subscriptions in %.2f s (%.0f/s), errors %s' % (
        len(reqs), dt, len(reqs) / dt, errors or 'none'))
    return 1 if errors else 0


def cmd_snap(sock, out):
    r = Ctl(sock).call('stats')
    r['result']['wall'] = time.time()
    json.dump(r['result'], open(out, 'w'))
    return 0


def sample(sock, interval, duration, out, fields):
    """One JSON line per interval until duration or SIGTERM: wall time,
    uptime, and fields(stats result, its dataplane object)."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    c = Ctl(sock)
    t_end = time.monotonic() + duration
    nxt = time.monotonic()
    with open(out, 'w') as f:
        while not stop and time.monotonic() < t_end:
            try:
                r = c.call('stats')['result']
            except (OSError, ConnectionError, ValueError):
                break
            dp = r.get('dataplane', {})
            row = {'wall': time.time(), 'uptime': dp.get('uptime_s')}
            row.update(fields(r, dp))
            f.write(json.dumps(row) + '\n')
            f.flush()
            nxt += interval
            time.sleep(max(0.0, nxt - time.monotonic()))
    return 0


def cmd_sample(sock, interval, duration, out):
    return sample(sock, interval, duration, out, lambda r, dp: {
        'decode_ok': [w['counters']['decode_ok'] for w in dp.get('workers', [])],
        'notifications': [w['counters']['notifications'] for w in dp.get('workers', [])],
        'live': r.get('matcher', {}).get('live')})


def cmd_churn(sock, path, rate, duration, out):
    """Each 10 ms tick sends rate/100 requests: half subscribes (from the
    pool, cycling) and half unsubscribes of ids subscribed >= 1 s ago."""
    with open(path) as f:
        pool = [json.loads(x) for x in f if x.strip()]
    c = Ctl(sock, timeout=30)
    rd = c.lines()
    tick = 0.01
    per_tick = max(2, int(rate * tick))
    live = []          # (time subscribed, id)
    pending = {}       # request id -> 'sub' | 'unsub'
    ops = errors = 0
    codes = {}
    k = 0
    t0 = time.monotonic()
    nxt = t0
    c.s.setblocking(False)

    def drain(block):
        nonlocal ops, errors
        while pending:
            try:
                if b'\n' not in c.buf:
                    chunk = c.s.recv(1 << 20)
                    if not chunk:
                        raise ConnectionError('closed')
                    c.buf += chunk
                    continue
            except BlockingIOError:
                if not block:
                    return
                time.sleep(0.001)
                continue
            line, _, c.buf = c.buf.partition(b'\n')
            r = json.loads(line)
            kind = pending.pop(r['id'])
            ops += 1
            if 'error' in r:
                errors += 1
                key = '%s %s' % (kind, r['error'].get('code'))
                codes[key] = codes.get(key, 0) + 1
            elif kind == 'sub':
                live.append((time.monotonic(), r['result']['id']))

    while time.monotonic() - t0 < duration:
        now = time.monotonic()
        batch = []
        n_un = 0
        while n_un < per_tick // 2 and live and now - live[0][0] >= 1.0:
            _, sid = live.pop(0)
            c.id += 1
            pending[c.id] = 'unsub'
            batch.append({'jsonrpc': '2.0', 'id': c.id, 'method': 'evr_unsubscribe',
                          'params': {'id': sid}})
            n_un += 1
        for _ in range(per_tick - n_un):
            c.id += 1
            pending[c.id] = 'sub'
            batch.append({'jsonrpc': '2.0', 'id': c.id, 'method': 'evr_subscribe',
                          'params': pool[k % len(pool)]})
            k += 1
        data = b''.join(json.dumps(b, separators=(',', ':')).encode() + b'\n' for b in batch)
        c.s.setblocking(True)
        c.s.sendall(data)
        c.s.setblocking(False)
        drain(False)
        nxt += tick
        d = nxt - time.monotonic()
        if d > 0:
            time.sleep(d)
        if len(pending) > 20 * per_tick:
            drain(True)  # the daemon is behind: do not queue without bound
    drain(True)
    dt = time.monotonic() - t0
    res = {'target_ops_per_s': rate, 'ops': ops, 'seconds': round(dt, 3),
           'ops_per_s': round(ops / dt, 1), 'errors': errors, 'error_codes': codes,
           'note': 'pool subscriptions that equal a live one refresh it (same id): '
                   'its second unsubscribe answers 404'}
    json.dump(res, open(out, 'w'))
    print('churn: %d ops in %.1f s = %.0f ops/s (target %d), errors %d %s' % (
        ops, dt, ops / dt, rate, errors, codes or ''))
    return 0


def cmd_settle(sock, timeout):
    c = Ctl(sock)
    t_end = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < t_end:
        m = c.call('stats')['result']['matcher']
        cur = (m['hs_compiles'], m['hs_patterns'], m['live'])
        if cur != last:
            last, since = cur, time.monotonic()
        elif time.monotonic() - since >= 1.0:
            print('settle: matcher steady (%d live, %d Hyperscan patterns, %d compiles)'
                  % (m['live'], m['hs_patterns'], m['hs_compiles']))
            return 0
        time.sleep(0.1)
    print('settle: matcher still changing after %d s' % timeout)
    return 1


# ------------------------------------------------------------------ summary

DROPS = ['ring_full', 'pool_empty', 'tx_full', 'fanout_overflow', 'encode_overflow',
         'arp_queue_overflow', 'arp_unresolved', 'no_route', 'rx_bad_udp_checksum',
         'match_errors']


def window(a, b):
    """Rates between two stats snapshots, per worker and total."""
    da, db = a['dataplane'], b['dataplane']
    dt = db['uptime_s'] - da['uptime_s']
    ws = []
    for wa, wb in zip(da['workers'], db['workers']):
        ca, cb = wa['counters'], wb['counters']
        ev = cb['decode_ok'] - ca['decode_ok']
        ws.append({
            'worker': wb['worker'], 'lcore': wb['lcore'],
            'events_per_s': ev / dt,
            'notifications_per_s': (cb['notifications'] - ca['notifications']) / dt,
            'matches_per_event': (cb['matches'] - ca['matches']) / ev if ev else 0,
            'busy_ratio': ((wb['busy_loops'] - wa['busy_loops']) /
                           max(1, wb['loops'] - wa['loops'])),
        })
    ta, tb = da['totals'], db['totals']
    out_a = [p for p in da['ports'] if p['name'] == 'out'][0]
    out_b = [p for p in db['ports'] if p['name'] == 'out'][0]
    return {
        'seconds': dt,
        'events_per_s': sum(w['events_per_s'] for w in ws),
        'notifications_per_s': sum(w['notifications_per_s'] for w in ws),
        'tx_frames_per_s': (out_b['counters']['tx_packets'] - out_a['counters']['tx_packets']) / dt,
        'rx_frames_per_s': (tb['rx_packets'] - ta['rx_packets']) / dt,
        'events_unmatched_per_s': (tb['events_unmatched'] - ta['events_unmatched']) / dt,
        'drops': {k: tb.get(k, 0) - ta.get(k, 0) for k in DROPS},
        'workers': ws,
        'subscriptions_live': b['matcher']['live'],
    }


def testpmd_pps(log_path, skip):
    """Mean Rx-pps of port 0 over testpmd's periodic stats, first `skip`
    periods dropped (warm-up)."""
    txt = open(log_path, errors='replace').read()
    blocks = txt.split('Port statistics ====')
    pps = []
    for b in blocks[1:]:
        m = re.search(r'Rx-pps:\s+(\d+)', b)  # first one in a block = port 0
        if m:
            pps.append(int(m.group(1)))
    use = pps[skip:]
    return (sum(use) / len(use) if use else 0.0), pps


def cmd_summary(d, out):
    meta = json.load(open(os.path.join(d, 'meta.json')))
    gen = json.load(open(os.path.join(d, 'gen.json')))
    snaps = {k: json.load(open(os.path.join(d, k + '.json')))
             for k in ('base0', 'base1', 'churn0', 'churn1')}
    base = window(snaps['base0'], snaps['base1'])
    churn = window(snaps['churn0'], snaps['churn1'])
    load = json.load(open(os.path.join(d, 'load.json')))
    ch = json.load(open(os.path.join(d, 'churn.json')))
    tp, tp_series = testpmd_pps(os.path.join(d, 'testpmd.log'), meta['warmup_s'])
    n_workers = len(base['workers'])
    res = {
        'command': meta['command'],
        'machine': meta['machine'],
        'cpu_busy_before_pct': meta.get('cpu_busy_before_pct'),
        'busy_processes_before': meta.get('busy_processes_before'),
        'config': meta['config'],
        'workload': gen,
        'subscription_load': load,
        'baseline': base,
        'churn': dict(churn, control_ops=ch),
        'testpmd': {'command': meta['testpmd_command'], 'rx_pps': tp,
                    'series_pps': tp_series},
        'ratios': {
            'evrd_events_per_testpmd_pps': base['events_per_s'] / tp if tp else None,
            'evrd_churn_per_evrd': (churn['events_per_s'] / base['events_per_s']
                                    if base['events_per_s'] else None),
        },
        'per_core': {
            'events_per_s': base['events_per_s'] / n_workers,
            'notifications_per_s': base['notifications_per_s'] / n_workers,
        },
    }
    json.dump(res, open(out, 'w'), indent=1)
    # gnuplot data: per-second samples (time since start, events/s, notes/s)
    samples = [json.loads(x) for x in open(os.path.join(d, 'samples.jsonl')) if x.strip()]
    with open(os.path.join(d, 'rates.dat'), 'w') as f:
        f.write('# t_s events_per_s notifications_per_s live_subs\n')
        for a, b in zip(samples, samples[1:]):
            dt = b['uptime'] - a['uptime']
            if dt <= 0:
                continue
            f.write('%.2f %.1f %.1f %d\n' % (
                b['uptime'], (sum(b['decode_ok']) - sum(a['decode_ok'])) / dt,
                (sum(b['notifications']) - sum(a['notifications'])) / dt, b['live'] or 0))
    with open(os.path.join(d, 'phases.gp'), 'w') as f:
        for name in ('base', 'churn'):
            f.write('%s0 = %.2f\n%s1 = %.2f\n' % (
                name, snaps[name + '0']['dataplane']['uptime_s'],
                name, snaps[name + '1']['dataplane']['uptime_s']))
        f.write('testpmd = %.1f\n' % tp)
    r = res['ratios']
    print()
    print('appliance benchmark (%s)' % meta['machine'])
    if (meta.get('cpu_busy_before_pct') or 0) > 10:
        print('  WARNING         machine %d%% busy before the run (%s): figures skewed'
              % (meta['cpu_busy_before_pct'], meta.get('busy_processes_before', '')))
    print('  workload        %d subscriptions, %d distinct %d-byte E_UL_CONTACT_INSERT '
          'events, expected %.2f notifications/event' % (
              gen['subscriptions'], gen['events'], round(gen['event_payload_avg_bytes']),
              gen['expected_matches_contact_insert']))
    print('  load            %d subscriptions in %.2f s over one connection (%.0f/s)' % (
        load['subscriptions'], load['seconds'], load['per_s']))
    for label, w in (('evrd', base), ('evrd + churn', churn)):
        print('  %-15s %10.0f events/s  %10.0f notifications/s  (%.2f per event)  '
              '%d worker(s), busy %.2f, drops %d' % (
                  label, w['events_per_s'], w['notifications_per_s'],
                  w['workers'][0]['matches_per_event'], len(w['workers']),
                  w['workers'][0]['busy_ratio'], sum(w['drops'].values())))
    print('  churn           %.0f control ops/s achieved (target %d), %d errors' % (
        ch['ops_per_s'], ch['target_ops_per_s'], ch['errors']))
    print('  testpmd         %10.0f packets/s (io forward, same vdevs) = framework ceiling'
          % tp)
    print('  ratios          evrd/testpmd = %.4f   evrd-with-churn/evrd = %.3f' % (
        r['evrd_events_per_testpmd_pps'] or 0, r['evrd_churn_per_evrd'] or 0))
    print('  per core        %.0f events/s, %.0f notifications/s' % (
        res['per_core']['events_per_s'], res['per_core']['notifications_per_s']))
    return 0


def main():
    a = sys.argv[1:]
    cmd = a[0]
    if cmd == 'load':
        return cmd_load(a[1], a[2], a[3])
    if cmd == 'snap':
        return cmd_snap(a[1], a[2])
    if cmd == 'sample':
        return cmd_sample(a[1], float(a[2]), float(a[3]), a[4])
    if cmd == 'churn':
        return cmd_churn(a[1], a[2], int(a[3]), float(a[4]), a[5])
    if cmd == 'settle':
        return cmd_settle(a[1], float(a[2]))
    if cmd == 'summary':
        return cmd_summary(a[1], a[2])
    print(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main())
