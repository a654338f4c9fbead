#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Workload and result side of the appliance SIP benchmark (bench/sip/run.sh).
Standard library only; the control-socket load/snap/settle steps are
bench/appliance/appliance.py's, reused as they are.

  sip_bench.py subs N MANIFEST OUT.jsonl OUT_INFO.json [--seed S] [--active P]
      N event_subscribe requests (JSON-RPC 2.0, ids 1..N) on the events evrd
      derives from SIP, each with an exact or prefix filter on one user
      (see SUB_MIX); a share P of the filters target users that occur in
      the capture (MANIFEST from gen_sip_pcap.py), the rest users of the
      whole universe, so a realistic fraction of derived events matches
  sip_bench.py sample SOCK INTERVAL DURATION OUT.jsonl
      `stats` every INTERVAL s (SIP messages, derived events, notifications)
  sip_bench.py summary RESULT_DIR OUT.json
      snapshots + testpmd log -> result JSON and the summary table
"""
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, '..', 'appliance'))
import appliance  # noqa: E402  (Ctl, testpmd_pps)

# (share, event, filter key, value kind, second filter or None, format)
# value kinds: 'aor' user@domain exact, 'aor*' user@* prefix glob, 'user'
# the bare user. Keys and values are those evr_sip_state.h documents.
SUB_MIX = [
    (0.18, 'E_UL_CONTACT_INSERT', 'aor', 'aor', None, 'jsonrpc'),
    (0.08, 'E_UL_CONTACT_UPDATE', 'aor', 'aor*', None, 'jsonrpc'),
    (0.08, 'E_UL_AOR_INSERT', 'aor', 'aor', None, 'jsonrpc'),
    (0.04, 'E_UL_CONTACT_DELETE', 'aor', 'aor', None, 'jsonrpc'),
    (0.12, 'CUSTOM sofia::register', 'from-user', 'user', None, 'plain'),
    (0.04, 'CUSTOM sofia::register', 'from-user', 'user', 'user-agent=Linphone*', 'json'),
    (0.04, 'CUSTOM sofia::unregister', 'from-user', 'user', None, 'plain'),
    (0.04, 'CUSTOM sofia::register_attempt', 'from-user', 'user', None, 'json'),
    (0.10, 'CHANNEL_CREATE', 'Caller-Caller-ID-Number', 'user', None, 'plain'),
    (0.08, 'CHANNEL_ANSWER', 'Caller-Destination-Number', 'user', None, 'json'),
    (0.05, 'CHANNEL_PROGRESS', 'Caller-Destination-Number', 'user', None, 'plain'),
    (0.10, 'CHANNEL_HANGUP_COMPLETE', 'Caller-Caller-ID-Number', 'user', None, 'json'),
    (0.05, 'CHANNEL_HANGUP_COMPLETE', 'Caller-Destination-Number', 'user',
     'Hangup-Cause=USER_BUSY', 'plain'),
]
N_DESTS = 256


def cmd_subs(n, manifest, out, info_out, seed=7, active=0.3):
    m = json.load(open(manifest))
    rng = random.Random(seed)
    n_dom = 20
    active_users = sorted({f['user'] for f in m['flow_list']} |
                          {f['callee'] for f in m['flow_list'] if f.get('callee')})
    universe = m['users']
    tot = sum(x[0] for x in SUB_MIX)
    cum, acc = [], 0.0
    for x in SUB_MIX:
        acc += x[0] / tot
        cum.append(acc)
    by_event = {}
    with open(out, 'w') as f:
        for i in range(n):
            u = rng.random()
            k = next(j for j, c in enumerate(cum) if u <= c or j == len(cum) - 1)
            share, ev, key, kind, extra, fmt = SUB_MIX[k]
            if rng.random() < active and active_users:
                user = rng.choice(active_users)
            else:
                user = 'user%07u' % rng.randrange(universe)
            num = int(user[4:])
            dom = 'domain%02u.example.com' % (num % n_dom)
            val = {'aor': '%s@%s' % (user, dom), 'aor*': '%s@*' % user, 'user': user}[kind]
            filters = ['%s=%s' % (key, val)] + ([extra] if extra else [])
            d = rng.randrange(N_DESTS)
            params = {'event': ev, 'socket': 'udp:198.19.%d.%d:%d' % (
                      2 + d // 200, 10 + d % 200, 9000 + d % 7),
                      'expire': 86400, 'format': fmt, 'filters': filters}
            f.write(json.dumps({'jsonrpc': '2.0', 'id': i + 1, 'method': 'event_subscribe',
                                'params': params}, separators=(',', ':')) + '\n')
            by_event[ev] = by_event.get(ev, 0) + 1
    info = {'subscriptions': n, 'seed': seed, 'active_share': active,
            'active_users': len(active_users), 'universe': universe,
            'by_event': by_event, 'destinations': N_DESTS,
            'mix': [{'share': x[0], 'event': x[1], 'filter': x[2] + '=<' + x[3] + '>',
                     'extra': x[4], 'format': x[5]} for x in SUB_MIX]}
    json.dump(info, open(info_out, 'w'), indent=1)
    print('subs: %d subscriptions on %d event names, %.0f%% on the capture\'s %d users'
          % (n, len(by_event), active * 100, len(active_users)))
    return 0


def wsum(dp, key):
    return [w['counters'].get(key, 0) for w in dp.get('workers', [])]


def cmd_sample(sock, interval, duration, out):
    return appliance.sample(sock, interval, duration, out, lambda r, dp: {
        'sip_rx': wsum(dp, 'sip_rx'), 'sip_events': wsum(dp, 'sip_events'),
        'notifications': wsum(dp, 'notifications'),
        'dialogs': wsum(dp, 'sip_dialogs'),
        'registrations': wsum(dp, 'sip_registrations')})


DROPS = ['ring_full', 'pool_empty', 'tx_full', 'fanout_overflow', 'encode_overflow',
         'arp_queue_overflow', 'arp_unresolved', 'no_route', 'sip_handoff_full',
         'sip_too_large', 'rx_bad_udp_checksum', 'rx_frag_dropped', 'match_errors']
STATE = ['sip_state_msgs', 'sip_state_events', 'sip_state_dup_request',
         'sip_state_dup_response', 'sip_state_absorbed', 'sip_state_orphan_response',
         'sip_state_orphan_request', 'sip_state_late_2xx', 'sip_state_dialog_evicted',
         'sip_state_contact_evicted', 'sip_state_reg_txn_evicted', 'sip_state_reg_txn_timeout',
         'sip_state_dialog_timeout', 'sip_state_attr_dropped']


def window(a, b):
    da, db = a['dataplane'], b['dataplane']
    dt = db['uptime_s'] - da['uptime_s']
    ws = []
    for wa, wb in zip(da['workers'], db['workers']):
        ca, cb = wa['counters'], wb['counters']

        def d(k):
            return cb.get(k, 0) - ca.get(k, 0)
        msgs = d('sip_rx')
        ws.append({
            'worker': wb['worker'], 'lcore': wb['lcore'],
            'rx_packets_per_s': d('rx_packets') / dt,
            'sip_messages_per_s': msgs / dt,
            'sip_parsed_ok_per_s': d('sip_ok') / dt,
            'state_messages_per_s': d('sip_state_msgs') / dt,
            'derived_events_per_s': d('sip_events') / dt,
            'notifications_per_s': d('notifications') / dt,
            'events_per_message': d('sip_events') / msgs if msgs else 0,
            'notifications_per_event': d('notifications') / d('sip_events') if d('sip_events') else 0,
            'busy_ratio': ((wb['busy_loops'] - wa['busy_loops']) /
                           max(1, wb['loops'] - wa['loops'])),
            'dialogs_held': cb.get('sip_dialogs', 0),
            'registrations_held': cb.get('sip_registrations', 0),
        })
    ta, tb = da['totals'], db['totals']

    def td(k):
        return tb.get(k, 0) - ta.get(k, 0)
    sip_bad = {k: td(k) for k in tb if k.startswith('sip_') and k not in ('sip_ok',)
               and k[4:] in SIP_REASONS and td(k)}
    return {
        'seconds': dt,
        'rx_packets_per_s': td('rx_packets') / dt,
        'sip_messages_per_s': td('sip_rx') / dt,
        'derived_events_per_s': td('sip_events') / dt,
        'notifications_per_s': td('notifications') / dt,
        'events_unmatched_per_s': td('events_unmatched') / dt,
        'matches_per_s': td('matches') / dt,
        'mirror_observed_per_s': td('mirror_observed') / dt,
        'drops': {k: td(k) for k in DROPS},
        'sip_parse_failures': sip_bad,
        'state': {k: td(k) for k in STATE},
        'events_by_name': None,
        'workers': ws,
        'subscriptions_live': b['matcher']['live'],
    }


SIP_REASONS = {'keepalive', 'empty', 'oversize', 'nul_byte', 'bad_start_line',
               'bad_status_code', 'bad_request_uri', 'line_too_long', 'bad_header',
               'truncated_headers', 'too_many_headers', 'bad_content_length', 'bad_cseq',
               'bad_via', 'bad_from', 'bad_to', 'bad_call_id', 'bad_contact',
               'content_length_mismatch', 'bad_version', 'duplicate_header', 'missing_to',
               'missing_from', 'missing_call_id', 'missing_cseq', 'missing_via',
               'cseq_method_mismatch'}


def cmd_summary(d, out):
    meta = json.load(open(os.path.join(d, 'meta.json')))
    gen = json.load(open(os.path.join(d, 'gen.json')))
    subs = json.load(open(os.path.join(d, 'subs_info.json')))
    phases = {}
    for ph in ('timers', 'recycle'):
        s0 = json.load(open(os.path.join(d, ph + '0.json')))
        s1 = json.load(open(os.path.join(d, ph + '1.json')))
        w = window(s0, s1)
        st = w['state']
        dup = st['sip_state_dup_request'] + st['sip_state_dup_response']
        w['dup_share'] = dup / st['sip_state_msgs'] if st['sip_state_msgs'] else 0
        w['subscription_load'] = json.load(open(os.path.join(d, 'load-%s.json' % ph)))
        nw = len(w['workers'])
        w['per_core'] = {
            'sip_messages_per_s': w['sip_messages_per_s'] / nw,
            'derived_events_per_s': w['derived_events_per_s'] / nw,
            'notifications_per_s': w['notifications_per_s'] / nw,
        }
        phases[ph] = w
    tp, tp_series = appliance.testpmd_pps(os.path.join(d, 'testpmd.log'), meta['warmup_s'])
    micro = None
    mp = os.path.join(d, 'micro.json')
    if os.path.exists(mp):
        doc = json.load(open(mp))
        micro = {b['name']: {'items_per_second': b.get('items_per_second'),
                             'events_per_s': b.get('events_per_s'),
                             'events_per_msg': b.get('events_per_msg'),
                             'dup': b.get('dup'), 'label': b.get('label')}
                 for b in doc['benchmarks'] if not b.get('error_occurred')}
    # headline: the deployed configuration (timers) when its state kept up
    head_name = 'timers' if phases['timers']['dup_share'] <= 0.05 else 'recycle'
    head = phases[head_name]
    target = 1e6
    p_parse = (micro or {}).get('BM_sip_parse', {}).get('items_per_second')
    p_state = (micro or {}).get('BM_sip_state/0', {}).get('items_per_second')
    res = {
        'command': meta['command'],
        'machine': meta['machine'],
        'cpu_busy_before_pct': meta.get('cpu_busy_before_pct'),
        'busy_processes_before': meta.get('busy_processes_before'),
        'config': meta['config'],
        'workload': {k: v for k, v in gen.items() if k != 'flow_list'},
        'subscriptions': subs,
        'phases': phases,
        'per_core': head['per_core'],
        'per_core_phase': head_name,
        'per_core_note': ('timers phase (state ends by sip.linger_ms, as deployed; it kept up)'
                          if head_name == 'timers' else
                          'recycle phase: the timers phase absorbed > 5% of the messages as '
                          'duplicates (state timers behind), so the headline is the phase '
                          'that processes every message as fresh traffic'),
        'testpmd': {'command': meta['testpmd_command'], 'rx_pps': tp, 'series_pps': tp_series},
        'ratios': {
            'evrd_sip_messages_per_testpmd_pps': head['sip_messages_per_s'] / tp if tp else None,
            'timers_over_recycle_sip_messages': (phases['timers']['sip_messages_per_s'] /
                                                 phases['recycle']['sip_messages_per_s']
                                                 if phases['recycle']['sip_messages_per_s']
                                                 else None),
            'derived_events_per_sip_message': (head['derived_events_per_s'] /
                                               head['sip_messages_per_s']
                                               if head['sip_messages_per_s'] else None),
            'notifications_per_derived_event': (head['notifications_per_s'] /
                                                head['derived_events_per_s']
                                                if head['derived_events_per_s'] else None),
            'micro_parse_state_over_parse': p_state / p_parse if p_parse and p_state else None,
            'evrd_per_core_over_micro_parse_state': (head['per_core']['sip_messages_per_s'] /
                                                     p_state if p_state else None),
        },
        'target': {'sip_messages_per_s_per_core': target,
                   'met': head['per_core']['sip_messages_per_s'] >= target},
        'microbenchmark': micro,
        'state_health_note': 'dup_share > 0 means ended dialogs/REGISTER transactions of the '
                             'previous pass were still held when their Call-IDs came round '
                             '(sip.linger_ms not honoured: expirations behind)',
    }
    json.dump(res, open(out, 'w'), indent=1)
    for ph in phases:  # gnuplot-ready per-second rates
        samples = [json.loads(x) for x in open(os.path.join(d, 'samples-%s.jsonl' % ph))
                   if x.strip()]
        with open(os.path.join(d, 'rates-%s.dat' % ph), 'w') as f:
            f.write('# t_s sip_messages_per_s derived_events_per_s notifications_per_s dialogs\n')
            for a, b in zip(samples, samples[1:]):
                dt = (b['uptime'] or 0) - (a['uptime'] or 0)
                if dt <= 0:
                    continue
                f.write('%.2f %.1f %.1f %.1f %d\n' % (
                    b['uptime'], (sum(b['sip_rx']) - sum(a['sip_rx'])) / dt,
                    (sum(b['sip_events']) - sum(a['sip_events'])) / dt,
                    (sum(b['notifications']) - sum(a['notifications'])) / dt,
                    sum(b['dialogs'])))
    r = res['ratios']
    print()
    print('appliance SIP benchmark (%s)' % meta['machine'])
    if (meta.get('cpu_busy_before_pct') or 0) > 10:
        print('  WARNING         machine %d%% busy before the run (%s): figures skewed'
              % (meta['cpu_busy_before_pct'], meta.get('busy_processes_before', '')))
    print('  capture         %d SIP messages (%d registrations, %d calls), %d frames %s, '
          'payload p50 %d B, INVITE %d..%d B' % (
              gen['messages'], gen['registrations'], gen['calls'], gen['frames'],
              'of HEPv3 to the listener' if gen.get('hep') else 'on a mirror port',
              gen['payload_bytes']['p50'], gen['invite_bytes']['min'], gen['invite_bytes']['max']))
    print('  subscriptions   %d (%s), loaded in %.2f / %.2f s' % (
        subs['subscriptions'], ', '.join('%s %d' % kv for kv in sorted(subs['by_event'].items())),
        phases['timers']['subscription_load']['seconds'],
        phases['recycle']['subscription_load']['seconds']))
    for ph, w in phases.items():
        w0 = w['workers'][0]
        st = w['state']
        print('  evrd %-8s   %8.0f SIP msg/s %8.0f derived ev/s %8.0f notif/s  (%d worker, busy '
              '%.2f) %.3f ev/msg, %.2f notif/ev, dup %.0f%%, evicted %d, orphan %d, '
              'parse failures %s, drops %s' % (
                  ph, w['sip_messages_per_s'], w['derived_events_per_s'],
                  w['notifications_per_s'], len(w['workers']), w0['busy_ratio'],
                  w['derived_events_per_s'] / w['sip_messages_per_s'] if w['sip_messages_per_s'] else 0,
                  w['notifications_per_s'] / w['derived_events_per_s'] if w['derived_events_per_s'] else 0,
                  100 * w['dup_share'],
                  st['sip_state_dialog_evicted'] + st['sip_state_contact_evicted'] +
                  st['sip_state_reg_txn_evicted'],
                  st['sip_state_orphan_request'] + st['sip_state_orphan_response'],
                  w['sip_parse_failures'] or 'none',
                  {k: v for k, v in w['drops'].items() if v} or 'none'))
    if phases['timers']['dup_share'] > 0.05:
        print('  WARNING         timers phase: %.0f%% of the messages absorbed as duplicates '
              '(fresh traffic has none): ended dialogs/transactions outlived sip.linger_ms, '
              'the state timers (evr_sip_state_tick, 256 expirations a call) did not keep up'
              % (100 * phases['timers']['dup_share']))
    print('  per core        %8.0f SIP messages/s, %8.0f derived events/s (%s phase; target '
          '>= 1M messages/s: %s)' % (head['per_core']['sip_messages_per_s'],
                                      head['per_core']['derived_events_per_s'], head_name,
                                      'met' if res['target']['met'] else 'NOT met'))
    print('  testpmd         %8.0f packets/s (io forward, same vdevs) = framework ceiling' % tp)
    print('  ratios          evrd/testpmd = %.4f   timers/recycle = %.3f' % (
        r['evrd_sip_messages_per_testpmd_pps'] or 0, r['timers_over_recycle_sip_messages'] or 0))
    if micro:
        print('  microbench      parse %s msg/s; parse+state %s msg/s (%s events/s, %.2f ev/msg); '
              'parse+state/parse = %.3f; evrd per core/(parse+state) = %.3f' % (
                  fmt_si(p_parse), fmt_si(p_state),
                  fmt_si(micro.get('BM_sip_state/0', {}).get('events_per_s')),
                  micro.get('BM_sip_state/0', {}).get('events_per_msg') or 0,
                  r['micro_parse_state_over_parse'] or 0,
                  r['evrd_per_core_over_micro_parse_state'] or 0))
        if micro.get('BM_hep_parse/1'):
            print('  microbench      HEPv3 decode %s pkt/s alone, %s msg/s with the SIP parse' % (
                fmt_si(micro.get('BM_hep_parse/0', {}).get('items_per_second')),
                fmt_si(micro['BM_hep_parse/1'].get('items_per_second'))))
        for name, b in micro.items():
            if name.startswith('BM_sip_state_replay'):
                print('  microbench      %s: %s msg/s, %.2f ev/msg, dup %d' % (
                    name.split('/min_time')[0], fmt_si(b['items_per_second']),
                    b.get('events_per_msg') or 0, b.get('dup') or 0))
    return 0


def fmt_si(x):
    if not x:
        return '-'
    for f, s in ((1e6, 'M'), (1e3, 'k')):
        if x >= f:
            return '%.2f%s' % (x / f, s)
    return '%.0f' % x


def main():
    a = sys.argv[1:]
    if not a:
        print(__doc__)
        return 2
    if a[0] == 'subs':
        kw = {}
        rest = a[5:]
        for i in range(0, len(rest), 2):
            kw[rest[i].lstrip('-')] = (int if rest[i] == '--seed' else float)(rest[i + 1])
        return cmd_subs(int(a[1]), a[2], a[3], a[4], **kw)
    if a[0] == 'sample':
        return cmd_sample(a[1], float(a[2]), float(a[3]), a[4])
    if a[0] == 'summary':
        return cmd_summary(a[1], a[2])
    print(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main())
