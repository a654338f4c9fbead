#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""SIP helpers and checkers for tests/e2e/sip_*.sh (standard library only;
builds on evr_e2e.py). Checkers print PASS:/FAIL: lines (lib.sh py_checks).

CLI (every loop bounded in count AND time):
  relay --listen IP:PORT --uas IP:PORT --reply-from IP:PORT --count N --timeout S
        a multi-homed SIP server's front end: requests received on --listen
        go unchanged to the UAS (a local address: over loopback, so never
        mirrored); the UAS's answers leave from --reply-from (the server's
        other address) to the request's source. Requests and responses of a
        transaction then have different UDP 4-tuples, and a multi-queue
        capture port hashes them to different queues.
  sip-msgs PCAP [--port P]...   SIP datagrams of a capture, one JSON line each
  check-mirror --notes F --pcap F --flows F --stats F --originate S [--workers N]
  check-hep    --notes F --pcap F --flows F --stats F
  check-endpoint --notes F --flows F --stats F
"""
import argparse
import json
import os
import re
import select
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evr_e2e as E  # noqa: E402


def hostport(s):
    h, _, p = s.rpartition(':')
    return h.strip('[]'), int(p)


# ------------------------------------------------------------------ relay


def cmd_relay(a):
    lis = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    lis.bind(hostport(a.listen))
    fwd = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    fwd.bind(('', 0))
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out.bind(hostport(a.reply_from))
    uas = hostport(a.uas)
    if a.ready:
        open(a.ready, 'w').close()
    peer = None
    n = 0
    deadline = time.monotonic() + a.timeout
    while n < a.count:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([lis, fwd], [], [], left)
        for s in r:
            data, src = s.recvfrom(65535)
            n += 1
            if s is lis:
                peer = src
                fwd.sendto(data, uas)
            elif peer is not None:
                out.sendto(data, peer)
    print('relay: %d datagram(s)' % n, file=sys.stderr)
    return 0


# ------------------------------------------------------------- SIP parsing

COMPACT = {'i': 'call-id', 'f': 'from', 't': 'to', 'v': 'via', 'm': 'contact',
           'l': 'content-length', 'c': 'content-type', 'o': 'event', 'e': 'content-encoding',
           'k': 'supported', 's': 'subject'}


def sip_parse(payload):
    """Minimal SIP view of a datagram: {'req': bool, 'method', 'code', 'reason',
    'hdrs': {lowercase name: [values]}, 'body'}; None if not SIP."""
    try:
        text = payload.decode('utf-8')
    except UnicodeDecodeError:
        return None
    head, _, body = text.partition('\r\n\r\n')
    lines = head.split('\r\n')
    if not lines or not lines[0]:
        return None
    sl = lines[0].split(' ', 2)
    m = {'hdrs': {}, 'body': body, 'start': lines[0]}
    if sl[0] == 'SIP/2.0' and len(sl) >= 2:
        m.update(req=False, code=int(sl[1]), reason=sl[2] if len(sl) > 2 else '')
    elif len(sl) == 3 and sl[2] == 'SIP/2.0':
        m.update(req=True, method=sl[0], ruri=sl[1])
    else:
        return None
    for ln in lines[1:]:
        k, sep, v = ln.partition(':')
        if not sep:
            continue
        k = k.strip().lower()
        k = COMPACT.get(k, k)
        m['hdrs'].setdefault(k, []).append(v.strip())
    cseq = m['hdrs'].get('cseq', ['0 X'])[0].split()
    m['cseq'] = int(cseq[0])
    m['cseq_method'] = cseq[1] if len(cseq) > 1 else ''
    if m['req']:
        pass
    else:
        m['method'] = m['cseq_method']
    m['callid'] = m['hdrs'].get('call-id', [''])[0]
    via = m['hdrs'].get('via', [''])[0]
    br = re.search(r';branch=([^;,\s]+)', via)
    m['branch'] = br.group(1) if br else ''
    return m


def sip_datagrams(pcap, ports=(5060,)):
    """SIP datagrams of a capture (UDP to or from one of ports)."""
    out = []
    for d in E.datagrams(E.parse_frames(pcap)):
        if d['sport'] not in ports and d['dport'] not in ports:
            continue
        m = sip_parse(d['payload'])
        if m is None:
            continue
        m.update(t=d['t'], src='%s:%d' % (d['src'], d['sport']),
                 dst='%s:%d' % (d['dst'], d['dport']), raw=d['payload'],
                 fragments=d['fragments'])
        out.append(m)
    return out


def cmd_sip_msgs(a):
    for m in sip_datagrams(a.pcap, tuple(a.port or [5060])):
        print(json.dumps({'t': m['t'], 'src': m['src'], 'dst': m['dst'],
                          'start': m['start'], 'callid': m['callid'], 'cseq': m['cseq'],
                          'branch': m['branch']}))
    return 0


def retransmissions(msgs):
    """Requests and responses seen more than once (same bytes: a transport
    retransmission), as (requests, responses) extra copies."""
    seen = {}
    for m in msgs:
        seen[m['raw']] = seen.get(m['raw'], 0) + 1
    rq = sum(n - 1 for raw, n in seen.items() if not raw.startswith(b'SIP/2.0'))
    rs = sum(n - 1 for raw, n in seen.items() if raw.startswith(b'SIP/2.0'))
    return rq, rs


# ------------------------------------------------------------ notifications


def load_notes(path):
    """Notifications, without evrd's own HEARTBEATs: an ALL subscriber gets
    them too (as from FreeSWITCH) whenever a run outlasts
    heartbeat.interval_s; heartbeat_e2e.sh checks them."""
    out = []
    for r in E.load_records(path):
        try:
            n = E.parse_notification(r['payload'])
        except (ValueError, KeyError, UnicodeDecodeError) as e:
            n = {'error': str(e), 'name': None, 'attrs': {}, 'subclass': None}
        if n.get('name') == 'HEARTBEAT':
            continue
        n['t'], n['dst'] = r['t'], r.get('dst')
        out.append(n)
    return out


def token(n):
    if n.get('name') == 'CUSTOM':
        return 'CUSTOM ' + (n.get('subclass') or n['attrs'].get('Event-Subclass', ''))
    if n.get('name') == 'E_DLG_STATE_CHANGED':
        a = n['attrs']
        return 'DLG %s>%s' % (a.get('old_state'), a.get('new_state'))
    return n.get('name')


def reg_user(n):
    a = n['attrs']
    if str(n.get('name', '')).startswith('E_UL_'):
        return str(a.get('aor', '')).split('@')[0]
    if n.get('name') == 'CUSTOM':
        return a.get('from-user') or a.get('user') or a.get('username')
    return None


def call_id_of(n):
    a = n['attrs']
    return a.get('variable_sip_call_id') or a.get('callid') or a.get('call-id')


UUID_RE = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')

CALL_STATE = {'CHANNEL_CREATE': 'DOWN', 'CHANNEL_PROGRESS': 'RINGING',
              'CHANNEL_ANSWER': 'ACTIVE', 'CHANNEL_HANGUP': 'HANGUP',
              'CHANNEL_HANGUP_COMPLETE': 'HANGUP'}
CHAN_STATE = {'CHANNEL_CREATE': 'CS_INIT', 'CHANNEL_PROGRESS': 'CS_EXECUTE',
              'CHANNEL_ANSWER': 'CS_EXECUTE', 'CHANNEL_HANGUP': 'CS_HANGUP',
              'CHANNEL_HANGUP_COMPLETE': 'CS_REPORTING'}


def call_sequence(kind):
    """Expected derived events of a call flow, in order: (token, cause)."""
    answered = [('CHANNEL_CREATE', None), ('CHANNEL_PROGRESS', None), ('DLG 1>2', None),
                ('CHANNEL_ANSWER', None), ('DLG 2>3', None), ('DLG 3>4', None),
                ('CHANNEL_HANGUP', 'NORMAL_CLEARING'),
                ('CHANNEL_HANGUP_COMPLETE', 'NORMAL_CLEARING'), ('DLG 4>5', None)]

    def failed(cause, rang):
        s = [('CHANNEL_CREATE', None)]
        if rang:
            s += [('CHANNEL_PROGRESS', None), ('DLG 1>2', None)]
        return s + [('CHANNEL_HANGUP', cause), ('CHANNEL_HANGUP_COMPLETE', cause),
                    ('DLG %d>5' % (2 if rang else 1), None)]
    # big: a 4 KB INVITE; reinv: the callee's re-INVITE and UPDATE raise nothing
    return {'answer': answered, 'retrans': answered, 'big': answered, 'reinv': answered,
            'busy': failed('USER_BUSY', False),
            'noanswer': failed('ORIGINATOR_CANCEL', True),
            'cancel': failed('ORIGINATOR_CANCEL', False),
            'timeout': failed('NO_ANSWER', True)}[kind]


def reg_sequence(kind):
    full = ['E_UL_AOR_INSERT', 'E_UL_CONTACT_INSERT', 'CUSTOM sofia::register',
            'E_UL_CONTACT_UPDATE', 'CUSTOM sofia::register',
            'E_UL_CONTACT_DELETE', 'E_UL_AOR_DELETE', 'CUSTOM sofia::unregister']
    return {'reg': full, 'reg-slow': full,
            'reg-auth': ['CUSTOM sofia::register_attempt', 'E_UL_AOR_INSERT',
                         'E_UL_CONTACT_INSERT', 'CUSTOM sofia::register'],
            'reg-expire': ['E_UL_AOR_INSERT', 'E_UL_CONTACT_INSERT', 'CUSTOM sofia::register',
                           'CUSTOM sofia::expire', 'E_UL_CONTACT_DELETE', 'E_UL_AOR_DELETE'],
            'reg-once': ['E_UL_AOR_INSERT', 'E_UL_CONTACT_INSERT', 'CUSTOM sofia::register'],
            'reg-hep': full}[kind]


def check_reg_flow(c, f, evs, label, uas_ip, domain):
    """Attributes of one registration flow's events (json format: strings)."""
    user, port, exp = f['user'], f['uac_port'], int(f['expires'])
    uac_ip = f.get('uac_ip', '198.18.4.1')
    tag = '%s %s' % (label, f['flow'])
    cids = {e['attrs'].get('callid') or e['attrs'].get('call-id') for e in evs} - {None}
    c.check(len(cids) == 1 and next(iter(cids)).startswith(f['cid_prefix']),
            '%s: one Call-ID (%s*) on the flow\'s events: %s' % (tag, f['cid_prefix'], sorted(cids)))
    cseq_ins = '2' if f['kind'] == 'reg-auth' else '1'
    for e in evs:
        a, tk = e['attrs'], token(e)
        if tk in ('E_UL_CONTACT_INSERT', 'E_UL_CONTACT_UPDATE'):
            want = {'domain': 'location', 'aor': '%s@%s' % (user, domain),
                    'uri': 'sip:%s@%s:%d' % (user, uac_ip, port),
                    'received': 'sip:%s:%d' % (uac_ip, port),
                    'socket': 'udp:%s:5060' % uas_ip, 'user_agent': 'evr-e2e-sipp',
                    'cseq': cseq_ins if tk == 'E_UL_CONTACT_INSERT' else '2'}
            c.eq({k: a.get(k) for k in want}, want, '%s: %s attributes' % (tag, tk))
            try:
                dt = int(a.get('expires')) - e['t']
            except (TypeError, ValueError):
                dt = None
            c.check(dt is not None and exp - 3 <= dt <= exp + 2,
                    '%s: %s expires = UNIX time of the event + %d s (got %s, +%s)' % (
                        tag, tk, exp, a.get('expires'), None if dt is None else round(dt, 1)))
        elif tk in ('E_UL_AOR_INSERT', 'E_UL_AOR_DELETE'):
            c.eq([a.get('domain'), a.get('aor')], ['location', '%s@%s' % (user, domain)],
                 '%s: %s domain, aor' % (tag, tk))
        elif tk == 'E_UL_CONTACT_DELETE':
            c.eq([a.get('aor'), a.get('uri')],
                 ['%s@%s' % (user, domain), 'sip:%s@%s:%d' % (user, uac_ip, port)],
                 '%s: E_UL_CONTACT_DELETE aor, uri' % tag)
        elif tk == 'CUSTOM sofia::register':
            want = {'profile-name': 'internal', 'from-user': user, 'from-host': domain,
                    'contact': '<sip:%s@%s:%d>' % (user, uac_ip, port),
                    'expires': str(exp), 'network-ip': uac_ip, 'network-port': str(port),
                    'status': 'Registered(UDP)', 'user-agent': 'evr-e2e-sipp',
                    'to-user': user, 'to-host': domain}
            if f['kind'] == 'reg-auth':
                want.update(username=user, realm=domain)
            c.eq({k: a.get(k) for k in want}, want, '%s: sofia::register attributes' % tag)
        elif tk == 'CUSTOM sofia::unregister':
            want = {'from-user': user, 'from-host': domain, 'expires': '0',
                    'contact': '<sip:%s@%s:%d>' % (user, uac_ip, port)}
            c.eq({k: a.get(k) for k in want}, want, '%s: sofia::unregister attributes' % tag)
        elif tk == 'CUSTOM sofia::register_attempt':
            want = {'from-user': user, 'from-host': domain, 'status': 'Unauthorized',
                    'network-ip': uac_ip, 'network-port': str(port)}
            c.eq({k: a.get(k) for k in want}, want,
                 '%s: sofia::register_attempt attributes' % tag)
        elif tk == 'CUSTOM sofia::expire':
            t_reg = min(x['t'] for x in evs if token(x) == 'CUSTOM sofia::register')
            want = {'user': user, 'host': domain,
                    'contact': '<sip:%s@%s:%d>' % (user, uac_ip, port)}
            c.eq({k: a.get(k) for k in want}, want, '%s: sofia::expire attributes' % tag)
            c.check(exp - 0.5 <= e['t'] - t_reg <= exp + 3,
                    '%s: sofia::expire %.2f s after the registration (lifetime %d s)' % (
                        tag, e['t'] - t_reg, exp))


def check_call_flow(c, f, evs, label, originate):
    tag = '%s %s' % (label, f['flow'])
    want = call_sequence(f['kind'])
    c.eq([token(e) for e in evs], [w[0] for w in want],
         '%s: derived events in order, no duplicate' % tag)
    fs = [e for e in evs if e['name'].startswith('CHANNEL_')]
    dl = [e for e in evs if e['name'] == 'E_DLG_STATE_CHANGED']
    uuids = {e['attrs'].get('Unique-ID') for e in fs}
    uid = next(iter(uuids)) if len(uuids) == 1 else None
    c.check(uid is not None and UUID_RE.match(uid or '') and
            all(e['attrs'].get('Caller-Unique-ID') == uid for e in fs),
            '%s: one Unique-ID (= Caller-Unique-ID, a UUID) on all %d channel events: %s' % (
                tag, len(fs), sorted(uuids, key=str)))
    caller, callee = f['caller'], f['callee']
    uac_ip = f.get('uac_ip', '198.18.4.1')
    got = [{k: e['attrs'].get(k) for k in (
        'Caller-Caller-ID-Number', 'Caller-Caller-ID-Name', 'Caller-ANI',
        'Caller-Destination-Number', 'Channel-Name', 'variable_sip_network_ip',
        'variable_sip_network_port', 'variable_sip_to_user')} for e in fs]
    exp = {'Caller-Caller-ID-Number': caller, 'Caller-Caller-ID-Name': caller,
           'Caller-ANI': caller, 'Caller-Destination-Number': callee,
           'Channel-Name': 'sofia/internal/%s@%s' % (caller, uac_ip),
           'variable_sip_network_ip': uac_ip, 'variable_sip_network_port': str(f['uac_port']),
           'variable_sip_to_user': callee}
    c.eq(got, [exp] * len(fs), '%s: caller/callee headers on every channel event' % tag)
    c.eq([(e['name'], e['attrs'].get('Channel-Call-State'), e['attrs'].get('Channel-State'))
          for e in fs],
         [(e['name'], CALL_STATE.get(e['name']), CHAN_STATE.get(e['name'])) for e in fs],
         '%s: Channel-Call-State / Channel-State per event' % tag)
    causes = {w[0]: w[1] for w in want if w[1]}
    c.eq([(e['name'], e['attrs'].get('Hangup-Cause')) for e in fs],
         [(e['name'], causes.get(e['name'])) for e in fs], '%s: Hangup-Cause' % tag)
    psc = 'sip:486' if f['kind'] == 'busy' else None
    c.eq([(e['name'], e['attrs'].get('variable_proto_specific_hangup_cause')) for e in fs
          if e['name'].startswith('CHANNEL_HANGUP')],
         [(n, psc) for n in ('CHANNEL_HANGUP', 'CHANNEL_HANGUP_COMPLETE')
          if any(e['name'] == n for e in fs)],
         '%s: variable_proto_specific_hangup_cause %s' % (tag, psc or 'absent'))
    # sipp's Call-ID is <prefix><call number>-<pid>@<ip>, its From tag <pid>F<call number>
    cid = next((e['attrs'].get('callid') for e in dl), '') or ''
    pid = cid[len(f['cid_prefix']):].split('@')[0].split('-')[-1]
    c.eq([(e['attrs'].get('callid', '').startswith(f['cid_prefix']),
           e['attrs'].get('from_tag')) for e in dl],
         [(True, '%sF1' % pid)] * len(dl), '%s: E_DLG_STATE_CHANGED callid, from_tag' % tag)
    c.check(all(e['attrs'].get('to_tag') for e in dl if e['attrs'].get('new_state') != '5'
                or e['attrs'].get('old_state') != '1'),
            '%s: E_DLG_STATE_CHANGED carries the callee\'s to_tag once it exists' % tag)
    if f['kind'] == 'timeout':
        t_c = [e['t'] for e in fs if e['name'] == 'CHANNEL_CREATE']
        t_h = [e['t'] for e in fs if e['name'] == 'CHANNEL_HANGUP']
        if t_c and t_h:
            dt = t_h[0] - t_c[0]
            c.check(originate - 0.3 <= dt <= originate + 1.5,
                    '%s: NO_ANSWER hang-up %.2f s after CHANNEL_CREATE (originate_timeout_s = %d), '
                    'before the caller\'s CANCEL' % (tag, dt, originate))
    return uid


def group_events(notes, flows):
    by_flow = {f['flow']: [] for f in flows}
    stray = []
    for n in notes:
        if n.get('error'):
            stray.append(n)
            continue
        placed = False
        cid = call_id_of(n)
        user = reg_user(n)
        for f in flows:
            if f['kind'].startswith('reg'):
                if user == f['user'] and (cid is None or cid.startswith(f['cid_prefix'])):
                    by_flow[f['flow']].append(n)
                    placed = True
                    break
            elif cid and cid.startswith(f['cid_prefix']):
                by_flow[f['flow']].append(n)
                placed = True
                break
        if not placed:
            stray.append(n)
    return by_flow, stray


def check_flows_and_subs(c, a, flows):
    """Per-flow event sequences and attributes on the ALL subscriber, then
    every filtered subscriber against its spec. Returns the expected total."""
    label = a.label
    all_notes = load_notes(a.notes)
    firehose = [n for n in all_notes if n['dst'] == a.all_dst]
    by_flow, stray = group_events(firehose, flows)
    c.eq([(s.get('name'), s.get('error'), call_id_of(s)) for s in stray], [],
         '%s: every notification on the ALL subscriber is well formed and belongs to a flow' % label)
    uids = {}
    for f in flows:
        evs = sorted(by_flow[f['flow']], key=lambda n: n['t'])
        if f['kind'].startswith('reg'):
            c.eq([token(e) for e in evs], reg_sequence(f['kind']),
                 '%s %s: derived events in order, no duplicate' % (label, f['flow']))
            check_reg_flow(c, f, evs, label, a.uas_ip, a.domain)
        else:
            uids[f['flow']] = check_call_flow(c, f, evs, label, a.originate)
    if uids:
        u = [x for x in uids.values() if x]
        c.check(len(u) == len(set(u)) == len(uids),
                '%s: a distinct Unique-ID per call (%d calls)' % (label, len(uids)))
    want_total = sum(len(reg_sequence(f['kind'])) if f['kind'].startswith('reg')
                     else len(call_sequence(f['kind'])) for f in flows)
    c.eq(len(firehose), want_total, '%s: ALL subscriber: total notifications' % label)

    def sub(dst):
        return [n for n in all_notes if n['dst'] == dst]
    for spec in json.load(open(a.subs)):
        got = sub(spec['dst'])
        what = '%s: subscriber %s (%s)' % (label, spec['desc'], spec['dst'])
        c.eq(len(got), spec['count'], what + ': notification count')
        if 'format' in spec and got:
            c.eq(sorted({n.get('format') for n in got}), [spec['format']], what + ': format')
        if 'flows' in spec:
            gf = []
            for n in got:
                cid = call_id_of(n)
                user = reg_user(n)
                m = [f['flow'] for f in flows if
                     (cid and cid.startswith(f['cid_prefix'])) or
                     (f['kind'].startswith('reg') and user == f['user'] and cid is None)]
                gf.append(m[0] if m else None)
            c.eq(sorted(gf, key=str), sorted(spec['flows']), what + ': from the flows')
        if got:
            for k, v in spec.get('attrs', {}).items():
                c.eq(sorted({json.dumps(n['attrs'].get(k)) for n in got}), [json.dumps(v)],
                     what + ': %s' % k)
            for k, typ in spec.get('types', {}).items():
                c.check(all(isinstance(n['attrs'].get(k), {'int': int, 'str': str}[typ])
                            for n in got), what + ': %s is a JSON %s' % (k, typ))
    return want_total


TRACKED = ('REGISTER', 'INVITE', 'ACK', 'BYE', 'CANCEL')  # the methods evr_sip_state follows
TAG_RE = re.compile(r';\s*tag=([^;>,\s]+)')


def tag_of(m, hdr):
    t = TAG_RE.search(m['hdrs'].get(hdr, [''])[0])
    return t.group(1) if t else None


def check_callee_txns(c, label, flows, cal):
    """The transactions the callee began (cal: its requests and the caller's
    responses, every copy): exactly re-INVITE, 200, ACK, UPDATE, 200 in each
    reinv flow, with the callee's tag in From and the caller's in To (so
    only a lookup by either tag finds the dialog); none in other flows."""
    for f in flows:
        mine = [m for m in cal if m['callid'].startswith(f['cid_prefix'])]
        seen, seq = set(), []
        for m in mine:
            if m['raw'] not in seen:
                seen.add(m['raw'])
                seq.append(m['method'] if m['req'] else '%d %s' % (m['code'], m['cseq_method']))
        want = ['INVITE', '200 INVITE', 'ACK', 'UPDATE', '200 UPDATE'] if f['kind'] == 'reinv' \
            else []
        c.eq(seq, want, '%s %s: the callee\'s own transactions on the mirror port' % (
            label, f['flow']))
        if f['kind'] == 'reinv' and mine:
            ctag = [tag_of(m, 'from') for m in mine if m['req']]
            c.check(all(tag_of(m, 'to') and tag_of(m, 'to').endswith('F1') and
                        tag_of(m, 'from') and tag_of(m, 'from').endswith('T1') for m in mine),
                    '%s %s: callee requests and their responses carry From = callee tag '
                    '(%s), To = caller tag' % (label, f['flow'], sorted(set(ctag))))
    other = [m['start'] for m in cal if not any(
        m['callid'].startswith(f['cid_prefix']) for f in flows)]
    c.eq(other, [], '%s: no callee transaction outside the flows' % label)


def check_big_invites(c, label, flows, msgs):
    """The big flows' INVITEs really were large and crossed the mirror port
    as IPv4 fragments (a whole-frame receive or evrd's reassembly must join
    them); the rest of such a flow is checked like any answered call."""
    for f in flows:
        if f['kind'] != 'big':
            continue
        inv = [m for m in msgs if m['req'] and m['method'] == 'INVITE' and
               m['callid'].startswith(f['cid_prefix'])]
        c.check(inv and all(len(m['raw']) >= 4000 and m['fragments'] >= 3 for m in inv),
                '%s %s: the INVITE is >= 4000 bytes and was mirrored as >= 3 IPv4 fragments '
                '(%s)' % (label, f['flow'],
                          ['%d B / %d fragments' % (len(m['raw']), m['fragments']) for m in inv]))


def cmd_check_mirror(a):
    c = E.Checker()
    flows = json.load(open(a.flows))
    stats = json.load(open(a.stats))
    tot = stats.get('dataplane', {}).get('totals', {})
    label = a.label
    want_total = check_flows_and_subs(c, a, flows)

    # ---- counters against the capture of the mirror port
    msgs = sip_datagrams(a.pcap, (5060,))
    # A transaction the callee began (its in-dialog request, the caller's
    # response): requests not from the caller, responses not to it. Only
    # the reinv flows have them; every other message is the caller's
    # transaction, as before.
    def callee_txn(m):
        return m['src' if m['req'] else 'dst'].split(':')[0] != a.uac_ip
    cal = [m for m in msgs if callee_txn(m)]
    own = [m for m in msgs if not callee_txn(m)]
    reqs = [m for m in own if m['req']]
    rsps = [m for m in own if not m['req']]
    rq_re, rs_re = retransmissions(own)
    print('capture: %d SIP datagrams (%d requests, %d responses of the caller\'s transactions, '
          '%d of the callee\'s), retransmitted: %d requests, %d responses' % (
              len(msgs), len(reqs), len(rsps), len(cal), rq_re, rs_re))
    c.check(reqs and rsps and {m['src'].split(':')[0] for m in reqs} == {a.uac_ip} and
            {m['dst'].split(':')[0] for m in rsps} == {a.uac_ip},
            '%s: the mirror port saw both directions (%d requests from %s, %d responses to it)'
            % (label, len(reqs), a.uac_ip, len(rsps)))
    c.check(rq_re >= a.min_retrans,
            '%s: the scenarios really retransmitted (%d request copies >= %d)' % (
                label, rq_re, a.min_retrans))
    check_callee_txns(c, label, flows, cal)
    check_big_invites(c, label, flows, msgs)
    c.eq(tot.get('sip_rx'), len(msgs), '%s: sip_rx = SIP datagrams on the mirror port' % label)
    c.eq(tot.get('sip_ok'), len(msgs), '%s: sip_ok = every one parsed' % label)
    c.eq(tot.get('sip_state_msgs'), len(msgs), '%s: sip_state_msgs = every one followed' % label)
    c.eq(tot.get('sip_state_events'), want_total, '%s: sip_state_events = derived events' % label)
    c.eq(tot.get('sip_events'), want_total, '%s: sip_events = derived events' % label)
    ntimeout = sum(1 for f in flows if f['kind'] == 'timeout')
    # every request copy beyond the first is a duplicate, and so is the
    # CANCEL of a call the originate timeout already ended (the callee's
    # requests are not: reinvite, absorbed or untracked below)
    c.eq(tot.get('sip_state_dup_request'), rq_re + ntimeout,
         '%s: sip_state_dup_request = retransmitted requests + CANCEL after the timeout' % label)
    n_reinv = sum(1 for m in msgs if m['req'] and m['method'] == 'INVITE' and
                  TAG_RE.search(m['hdrs'].get('to', [''])[0]))
    c.eq(tot.get('sip_state_reinvite'), n_reinv,
         '%s: sip_state_reinvite = in-dialog INVITEs (To tag) on the mirror port' % label)
    n_untracked = sum(1 for m in msgs if m['cseq_method'] not in TRACKED)
    c.eq(tot.get('sip_state_untracked'), n_untracked,
         '%s: sip_state_untracked = requests and responses of methods not followed (%s)'
         % (label, sorted({m['cseq_method'] for m in msgs if m['cseq_method'] not in TRACKED})))
    if a.workers == 1:
        # one worker, one queue, mirrored in wire order: nothing is ever
        # early, so nothing waits (the callee's messages find their dialog)
        c.eq(tot.get('sip_held'), 0, '%s: sip_held 0 (nothing waited for its dialog)' % label)
    want0 = ['sip_state_orphan_response', 'sip_state_orphan_request', 'sip_state_field_too_long',
             'sip_state_dialog_evicted', 'sip_state_contact_evicted', 'sip_state_reg_txn_evicted',
             'sip_state_attr_dropped', 'sip_state_event_dropped',
             'sip_handoff_full', 'sip_held_full', 'sip_held_expired', 'sip_too_large',
             'ring_full', 'pool_empty', 'tx_full', 'tx_no_queue',
             'arp_unresolved', 'events_unmatched', 'rx_bad_ip_header', 'rx_truncated']
    c.eq({k: tot.get(k) for k in want0}, {k: 0 for k in want0},
         '%s: no orphan, eviction, drop, unmatched or cut-frame counter moved' % label)
    bad = {k: v for k, v in tot.items() if k.startswith('sip_') and k not in (
        'sip_ok', 'sip_rx', 'sip_events', 'sip_handoff', 'sip_replies', 'sip_dialogs',
        'sip_registrations', 'sip_held') and not k.startswith('sip_state_') and
        not k.startswith('sip_endpoint_') and v}
    c.eq(bad, {}, '%s: no SIP parse failure counter moved' % label)
    c.eq(tot.get('sip_state_dialog_timeout'), ntimeout, '%s: sip_state_dialog_timeout' % label)
    nexp = sum(1 for f in flows if f['kind'] == 'reg-expire')
    c.eq(tot.get('sip_state_contact_expired'), nexp, '%s: sip_state_contact_expired' % label)
    c.eq(tot.get('sip_replies'), 0, '%s: nothing answered (sip_replies 0)' % label)
    port = [p for p in stats['dataplane'].get('ports', []) if p.get('name') == 'mirror']
    port = port[0] if port else {}
    c.eq((port.get('eth') or {}).get('opackets'), 0,
         '%s: evrd sent nothing on the mirror port (eth opackets)' % label)
    if a.workers > 1:
        per = [q.get('counters', {}).get('sip_rx', 0) for q in port.get('queues', [])]
        c.check(len(per) == a.workers and all(x > 0 for x in per),
                '%s: both queues of the mirror port received SIP (sip_rx per queue %s)'
                % (label, per))
        c.check((tot.get('sip_handoff') or 0) > 0,
                '%s: messages were handed to the worker owning their Call-ID (sip_handoff %s)'
                % (label, tot.get('sip_handoff')))
    return c.rc()


# --------------------------------------------------------------------- HEP


def hep3_chunks(b):
    """HEPv3 packet -> {(vendor, type): bytes}; None if not HEP3."""
    if len(b) < 6 or b[:4] != b'HEP3':
        return None
    n = int.from_bytes(b[4:6], 'big')
    out, off = {}, 6
    while off + 6 <= min(n, len(b)):
        v, t, ln = int.from_bytes(b[off:off + 2], 'big'), int.from_bytes(b[off + 2:off + 4], 'big'), \
            int.from_bytes(b[off + 4:off + 6], 'big')
        if ln < 6:
            return None
        out[(v, t)] = b[off + 6:off + ln]
        off += ln
    return out


def cmd_check_hep(a):
    c = E.Checker()
    flows = json.load(open(a.flows))
    stats = json.load(open(a.stats))
    tot = stats.get('dataplane', {}).get('totals', {})
    label = a.label
    want_total = check_flows_and_subs(c, a, flows)
    heps = [d for d in E.datagrams(E.parse_frames(a.pcap)) if d['dport'] == a.hep_port]
    inner = []
    for d in heps:
        ch = hep3_chunks(d['payload'])
        m = sip_parse(ch.get((0, 15), b'')) if ch else None
        if m:
            m['proto'] = ch.get((0, 11))
            inner.append(m)
    reqs = [m for m in inner if m['req']]
    rsps = [m for m in inner if not m['req']]
    print('capture: %d HEP datagrams to evrd, %d carry SIP (%d requests, %d responses)' % (
        len(heps), len(inner), len(reqs), len(rsps)))
    c.check(heps and len(inner) == len(heps) and reqs and rsps and
            all(m['proto'] == b'\x01' for m in inner),
            '%s: kamailio sent HEPv3 copies of its requests and replies (%d + %d, proto SIP)' % (
                label, len(reqs), len(rsps)))
    c.eq(sorted({m['method'] for m in reqs}), ['REGISTER'],
         '%s: the HEP copies carry the REGISTERs' % label)
    n = len(heps)
    c.eq(tot.get('hep_ok'), n, '%s: hep_ok = HEP datagrams sent to evrd' % label)
    c.eq(tot.get('sip_rx'), n, '%s: sip_rx = their SIP payloads' % label)
    c.eq(tot.get('sip_ok'), n, '%s: sip_ok = every payload parsed' % label)
    c.eq(tot.get('sip_state_msgs'), n, '%s: sip_state_msgs = every one followed' % label)
    c.eq(tot.get('sip_state_events'), want_total, '%s: sip_state_events = derived events' % label)
    c.eq(tot.get('sip_state_dup_request'), 0, '%s: sip_state_dup_request (one copy each)' % label)
    bad = {k: v for k, v in tot.items() if (k.startswith('hep_') and k != 'hep_ok') and v}
    c.eq(bad, {}, '%s: no HEP decode failure counter moved' % label)
    want0 = ['sip_state_orphan_response', 'sip_state_orphan_request', 'sip_state_field_too_long',
             'sip_state_reg_txn_evicted', 'sip_state_contact_evicted', 'sip_state_attr_dropped',
             'sip_handoff_full', 'mirror_observed', 'sip_replies', 'ring_full', 'pool_empty',
             'tx_full', 'tx_no_queue', 'arp_unresolved']
    c.eq({k: tot.get(k) for k in want0}, {k: 0 for k in want0},
         '%s: no orphan, eviction or drop counter moved, nothing mirrored or answered' % label)
    nexp = sum(1 for f in flows if f['kind'] == 'reg-expire')
    c.eq(tot.get('sip_state_contact_expired'), nexp, '%s: sip_state_contact_expired' % label)
    return c.rc()


# --------------------------------------------------------------- endpoint


def build_request(text):
    """A request template with LF line ends -> CRLF, Content-Length filled
    in from the body (a line 'Content-Length: auto')."""
    head, _, body = text.replace('\r\n', '\n').partition('\n\n')
    head = head.replace('Content-Length: auto', 'Content-Length: %d' % len(body.encode()))
    return (head.replace('\n', '\r\n') + '\r\n\r\n').encode() + body.encode()


def cmd_sipreq(a):
    """Send one request --copies times (byte-identical: a retransmission)
    from one socket, --gap seconds apart, then the --marker request from
    the same socket, and record every datagram that comes back until the
    marker's reply (within --timeout). The endpoint answers one queue in
    order, so a reply the copies caused (a third one would be a bug) is in
    before the marker's: no waiting window stands for "it would have come"."""
    req = build_request(open(a.msg).read())
    mark = build_request(open(a.marker).read())
    mark_cid = sip_parse(mark)['callid']
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(hostport(a.bind))
    dst = hostport(a.to)
    got, mark_rsp = [], None
    deadline = time.monotonic() + a.timeout

    def read_until(end):
        nonlocal mark_rsp
        while mark_rsp is None and time.monotonic() < end:
            r, _, _ = select.select([s], [], [], max(0, end - time.monotonic()))
            if not r:
                continue
            data, src = s.recvfrom(65535)
            rec = {'t': time.time(), 'src': '%s:%d' % src,
                   'raw': data.decode('utf-8', 'replace')}
            m = sip_parse(data)
            if m and not m['req'] and m['callid'] == mark_cid:
                mark_rsp = rec
            else:
                got.append(rec)
    for i in range(a.copies):
        s.sendto(req, dst)
        read_until(min(deadline, time.monotonic() + a.gap))
    s.sendto(mark, dst)
    read_until(deadline)
    with open(a.out, 'w') as f:
        json.dump({'request': req.decode('utf-8', 'replace'), 'responses': got,
                   'marker_request': mark.decode('utf-8', 'replace'),
                   'marker_response': mark_rsp}, f)
    print('sipreq: sent %d copies and the marker, %d response(s) before the marker\'s (%s)' % (
        a.copies, len(got), 'answered' if mark_rsp else 'unanswered'), file=sys.stderr)
    return 0 if mark_rsp else 1


def check_reply(c, what, req, rsp, code, src_ip, src_port):
    """RFC 3261 8.2.6.2 / 18.2.1 / RFC 3581: the reply copies Via (top one
    with received/rport when asked), From, Call-ID, CSeq; To gets a tag."""
    rq, rs = sip_parse(req if isinstance(req, bytes) else req.encode()), \
        sip_parse(rsp if isinstance(rsp, bytes) else rsp.encode())
    if not rq or not rs:
        return c.check(False, '%s: request and reply parse' % what)
    c.eq(rs.get('code'), code, '%s: status code' % what)
    vq, vs = rq['hdrs'].get('via', []), rs['hdrs'].get('via', [])
    top = vq[0] if vq else ''
    want_top = top
    if ';rport' in top:
        want_top = re.sub(r';rport(?=;|$)', ';rport=%d' % src_port, top)
        want_top += ';received=%s' % src_ip
    ok_top = bool(vs) and (vs[0] == want_top or (
        sorted(vs[0].split(';')) == sorted(want_top.split(';'))))
    c.check(ok_top and vs[1:] == vq[1:],
            '%s: Via copied (top %r -> %r)' % (what, top, vs[0] if vs else None))
    for h in ('from', 'call-id', 'cseq'):
        c.eq(rs['hdrs'].get(h), rq['hdrs'].get(h), '%s: %s copied' % (what, h))
    tq, ts = rq['hdrs'].get('to', [''])[0], rs['hdrs'].get('to', [''])[0]
    c.check(re.fullmatch(re.escape(tq) + r';tag=[0-9a-f]{16}', ts) is not None,
            '%s: To copied with a 16-hex tag added (%r)' % (what, ts))
    return rs


def cmd_check_endpoint(a):
    c = E.Checker()
    stats = json.load(open(a.stats))
    tot = stats.get('dataplane', {}).get('totals', {})
    label = a.label
    notes = load_notes(a.notes)
    allv = [n for n in notes if n['dst'] == a.all_dst]
    def marker(n):
        b = n['attrs'].get('body') or ''
        for m in ('<basic>open</basic>', '<state>confirmed</state>'):
            if m in b:
                return m
        return b
    c.eq([(n.get('name'), n['attrs'].get('method'), marker(n)) for n in allv],
         [('presence', 'PUBLISH', '<basic>open</basic>'),
          ('dialog', 'NOTIFY', '<state>confirmed</state>'),
          ('MESSAGE', 'MESSAGE', 'hello evr'), ('MESSAGE', 'MESSAGE', 'retransmitted once'),
          ('MESSAGE', 'MESSAGE', 'end marker')],
         '%s: ALL subscriber: exactly presence, dialog, MESSAGE, MESSAGE (retransmission '
         'raised once), in order, bodies as attributes; then the end marker' % label)
    ev = {n['attrs'].get('method') + ':' + marker(n): n['attrs'] for n in allv
          if n['attrs'].get('method')}
    pub = ev.get('PUBLISH:<basic>open</basic>', {})
    want = {'request_uri': 'sip:alice@%s:5060' % a.evr_ip, 'ruri_user': 'alice',
            'from_user': 'alice', 'from_host': a.domain, 'from_display': 'Alice',
            'to_user': 'alice', 'to_host': a.domain, 'to_tag': '', 'cseq': '1',
            'content_type': 'application/pidf+xml', 'network_ip': a.uac_ip,
            'network_port': str(a.uac_port), 'Event': 'presence', 'Expires': '600',
            'User-Agent': 'evr-e2e-sipp'}
    c.eq({k: pub.get(k) for k in want}, want, '%s: presence event attributes (request '
         'parts and headers)' % label)
    c.check(pub.get('call_id', '').startswith('ep-') and pub.get('from_tag'),
            '%s: presence event call_id (%s) and from_tag (%s)' % (
                label, pub.get('call_id'), pub.get('from_tag')))
    c.check('Content-Length' not in pub and 'CSeq' not in pub,
            '%s: no Content-Length / CSeq header attributes (framing, cseq+method)' % label)
    ntf = ev.get('NOTIFY:<state>confirmed</state>', {})
    want = {'Event': 'dialog;id=abc', 'Subscription-State': 'active;expires=300',
            'content_type': 'application/dialog-info+xml', 'to_user': 'watcher', 'cseq': '2'}
    c.eq({k: ntf.get(k) for k in want}, want, '%s: dialog event attributes' % label)
    msg = ev.get('MESSAGE:hello evr', {})
    want = {'content_type': 'text/plain', 'to_user': 'bob', 'cseq': '3', 'from_user': 'alice'}
    c.eq({k: msg.get(k) for k in want}, want, '%s: MESSAGE event attributes' % label)
    for spec in json.load(open(a.subs)):
        got = [n for n in notes if n['dst'] == spec['dst']]
        what = '%s: subscriber %s (%s)' % (label, spec['desc'], spec['dst'])
        c.eq(len(got), spec['count'], what + ': notification count')
        if got:
            c.eq(sorted({n.get('format') for n in got}), [spec['format']], what + ': format')
            for k, v in spec.get('attrs', {}).items():
                c.eq(sorted({json.dumps(n['attrs'].get(k)) for n in got}), [json.dumps(v)],
                     what + ': %s' % k)

    # ---- replies on the wire (capture of evrd's port), against their requests
    msgs = [m for m in sip_datagrams(a.pcap, (5060,))]
    reqs = [m for m in msgs if m['req'] and m['dst'].startswith(a.evr_ip + ':')]
    rsps = [m for m in msgs if not m['req'] and m['src'] == '%s:5060' % a.evr_ip]
    codes = {}
    for m in rsps:
        codes[m['code']] = codes.get(m['code'], 0) + 1
    print('capture: %d requests to evrd, %d replies %s' % (len(reqs), len(rsps), codes))
    by_key = {}
    for m in reqs:
        by_key.setdefault((m['callid'], m['cseq'], m['method']), m)
    want_codes = {'PUBLISH': None, 'NOTIFY': 200, 'MESSAGE': 200, 'OPTIONS': 200, 'INVITE': 405}
    for m in rsps:
        q = by_key.get((m['callid'], m['cseq'], m['cseq_method']))
        if q is None:
            c.check(False, '%s: reply %s matches a request' % (label, m['start']))
            continue
        code = want_codes.get(q['method'])
        if q['method'] == 'PUBLISH':
            code = 200 if 'event' in q['hdrs'] else 489
        ip, port = q['src'].split(':')
        rs = check_reply(c, '%s: reply to %s (CSeq %d)' % (label, q['method'], q['cseq']),
                         q['raw'], m['raw'], code, ip, int(port))
        if rs and q['method'] == 'PUBLISH' and code == 200:
            c.check(rs['hdrs'].get('sip-etag') and rs['hdrs'].get('expires') == ['600'],
                    '%s: PUBLISH 200 carries SIP-ETag and Expires 600' % label)
        if rs and code == 489:
            c.check(bool(rs['hdrs'].get('allow-events')), '%s: 489 carries Allow-Events' % label)
        if rs and code == 405:
            c.check(bool(rs['hdrs'].get('allow')), '%s: 405 carries Allow' % label)
        if rs and q['method'] == 'OPTIONS':
            c.check(bool(rs['hdrs'].get('allow')), '%s: OPTIONS 200 carries Allow' % label)
    c.eq(sorted(m['cseq_method'] for m in rsps),
         sorted(['PUBLISH', 'PUBLISH', 'NOTIFY', 'MESSAGE', 'OPTIONS', 'INVITE', 'MESSAGE',
                 'MESSAGE', 'MESSAGE']),
         '%s: one reply per request (ACK unanswered, the end marker answered), two for the '
         'retransmitted MESSAGE' % label)

    # ---- the retransmission, from the raw client's side
    rt = json.load(open(a.retrans))
    rr = rt['responses']
    c.check(rt.get('marker_response') is not None,
            '%s: the end marker sent after the copies was answered' % label)
    c.eq(len(rr), 2, '%s: retransmitted MESSAGE: two replies, no more (none before the '
         'marker\'s)' % label)
    if len(rr) == 2:
        c.check(rr[0]['raw'] == rr[1]['raw'],
                '%s: retransmitted MESSAGE: the two replies are byte-identical' % label)
        c.eq({r['src'] for r in rr}, {'%s:5060' % a.evr_ip},
             '%s: replies come from the endpoint address' % label)
        check_reply(c, '%s: reply to the retransmitted MESSAGE (;rport)' % label, rt['request'],
                    rr[0]['raw'], 200, a.uac_ip, a.raw_port)

    # ---- counters
    # (the end marker is one more MESSAGE, its event and its 200)
    want = {'sip_endpoint_publish': 1, 'sip_endpoint_notify': 1, 'sip_endpoint_message': 3,
            'sip_endpoint_options': 1, 'sip_endpoint_retrans_absorbed': 1,
            'sip_endpoint_bad_event': 1, 'sip_endpoint_method_not_allowed': 1,
            'sip_endpoint_ack_ignored': 1, 'sip_endpoint_replies_2xx': codes.get(200, 0),
            'sip_endpoint_replies_4xx': codes.get(405, 0) + codes.get(489, 0),
            'sip_endpoint_replies_5xx': 0, 'sip_endpoint_unparsable': 0,
            'sip_endpoint_no_via': 0, 'sip_endpoint_reply_overflow': 0,
            'sip_endpoint_too_large': 0, 'sip_endpoint_bad_request': 0,
            'sip_replies': len(rsps), 'sip_rx': len(reqs), 'sip_ok': len(reqs),
            'sip_events': 5, 'sip_state_msgs': 0, 'tx_no_queue': 0, 'arp_unresolved': 0}
    c.eq({k: tot.get(k) for k in want}, want, '%s: endpoint counters' % label)
    return c.rc()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('relay')
    p.add_argument('--listen', required=True)
    p.add_argument('--uas', required=True)
    p.add_argument('--reply-from', required=True)
    p.add_argument('--count', type=int, default=1000)
    p.add_argument('--timeout', type=float, default=60)
    p.add_argument('--ready')
    p = sub.add_parser('sip-msgs')
    p.add_argument('pcap')
    p.add_argument('--port', type=int, action='append')
    p = sub.add_parser('check-mirror')
    for k in ('notes', 'pcap', 'flows', 'stats', 'subs', 'all-dst', 'label'):
        p.add_argument('--' + k, required=True)
    p.add_argument('--originate', type=int, required=True)
    p.add_argument('--workers', type=int, default=1)
    p.add_argument('--uac-ip', default='198.18.4.1')
    p.add_argument('--uas-ip', default='198.18.4.2')
    p.add_argument('--domain', default='evr.test')
    p.add_argument('--min-retrans', type=int, default=3)
    p = sub.add_parser('check-hep')
    for k in ('notes', 'pcap', 'flows', 'stats', 'subs', 'all-dst', 'label'):
        p.add_argument('--' + k, required=True)
    p.add_argument('--originate', type=int, default=60)
    p.add_argument('--uas-ip', required=True)
    p.add_argument('--domain', default='evr.test')
    p.add_argument('--hep-port', type=int, default=9060)
    p = sub.add_parser('sipreq')
    p.add_argument('--msg', required=True)
    p.add_argument('--to', required=True)
    p.add_argument('--bind', required=True)
    p.add_argument('--copies', type=int, default=1)
    p.add_argument('--gap', type=float, default=0.3)
    p.add_argument('--timeout', type=float, default=5)
    p.add_argument('--marker', required=True)
    p.add_argument('--out', required=True)
    p = sub.add_parser('check-endpoint')
    for k in ('notes', 'pcap', 'stats', 'subs', 'all-dst', 'label', 'retrans', 'evr-ip',
              'uac-ip', 'domain'):
        p.add_argument('--' + k, required=True)
    p.add_argument('--uac-port', type=int, required=True)
    p.add_argument('--raw-port', type=int, required=True)
    a = ap.parse_args(argv)
    return {'sipreq': cmd_sipreq, 'check-endpoint': cmd_check_endpoint, 'relay': cmd_relay, 'sip-msgs': cmd_sip_msgs, 'check-mirror': cmd_check_mirror,
            'check-hep': cmd_check_hep}[a.cmd](a)


if __name__ == '__main__':
    sys.exit(main())
