#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Helper of store_e2e.sh (subscriptions that survive restarts, issue 14
§1): load subscriptions over the control socket, snapshot the live set,
churn while evrd is killed, and compare a snapshot taken after a restart
with what was acknowledged before it.

  load  --sock S --n N --once-sock PATH --out F   subscribe N (batches of 100):
        expire mix 4 s (10 %), 3600 s, 86400 s; 1 % `once` to unix:PATH; the
        acknowledged ids go to F (JSON list)
  dump  --sock S --out F                           every live subscription
        ({id: entry}, plus "_t": the monotonic time of the snapshot)
  churn --sock S --snap F --out F2                 subscribe new / unsubscribe
        loaded ones, pipelined, until the connection breaks (evrd killed);
        F2 gets what was acknowledged and what was in flight
  compare --before F --after F2 [--churn F3] [--expired-max S]
        every acknowledged subscription still unexpired is back with the
        same id, fields and remaining TTL (+-2 s); acknowledged removals and
        expired ones are gone; anything else present was in flight
"""
import argparse
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evr_e2e import Ctl  # noqa: E402

BATCH = 100  # control.max_batch


def sub_req(i, once_sock):
    if i % 100 == 7:
        return {"event": "E_ONCE", "socket": "unix:" + once_sock,
                "filters": ["k=o%d" % i], "expire": 3600, "once": True}
    expire = 4 if i % 10 == 3 else (86400 if i % 10 == 5 else 3600)
    return {"event": "E_STORE", "socket": "udp:198.18.16.2:%d" % (9000 + i % 7),
            "filters": ["aor=sip:u%d@example.com" % i, "n=%d*" % (i % 13)],
            "expire": expire, "format": ["jsonrpc", "json", "plain", "xml"][i % 4],
            "lenient": i % 11 == 0}


def batch_call(c, reqs, id0):
    text = '[' + ','.join(json.dumps({"jsonrpc": "2.0", "id": id0 + k,
                                      "method": "evr_subscribe", "params": r})
                          for k, r in enumerate(reqs)) + ']\n'
    c.send_raw(text.encode())


def load(a):
    c = Ctl(a.sock, timeout=120)
    ids, sent, pending, inflight = [], 0, 0, 4
    while sent < a.n or pending:
        while sent < a.n and pending < inflight:
            k = min(BATCH, a.n - sent)
            batch_call(c, [sub_req(i, a.once_sock) for i in range(sent, sent + k)], sent)
            sent += k
            pending += 1
        ans = c.read_line()
        pending -= 1
        for r in ans:
            if 'result' not in r:
                raise SystemExit('load: %r' % r)
            if r['result'].get('durable') is False:
                raise SystemExit('load: not durable: %r' % r)
            ids.append(r['result']['id'])
    c.close()
    json.dump(ids, open(a.out, 'w'))
    print('loaded %d' % len(ids))


def dump_all(sock):
    c = Ctl(sock, timeout=120)
    out, after = {}, 0
    t = time.monotonic()
    while True:
        p = {"limit": 1000}
        if after:
            p["after"] = after
        r = c.call("evr_subscribers_list", p)['result']
        for s in r['subscribers']:
            out[str(s['id'])] = s
        if r.get('next') is None:
            break
        after = r['next']
    c.close()
    out['_t'] = t
    return out


def dump(a):
    d = dump_all(a.sock)
    json.dump(d, open(a.out, 'w'))
    print('dumped %d' % (len(d) - 1))


def churn(a):
    snap = json.load(open(a.snap))
    victims = [int(k) for k, v in snap.items() if k != '_t' and v.get('event') == 'E_STORE'
               and v.get('expire') == 3600]
    c = Ctl(a.sock, timeout=30)
    acked_sub, acked_unsub = {}, []
    inflight = {}  # request id -> ('sub', k) | ('unsub', id)
    nid, k, vi = 1, 0, 0
    try:
        while True:
            while len(inflight) < 64:
                if nid % 2:
                    req = {"event": "E_CHURN", "socket": "udp:198.18.16.2:9100",
                           "filters": ["c=%d" % k], "expire": 3600}
                    inflight[nid] = ('sub', k)
                    m = "evr_subscribe"
                    k += 1
                else:
                    req = {"id": victims[vi % len(victims)]}
                    inflight[nid] = ('unsub', victims[vi % len(victims)])
                    vi += 1
                    m = "evr_unsubscribe"
                c.send_raw((json.dumps({"jsonrpc": "2.0", "id": nid, "method": m,
                                        "params": req}) + '\n').encode())
                nid += 1
            r = c.read_line()
            what = inflight.pop(r['id'])
            if 'result' not in r:
                continue
            if r['result'].get('durable') is False:
                raise SystemExit('churn: not durable: %r' % r)
            if what[0] == 'sub':
                acked_sub[what[1]] = r['result']['id']
            else:
                acked_unsub.append(what[1])
    except (ConnectionError, OSError, ValueError):
        pass
    json.dump({"acked_sub": acked_sub, "acked_unsub": acked_unsub,
               "inflight": list(inflight.values())}, open(a.out, 'w'))
    print('churn: %d subscribed, %d unsubscribed acknowledged, %d in flight'
          % (len(acked_sub), len(acked_unsub), len(inflight)))


def compare(a):
    before = json.load(open(a.before))
    after = json.load(open(a.after))
    dt = after.pop('_t') - before.pop('_t')
    ch = json.load(open(a.churn)) if a.churn else {"acked_sub": {}, "acked_unsub": [],
                                                    "inflight": []}
    gone = set(str(i) for i in ch['acked_unsub'])
    maybe_gone = set(str(w[1]) for w in ch['inflight'] if w[0] == 'unsub')
    maybe_new = set('c=%d' % w[1] for w in ch['inflight'] if w[0] == 'sub')
    bad = []
    keys = ('event', 'socket', 'format', 'filters', 'once', 'lenient', 'expire')
    expected = 0
    for i, s in before.items():
        if i in gone or i in maybe_gone:
            continue
        alive = s['ttl'] is None or s['ttl'] - dt > 2
        got = after.get(i)
        if s['ttl'] is not None and s['ttl'] - dt < -1:
            if got:
                bad.append('id %s expired (ttl %s, %.1f s later) but is back' % (i, s['ttl'], dt))
            continue
        if not alive:
            continue  # within a second of expiring: either way
        expected += 1
        if not got:
            bad.append('id %s (%s %s) missing' % (i, s['event'], s['filters']))
            continue
        for k in keys:
            if got[k] != s[k]:
                bad.append('id %s: %s %r != %r' % (i, k, got[k], s[k]))
        if s['ttl'] is not None and abs((s['ttl'] - dt) - got['ttl']) > 2:
            bad.append('id %s: ttl %s, expected %.1f' % (i, got['ttl'], s['ttl'] - dt))
    for k, i in ch['acked_sub'].items():
        expected += 1
        if str(i) not in after:
            bad.append('acknowledged churn subscription %s (id %s) missing' % (k, i))
    for i in gone:
        if i in after:
            bad.append('acknowledged unsubscribe of id %s, but it is back' % i)
    acked_ids = set(str(i) for i in ch['acked_sub'].values())
    for i, s in after.items():
        if i in before or i in acked_ids:
            continue
        if not (s['event'] == 'E_CHURN' and s['filters'] and s['filters'][0] in maybe_new):
            bad.append('id %s (%s %s) was never acknowledged' % (i, s['event'], s['filters']))
    for b in bad[:20]:
        print('  ' + b)
    print('compare: %d expected back, %d present after, %d problem(s), %.1f s between'
          % (expected, len(after), len(bad), dt))
    sys.exit(1 if bad else 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('cmd')
    ap.add_argument('--sock')
    ap.add_argument('--n', type=int, default=100000)
    ap.add_argument('--once-sock')
    ap.add_argument('--out')
    ap.add_argument('--snap')
    ap.add_argument('--before')
    ap.add_argument('--after')
    ap.add_argument('--churn')
    a = ap.parse_args()
    {'load': load, 'dump': dump, 'churn': churn, 'compare': compare}[a.cmd](a)


if __name__ == '__main__':
    main()
