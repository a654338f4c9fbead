#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Helper of cluster_e2e.sh (store.kind = "nats": three evrd sharing their
runtime subscriptions through a JetStream KV bucket on a 3-node nats-server
cluster). Python standard library only; every loop is bounded in count and
time.

NATS side (the servers' monitoring port, GET /jsz):
  meta   --http P1,P2,.. --size N --timeout S
         wait until every listed server names the same JetStream meta
         leader of a cluster of N; prints the leader
  stream --http P1,.. --stream NAME --timeout S
         wait until a listed server knows stream NAME with a leader; prints
         {"leader", "replicas", "messages"} as one JSON line

evrd side (control sockets, evr_* methods):
  vis    --a SOCK --c SOCK --n N --event E --dest D --tag T --node ID
         --p99-ms MS --out F
         N subscribes on A, one at a time; after each reply, C is polled
         (evr_subscribers_list after=id-1 limit=1: the cheapest read by id)
         every ~1 ms until it lists the id (at most --max-wait-s). Latency:
         from A's reply to the first poll reply of C that lists it. Prints
         p50/p99/max, writes them (and the ids' checks) to F as JSON; exit 0
         iff every one was visible and p99 <= MS, 1 if p99 was over, 2 if
         some were not acknowledged or never visible (stops after 10 in a
         row, or --budget-s)
  wait-id --sock S --id ID [--gone] --timeout S
         until the id is listed (or no longer is); prints the wait
  subscribe --sock S --event E --dest D --filter k=v.. [--once] [--expire N]
         [--retry-s S]
         one subscription, tried again (0.2 s apart, at most --retry-s) until
         a reply acknowledges it durably; prints its id, the attempts on
         stderr
  bulk   --sock S --n N --event E --dest D --tag T --node ID
         N subscriptions pipelined; exit 0 iff all are acknowledged durably
         with ids of node ID below 2^53
  once   --a SOCK --c SOCK --all S1,S2,S3 --n N --event E --sink PATH --tag T
         N `once` subscriptions on A to unix:PATH (this process binds it);
         once all are visible on C, each one's event is raised on A and on
         C at the same time (both requests written before either answer is
         read); checks exactly one notification per subscription, and that
         every fired one is gone on every evrd (PASS/FAIL lines)
  same-set --socks S1,S2,.. --timeout S
         every evrd lists the same subscription ids (waits for it; prints
         the differences if it never happens; PASS/FAIL lines)
  prom   --port P --name METRIC
         the value of an unlabelled Prometheus sample of GET /metrics
"""
import argparse
import json
import os
import socket
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evr_e2e import Checker, Ctl, parse_notification, unix_dgram_sink  # noqa: E402

NODE_SHIFT = 40
ID_MAX = 1 << 53


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ NATS


def jsz(port, query=''):
    url = 'http://127.0.0.1:%d/jsz%s' % (port, query)
    with urllib.request.urlopen(url, timeout=2) as r:
        return json.loads(r.read())


def ports(text):
    return [int(p) for p in text.split(',') if p]


def cmd_meta(a):
    deadline = time.monotonic() + a.timeout
    t0 = time.monotonic()
    state = {}
    while True:
        state = {}
        for p in ports(a.http):
            try:
                m = jsz(p).get('meta_cluster') or {}
                state[p] = (m.get('leader') or '', m.get('cluster_size'))
            except (OSError, ValueError) as e:
                state[p] = ('', 'error: %s' % e)
        leaders = set(v[0] for v in state.values())
        if len(leaders) == 1 and '' not in leaders and \
                all(v[1] == a.size for v in state.values()):
            print(leaders.pop())
            log('meta leader elected after %.1f s' % (time.monotonic() - t0))
            return 0
        if time.monotonic() >= deadline:
            log('no common meta leader of %d within %.0f s: %r' % (a.size, a.timeout, state))
            return 1
        time.sleep(0.2)


def cmd_stream(a):
    deadline = time.monotonic() + a.timeout
    last = None
    while True:
        for p in ports(a.http):
            try:
                d = jsz(p, '?accounts=true&streams=true&config=true')
            except (OSError, ValueError) as e:
                last = 'port %d: %s' % (p, e)
                continue
            for acc in d.get('account_details') or []:
                for s in acc.get('stream_detail') or []:
                    if s.get('name') != a.stream:
                        continue
                    cl = s.get('cluster') or {}
                    last = s
                    if cl.get('leader'):
                        print(json.dumps({
                            'leader': cl['leader'],
                            'replicas': (s.get('config') or {}).get('num_replicas'),
                            'messages': (s.get('state') or {}).get('messages')}))
                        return 0
        if time.monotonic() >= deadline:
            log('stream %s: no leader within %.0f s (last: %r)' % (a.stream, a.timeout, last))
            return 1
        time.sleep(0.2)


# ------------------------------------------------------------------ evrd


def listed(c, sid):
    """True iff evrd (Ctl c) lists subscription sid."""
    r = c.call('evr_subscribers_list', {'after': sid - 1, 'limit': 1})
    subs = r['result']['subscribers']
    return bool(subs) and subs[0]['id'] == sid


def all_ids(sock):
    c = Ctl(sock, timeout=30)
    ids, after = [], 0
    for _ in range(100000):  # pages of 1000: up to 1e8 subscriptions
        p = {'limit': 1000}
        if after:
            p['after'] = after
        r = c.call('evr_subscribers_list', p)['result']
        ids.extend(s['id'] for s in r['subscribers'])
        if r.get('next') is None:
            break
        after = r['next']
    c.close()
    return ids


def sub_params(a, filters, once=False):
    p = {'event': a.event, 'socket': a.dest, 'filters': filters, 'expire': a.expire}
    if once:
        p['once'] = True
    return p


def acked(r):
    """The id of a reply that acknowledges a subscription durably, else None."""
    res = r.get('result')
    if not isinstance(res, dict) or res.get('durable') is False or 'id' not in res:
        return None
    return res['id']


def id_ok(sid, node):
    return isinstance(sid, int) and 0 < sid < ID_MAX and (node is None or sid >> NODE_SHIFT == node)


def pct(sorted_ms, q):
    """Nearest-rank percentile of a sorted list."""
    if not sorted_ms:
        return float('inf')
    k = max(0, min(len(sorted_ms) - 1, int(-(-q * len(sorted_ms) // 100)) - 1))
    return sorted_ms[k]


def cmd_vis(a):
    ca, cc = Ctl(a.a, timeout=10), Ctl(a.c, timeout=10)
    lat, missing, refused, bad_ids, polls, row = [], 0, 0, [], 0, 0
    budget = time.monotonic() + a.budget_s
    for i in range(a.n):
        if time.monotonic() >= budget or row >= 10:
            log('vis: stopped after %d subscribes (%s)' % (
                i, '10 in a row not acknowledged or not visible' if row >= 10
                else 'time budget of %.0f s spent' % a.budget_s))
            missing += a.n - i
            break
        try:
            r = ca.call('evr_subscribe', sub_params(a, ['v=%s-%d' % (a.tag, i)]))
        except (OSError, ValueError) as e:
            log('vis: subscribe %d on A: %s' % (i, e))
            missing += a.n - i
            break
        t_reply = time.monotonic()
        sid = acked(r)
        if sid is None:
            refused += 1
            row += 1
            log('vis: subscribe %d not acknowledged: %s' % (i, json.dumps(r)[:300]))
            continue
        if not id_ok(sid, a.node):
            bad_ids.append(sid)
        end = t_reply + a.max_wait_s
        seen = None
        while True:
            t = time.monotonic()
            ok = listed(cc, sid)
            polls += 1
            now = time.monotonic()
            if ok:
                seen = now
                break
            if now >= end:
                break
            time.sleep(max(0.0, t + 0.001 - time.monotonic()))
        if seen is None:
            missing += 1
            row += 1
            log('vis: id %d not visible on C within %.1f s' % (sid, a.max_wait_s))
        else:
            row = 0
            lat.append((seen - t_reply) * 1000.0)
    ca.close()
    cc.close()
    s = sorted(lat)

    def ms(v):
        return round(v, 2) if s else None
    res = {'n': a.n, 'visible': len(s), 'missing': missing, 'refused': refused,
           'bad_ids': bad_ids[:10], 'n_bad_ids': len(bad_ids), 'polls': polls,
           'p50_ms': ms(pct(s, 50)), 'p99_ms': ms(pct(s, 99)), 'max_ms': ms(s[-1] if s else 0)}
    print('visibility A -> C over %d subscribes: p50 %s ms, p99 %s ms, max %s ms '
          '(%d missing, %d not acknowledged, %d polls of C)'
          % (a.n, res['p50_ms'], res['p99_ms'], res['max_ms'], missing, refused, polls))
    with open(a.out, 'w') as f:
        json.dump(res, f)
    if missing or refused:
        return 2  # not a latency problem: no second run
    return 0 if pct(s, 99) <= a.p99_ms else 1


def cmd_wait_id(a):
    try:
        c = Ctl(a.sock, timeout=10)
    except OSError as e:
        log('%s: %s' % (a.sock, e))
        return 1
    t0 = time.monotonic()
    deadline = t0 + a.timeout
    while True:
        if listed(c, a.id) != a.gone:
            log('id %d %s after %.0f ms' % (a.id, 'gone' if a.gone else 'visible',
                                             (time.monotonic() - t0) * 1000))
            return 0
        if time.monotonic() >= deadline:
            log('id %d still %s after %.1f s' % (a.id, 'listed' if a.gone else 'not listed',
                                                 a.timeout))
            return 1
        time.sleep(0.005)


def cmd_subscribe(a):
    t0 = time.monotonic()
    deadline = t0 + a.retry_s
    attempts, first_err = 0, None
    c = None
    while True:
        attempts += 1
        try:
            if c is None:
                c = Ctl(a.sock, timeout=10)
            r = c.call('evr_subscribe', sub_params(a, a.filter or [], a.once))
            sid = acked(r)
        except (OSError, ValueError) as e:
            r, sid, c = {'exception': str(e)}, None, None
        if sid is not None:
            log('acknowledged after %d attempt(s), %.0f ms%s' % (
                attempts, (time.monotonic() - t0) * 1000,
                '' if first_err is None else ' (first answer: %s)' % json.dumps(first_err)[:300]))
            print(sid)
            return 0
        if first_err is None:
            first_err = r
        if time.monotonic() >= deadline:
            log('not acknowledged in %d attempt(s) over %.1f s; first answer %s, last %s'
                % (attempts, a.retry_s, json.dumps(first_err)[:300], json.dumps(r)[:300]))
            return 1
        time.sleep(0.2)


def cmd_bulk(a):
    c = Ctl(a.sock, timeout=60)
    rs = c.pipeline([{'method': 'evr_subscribe',
                      'params': sub_params(a, ['b=%s-%d' % (a.tag, i), 'x=*%d' % (i % 7)])}
                     for i in range(a.n)], window=256)
    c.close()
    ids = [acked(r) for r in rs]
    bad = [r for r, i in zip(rs, ids) if i is None]
    wrong = [i for i in ids if i is not None and not id_ok(i, a.node)]
    print('bulk %s: %d acknowledged, %d not, %d ids not of node %s or >= 2^53 %s'
          % (a.tag, a.n - len(bad), len(bad), len(wrong), a.node,
             json.dumps(bad[:1] + wrong[:3])[:300]))
    return 0 if not bad and not wrong and len(set(ids)) == a.n else 1


def cmd_once(a):
    ck = Checker()
    rx = unix_dgram_sink(a.sink)
    rx.settimeout(0.05)
    a.dest = 'unix:' + a.sink
    # A unix datagram socket queues few datagrams (net.unix.max_dgram_qlen,
    # 10) and evrd does not wait on a full one: read while raising.
    got, bad, stop = {}, [], threading.Event()

    def reader():
        end = time.monotonic() + a.timeout + 60  # bounded whatever happens
        while not stop.is_set() and time.monotonic() < end:
            try:
                data = rx.recv(70000)
            except socket.timeout:
                continue
            try:
                k = parse_notification(data)['attrs'].get('k')
            except (ValueError, KeyError, AttributeError) as e:
                bad.append(str(e))
                continue
            got[k] = got.get(k, 0) + 1
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    ca, cc = Ctl(a.a, timeout=10), Ctl(a.c, timeout=10)
    rs = ca.pipeline([{'method': 'evr_subscribe',
                       'params': sub_params(a, ['k=%s-%d' % (a.tag, i)], once=True)}
                      for i in range(a.n)])
    ids = [acked(r) for r in rs]
    if not ck.check(all(i is not None for i in ids),
                    '%d once subscriptions on A acknowledged' % a.n):
        return ck.rc()
    deadline = time.monotonic() + a.timeout
    while time.monotonic() < deadline and not all(listed(cc, i) for i in ids):
        time.sleep(0.01)
    if not ck.check(all(listed(cc, i) for i in ids),
                    'the %d once subscriptions made on A are visible on C' % a.n):
        return ck.rc()
    replies = []
    for i in range(a.n):
        req = {'jsonrpc': '2.0', 'id': i, 'method': 'evr_raise_event',
               'params': {'event': a.event, 'params': {'k': '%s-%d' % (a.tag, i)}}}
        line = (json.dumps(req) + '\n').encode()
        ca.send_raw(line)  # both written before either answer is read:
        cc.send_raw(line)  # the two appliances match it at the same time
        replies.append((ca.read_line(), cc.read_line()))
    # every one in (at most --timeout), then 1 s more to see duplicates
    end = time.monotonic() + a.timeout
    while sum(got.values()) < a.n and time.monotonic() < end:
        time.sleep(0.01)
    time.sleep(1.0)
    stop.set()
    th.join()
    rx.close()
    os.unlink(a.sink)
    total = sum(got.values())
    dup = {k: v for k, v in got.items() if v != 1}
    lost = [i for i in range(a.n) if '%s-%d' % (a.tag, i) not in got]
    notified = [(x.get('result') or {}).get('notified', 0) + (y.get('result') or {}).get('notified', 0)
                for x, y in replies]
    print('raise replies: notified (A + C) per event: %s' % dict(
        (v, notified.count(v)) for v in sorted(set(notified))))
    ck.check(not bad, 'every notification well formed %s' % bad[:2])
    ck.eq(total, a.n, '`once` raised on A and C at once: notifications in all')
    ck.check(not dup and not lost,
             'exactly one notification per `once` subscription (duplicated %s, missing %s)'
             % (sorted(dup.items())[:5], lost[:5]))
    # a fired `once` is removed everywhere
    socks = [s for s in a.all.split(',') if s]
    deadline = time.monotonic() + a.timeout
    cs = [Ctl(s, timeout=10) for s in socks]
    left = []
    while True:
        left = [(k, i) for k, c in enumerate(cs) for i in ids if listed(c, i)]
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    for c in cs:
        c.close()
    ck.check(not left, 'every fired `once` gone on every evrd within %.0f s (left: %s)'
             % (a.timeout, left[:5]))
    ca.close()
    cc.close()
    return ck.rc()


def cmd_same_set(a):
    ck = Checker()
    socks = [s for s in a.socks.split(',') if s]
    deadline = time.monotonic() + a.timeout
    while True:
        try:
            sets = [set(all_ids(s)) for s in socks]
        except (OSError, ValueError) as e:
            ck.check(False, 'every evrd lists the same subscription ids: %s' % e)
            return ck.rc()
        if all(x == sets[0] for x in sets) or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    same = all(x == sets[0] for x in sets)
    if not same:
        union = set().union(*sets)
        for s, x in zip(socks, sets):
            print('  %s: %d ids, missing %s, extra vs first %s'
                  % (s, len(x), sorted(union - x)[:5], sorted(x - sets[0])[:5]))
    ck.check(same, 'every evrd lists the same %d subscription ids (%s)'
             % (len(sets[0]), ', '.join(str(len(x)) for x in sets)))
    return ck.rc()


def by_filter(sock, event):
    """{filter text: [ids]} of event's subscriptions on one evrd."""
    c = Ctl(sock, timeout=30)
    out, after = {}, 0
    for _ in range(1000):
        p = {'event': event, 'limit': 1000}
        if after:
            p['after'] = after
        r = c.call('evr_subscribers_list', p)['result']
        for sub in r['subscribers']:
            out.setdefault(','.join(sub.get('filters') or []), []).append(sub['id'])
        if r.get('next') is None:
            break
        after = r['next']
    c.close()
    return out


def cmd_dup(a):
    """The same subscription made on A and on C at the same moment: two ids
    at first; every evrd converges on the lower one."""
    ck = Checker()
    ca, cc = Ctl(a.a, timeout=10), Ctl(a.c, timeout=10)
    pairs = []
    for i in range(a.n):
        p = sub_params(a, ['d=%s-%d' % (a.tag, i)])
        got = {}
        go = threading.Barrier(2)

        def run(name, c):
            go.wait()
            got[name] = acked(c.call('evr_subscribe', p))
        ts = [threading.Thread(target=run, args=x) for x in (('a', ca), ('c', cc))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        pairs.append((got.get('a'), got.get('c')))
    ca.close()
    cc.close()
    ck.check(all(x and y for x, y in pairs), 'dup: %d subscribes on A and C acknowledged' % a.n)
    raced = sum(1 for x, y in pairs if x != y)
    log('dup: %d of %d pairs got two ids' % (raced, a.n))
    want = {'d=%s-%d' % (a.tag, i): [min(x, y)] for i, (x, y) in enumerate(pairs) if x and y}
    socks = [s for s in a.all.split(',') if s]
    deadline = time.monotonic() + a.timeout
    while True:
        seen = [by_filter(s, a.event) for s in socks]
        if all(x == want for x in seen) or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    bad = [(s, f, x.get(f)) for s, x in zip(socks, seen) for f in want if x.get(f) != want[f]]
    ck.check(not bad, 'dup: every evrd holds each subscription once, under the lower id '
             '(%d pairs raced; wrong: %s)' % (raced, bad[:3]))
    return ck.rc()


def cmd_prom(a):
    url = 'http://127.0.0.1:%d/metrics' % a.port
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            text = r.read().decode()
    except OSError as e:
        log('GET %s: %s' % (url, e))
        return 1
    for line in text.splitlines():
        f = line.split()
        if len(f) == 2 and f[0] == a.name:
            print(f[1])
            return 0
    log('GET %s: no unlabelled sample %s' % (url, a.name))
    return 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('cmd')
    ap.add_argument('--http')
    ap.add_argument('--size', type=int, default=3)
    ap.add_argument('--stream')
    ap.add_argument('--timeout', type=float, default=10.0)
    ap.add_argument('--a')
    ap.add_argument('--c')
    ap.add_argument('--all', default='')
    ap.add_argument('--sock')
    ap.add_argument('--socks')
    ap.add_argument('--n', type=int, default=200)
    ap.add_argument('--event', default='E_CLUSTER')
    ap.add_argument('--dest')
    ap.add_argument('--sink')
    ap.add_argument('--tag', default='t')
    ap.add_argument('--node', type=int)
    ap.add_argument('--expire', type=int, default=3600)
    ap.add_argument('--p99-ms', type=float, default=50.0)
    ap.add_argument('--max-wait-s', type=float, default=1.0)
    ap.add_argument('--budget-s', type=float, default=60.0)
    ap.add_argument('--out')
    ap.add_argument('--id', type=int)
    ap.add_argument('--gone', action='store_true')
    ap.add_argument('--filter', action='append')
    ap.add_argument('--once', action='store_true')
    ap.add_argument('--retry-s', type=float, default=0.0)
    ap.add_argument('--port', type=int)
    ap.add_argument('--name')
    a = ap.parse_args()
    cmds = {'meta': cmd_meta, 'stream': cmd_stream, 'vis': cmd_vis, 'wait-id': cmd_wait_id,
            'subscribe': cmd_subscribe, 'bulk': cmd_bulk, 'once': cmd_once,
            'same-set': cmd_same_set, 'prom': cmd_prom, 'dup': cmd_dup}
    if a.cmd not in cmds:
        ap.error('unknown command %s' % a.cmd)
    return cmds[a.cmd](a)


if __name__ == '__main__':
    sys.exit(main())
