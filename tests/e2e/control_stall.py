#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Control-plane latency while a million subscriptions load and expire
(issue 13, "a control thread that never stalls"); driven by
control_stall_e2e.sh against a real evrd.

Two clients on evrd's control socket:
  - the loader subscribes N subscriptions in JSON-RPC batches, as fast as
    evrd answers (a few batches in flight), all with the same `expire`;
  - the prober, a separate process (no GIL shared with the loader), sends a
    cheap read (`evr_stats`, which takes the matcher's writer lock, as
    every subscriptions read does) on a fixed schedule, one every
    PERIOD_MS. An answer slower than the period also stands for the probes
    it kept from being sent, each with the wait it would have had (latency
    minus one period, minus two...): without that (coordinated omission) a
    stall would count as one slow sample.

Phase "load": the prober runs while the loader subscribes.
Phase "expire": evrd is stopped (SIGSTOP) until every subscription has
expired, then continued (SIGCONT): the reaper finds all N expired at once.
The prober runs from SIGCONT until matcher.live is 0 (at least 2 s).

Prints p50/p99/max per phase and one JSON line with the figures; exits 0
iff both phases' p99 <= --p99-ms and the counts are right.
"""
import argparse
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evr_e2e import Ctl  # noqa: E402

PERIOD_MS = 5.0


def call(path, method, params=None):
    c = Ctl(path, timeout=60)
    r = c.call(method, params)
    c.close()
    return r['result']


def prober(path, out_fd, stop_fd):
    """Child: probe until stop_fd is readable; write 'sched_t latency_s'
    lines to out_fd."""
    c = Ctl(path, timeout=60)
    samples = []
    period = PERIOD_MS / 1000.0
    t = time.monotonic()
    k = 0
    os.set_blocking(stop_fd, False)
    while True:
        try:
            if os.read(stop_fd, 1):
                break
        except BlockingIOError:
            pass
        now = time.monotonic()
        if now < t:
            time.sleep(t - now)
        k += 1
        sent = time.monotonic()
        c.send_raw(b'{"jsonrpc":"2.0","id":%d,"method":"evr_stats"}\n' % k)
        r = c.read_line()
        if 'result' not in r:
            raise SystemExit('prober: %r' % r)
        done = time.monotonic()
        lat = done - sent
        # the probes a stall kept us from sending would have waited
        # lat - period, lat - 2 * period, ... (HdrHistogram's
        # recordValueWithExpectedInterval)
        while lat > 0:
            samples.append((sent, lat))
            lat -= period
            if lat < period:
                break
        t = max(t + period, done)
    with os.fdopen(out_fd, 'w') as f:
        for st, lat in samples:
            f.write('%.6f %.6f\n' % (st, lat))
    os._exit(0)


def start_prober(path):
    r, w = os.pipe()
    sr, sw = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.close(sw)
        try:
            prober(path, w, sr)
        finally:
            os._exit(1)
    os.close(w)
    os.close(sr)
    return pid, r, sw


def stop_prober(p):
    pid, r, sw = p
    os.write(sw, b'x')
    data = b''
    while True:
        chunk = os.read(r, 1 << 16)
        if not chunk:
            break
        data += chunk
    _, st = os.waitpid(pid, 0)
    if st != 0:
        raise SystemExit('prober failed (status %d)' % st)
    return [tuple(map(float, ln.split())) for ln in data.decode().splitlines()]


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))] if v else float('nan')


def summary(name, samples):
    lat = [l * 1000.0 for _, l in samples]
    res = {'phase': name, 'samples': len(lat), 'p50_ms': round(pct(lat, 0.50), 2),
           'p99_ms': round(pct(lat, 0.99), 2), 'max_ms': round(max(lat), 2) if lat else None}
    print('%-7s %6d probes  p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms' %
          (name, res['samples'], res['p50_ms'], res['p99_ms'], res['max_ms'] or 0), flush=True)
    return res


def load(path, n, batch, expire, inflight, dests):
    c = Ctl(path, timeout=60)
    head = '{"jsonrpc":"2.0","id":%d,"method":"evr_subscribe","params":{"event":"E_STALL",' \
           '"socket":"udp:%s:9000","filters":["aor=sip:u%d@example.com"],"expire":%d}}'
    sent = ok = 0
    pending = 0
    while sent < n or pending:
        while sent < n and pending < inflight:
            k = min(batch, n - sent)
            text = '[' + ','.join(head % (i, dests[i % len(dests)], i, expire)
                                  for i in range(sent, sent + k)) + ']\n'
            c.send_raw(text.encode())
            sent += k
            pending += 1
        ans = c.read_line()
        pending -= 1
        ok += sum(1 for a in ans if 'result' in a)
        bad = [a for a in ans if 'result' not in a]
        if bad:
            raise SystemExit('loader: %r' % bad[:3])
    c.close()
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sock', required=True)
    ap.add_argument('--pid', type=int, required=True, help='evrd (SIGSTOP/SIGCONT)')
    ap.add_argument('-n', type=int, default=1000000)
    ap.add_argument('--batch', type=int, default=100)
    ap.add_argument('--inflight', type=int, default=16)
    ap.add_argument('--expire', type=int, default=60)
    ap.add_argument('--net', default='198.18.16.')
    ap.add_argument('--p99-ms', type=float, default=50.0)
    ap.add_argument('--drain-s', type=float, default=60.0)
    a = ap.parse_args()
    dests = ['%s%d' % (a.net, 2 + i) for i in range(64)]

    p = start_prober(a.sock)
    t0 = time.monotonic()
    ok = load(a.sock, a.n, a.batch, a.expire, a.inflight, dests)
    t_load = time.monotonic() - t0
    live = call(a.sock, 'evr_stats')['matcher']['live']
    s_load = stop_prober(p)
    print('load: %d subscribed in %.1f s (%.0f/s), matcher.live %d' %
          (ok, t_load, ok / t_load, live), flush=True)
    if t_load + 1 >= a.expire:
        raise SystemExit('load took %.1f s: not under --expire %d s, raise it' % (t_load, a.expire))
    if live != a.n:
        raise SystemExit('matcher.live %d after the load, want %d' % (live, a.n))

    # Every subscription expires while evrd is stopped (the last one was
    # subscribed before t_end): the reaper then finds all of them expired
    # at once.
    t_end = time.monotonic()
    os.kill(a.pid, signal.SIGSTOP)
    time.sleep(max(0.0, t_end + a.expire + 1.0 - time.monotonic()))
    p = start_prober(a.sock)
    os.kill(a.pid, signal.SIGCONT)
    t1 = time.monotonic()
    left = -1
    while time.monotonic() - t1 < a.drain_s:
        time.sleep(0.5)
        left = call(a.sock, 'evr_stats')['matcher']['live']
        if left == 0 and time.monotonic() - t1 >= 2.0:
            break
    t_drain = time.monotonic() - t1
    s_exp = stop_prober(p)
    m = call(a.sock, 'evr_stats')['matcher']
    print('expire: matcher.live %d after %.1f s, matcher.expired %d' %
          (left, t_drain, m.get('expired', -1)), flush=True)

    r1 = summary('load', s_load)
    r2 = summary('expire', s_exp)
    print(json.dumps({'n': a.n, 'load_s': round(t_load, 1), 'load': r1, 'expire': r2,
                      'reap_lag_ms_end': m.get('reap_lag')}))
    good = ok == a.n and live == a.n and left == 0
    for r in (r1, r2):
        if not r['samples'] or r['p99_ms'] > a.p99_ms:
            print('FAIL: %s p99 %.2f ms > %.0f ms' % (r['phase'], r['p99_ms'], a.p99_ms))
            good = False
    return 0 if good else 1


if __name__ == '__main__':
    sys.exit(main())
