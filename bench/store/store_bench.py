#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Subscribe throughput and reply latency over evrd's control socket, for
bench/store/run.sh (store on vs off). One client pipelines JSON-RPC batches
of 100 (control.max_batch), 4 in flight, as control_stall.py's loader
does; a reply comes once the subscriptions are visible to the matcher and,
with the store on, once the group commit covering them is on disk.
Prints one JSON line: n, seconds, subs_per_s, reply latency p50/p99/max
(ms, per batch: send to reply), and then raises one event that matches
the last subscription and reports whether it is notified (visibility)."""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', '..', 'tests', 'e2e'))
from evr_e2e import Ctl  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sock', required=True)
    ap.add_argument('-n', type=int, default=100000)
    ap.add_argument('--label', default='')
    ap.add_argument('--peer', help='another appliance sharing the store (kind nats): '
                    'report how long after the last reply it holds the whole set')
    a = ap.parse_args()
    live0 = 0
    if a.peer:
        # a connection per use: evrd closes one idle past control.idle_timeout_ms
        peer = Ctl(a.peer, timeout=120)
        live0 = peer.call('evr_stats')['result']['matcher']['live']
        peer.close()
    c = Ctl(a.sock, timeout=120)
    head = '{"jsonrpc":"2.0","id":%d,"method":"evr_subscribe","params":{"event":"E_BENCH",' \
           '"socket":"udp:198.18.16.2:%d","filters":["aor=sip:u%d@example.com"],"expire":3600}}'
    sent = done = 0
    t_sent, lat = {}, []
    t0 = time.monotonic()
    while done < a.n:
        while sent < a.n and len(t_sent) < 4:
            k = min(100, a.n - sent)
            text = '[' + ','.join(head % (i, 9000 + i % 16, i)
                                  for i in range(sent, sent + k)) + ']\n'
            t_sent[sent] = time.monotonic()
            c.send_raw(text.encode())
            sent += k
        ans = c.read_line()
        first = ans[0]['id']
        lat.append((time.monotonic() - t_sent.pop(first)) * 1000)
        bad = [x for x in ans if 'result' not in x or x['result'].get('durable') is False]
        if bad:
            raise SystemExit('bench: %r' % bad[:2])
        done += len(ans)
    t_last = time.monotonic()
    dt = t_last - t0
    lat.sort()
    peer_lag = None
    if a.peer:
        peer = Ctl(a.peer, timeout=120)
        # the whole set on the other appliance: polled every 20 ms, 10 min max
        while time.monotonic() - t_last < 600:
            if peer.call('evr_stats')['result']['matcher']['live'] >= live0 + a.n:
                peer_lag = round(time.monotonic() - t_last, 2)
                break
            time.sleep(0.02)
    st = c.call('evr_stats')['result']
    r = c.call('evr_raise_event', {'event': 'E_BENCH',
                                   'params': {'aor': 'sip:u%d@example.com' % (a.n - 1)}})
    out = {'label': a.label, 'n': a.n, 'seconds': round(dt, 2),
           'subs_per_s': int(a.n / dt), 'reply_ms_p50': round(lat[len(lat) // 2], 1),
           'reply_ms_p99': round(lat[int(len(lat) * 0.99)], 1),
           'reply_ms_max': round(lat[-1], 1),
           'last_visible': 'result' in r,
           'store_commits': st.get('store', {}).get('commits'),
           'store_queue_peak': st.get('store', {}).get('queue_peak')}
    if a.peer:
        out['peer_whole_set_after_s'] = peer_lag
    print(json.dumps(out))


if __name__ == '__main__':
    main()
