#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checker for rss_e2e.sh: flows x events received by each subscriber.

  rss_check.py RECV.jsonl STATS.json FLOWS EVENTS DEST...

For each destination ("ip:port") every (flow, seq) must arrive exactly once,
in seq order per flow, with Event-Sequence increasing per flow; and the
port's per-queue counters must show both queues used.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evr_e2e as E  # noqa: E402


def main():
    recv, stats_path, flows, events = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    dests = sys.argv[5:]
    c = E.Checker()
    recs = E.load_records(recv)
    for d in dests:
        got = [r for r in recs if r['dst'] == d]
        per_flow, dup, perr = {}, 0, 0
        seen = set()
        for r in got:
            try:
                n = E.parse_notification(r['payload'])
            except (ValueError, KeyError, UnicodeDecodeError):
                perr += 1
                continue
            f, s = int(n['attrs']['flow']), int(n['attrs']['seq'])
            if (f, s) in seen:
                dup += 1
            seen.add((f, s))
            per_flow.setdefault(f, []).append((s, n['seq']))
        c.eq(perr, 0, '%s: every notification parses' % d)
        c.eq(len(got), flows * events, '%s: %d notifications (%d flows x %d events): no loss'
             % (d, flows * events, flows, events))
        c.eq(dup, 0, '%s: no duplicate (flow, seq)' % d)
        missing = flows * events - len(seen)
        c.eq(missing, 0, '%s: no (flow, seq) missing' % d)
        bad_order = [f for f, v in per_flow.items()
                     if [s for s, _ in v] != sorted(s for s, _ in v)]
        c.eq(bad_order, [], '%s: FIFO per source flow (seq attribute in order)' % d)
        bad_evseq = [f for f, v in per_flow.items()
                     if any(q is None for _, q in v) or
                     any(a >= b for (_, a), (_, b) in zip(v, v[1:]))]
        c.eq(bad_evseq, [], '%s: Event-Sequence strictly increasing per flow' % d)
    st = json.load(open(stats_path))['dataplane']
    port = st['ports'][0]
    c.eq(port['rx_queues'], 2, 'port has 2 RX queues')
    qs = {q['queue']: q['counters'] for q in port['queues']}
    for q in (0, 1):
        rx = qs.get(q, {}).get('decode_ok', 0)
        c.check(rx > 0, 'queue %d decoded events: %d > 0' % (q, rx))
    ws = [w['counters']['decode_ok'] for w in st['workers']]
    c.check(len(ws) == 2 and all(x > 0 for x in ws), 'both workers decoded events %s' % ws)
    c.check(sum(ws) >= flows * events, 'events decoded over both workers >= events sent (%d)' % sum(ws))
    # which flows went where: a flow is never split between queues
    print('queue split (decode_ok): %s' % {q: qs.get(q, {}).get('decode_ok', 0) for q in (0, 1)})
    return c.rc()


if __name__ == '__main__':
    sys.exit(main())
