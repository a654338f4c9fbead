#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Captures, configs and checks for sip_frag_e2e.sh (fragmented SIP on a
mirror port and through the HEP listener, evrd on net_pcap).

  sip_frag_e2e.py gen DIR PREFIX    DIR/{frag,ref}_{mirror,hep}.pcap,
                                    DIR/evrd_{frag,ref}.conf, DIR/expect.json
  sip_frag_e2e.py check DIR         assert DIR/{frag,ref}_out.pcap,
                                    DIR/stats_{frag,ref}.json, the mirror
                                    ports' TX captures

The traffic comes from bench/sip/gen_sip_pcap.py (one generator for the
benchmark and this test), built twice from the same seeds:
  frag  REGISTERs and INVITEs padded above a 576-byte MTU and every IP packet
        above it fragmented (IPv4 MF/offset and IPv6 Fragment headers, some
        last-piece-first), on the mirror port (softphones <-> proxy, half of
        them IPv6) and as fragmented HEPv3 datagrams to evrd's HEP listener;
        plus malformed fragmented REGISTERs of users "badfrag*": an
        overlapping piece, or a missing middle piece (only the reassembly
        timeout ends it), IPv4 and IPv6 on the mirror port, IPv4 via HEP
  ref   the same SIP messages, unfragmented, no malformed ones
Both runs also retransmit one INVITE and one REGISTER per part (the same
bytes again, fragmented again in the frag run): absorbed, no second event.
Checks: every event of the ref run is raised by the frag run exactly as
many times (compared on the event name, Call-ID and state attributes),
per-flow expectations (one E_UL_CONTACT_INSERT per registration, one
CHANNEL_CREATE and one CHANNEL_HANGUP_COMPLETE with the right Hangup-Cause
per dialog...) hold in both, nothing of a malformed datagram surfaces, and
the fragment counters equal what the captures contain.
"""
import collections
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', '..', 'bench', 'sip'))
import evr_e2e as E  # noqa: E402
import gen_sip_pcap as G  # noqa: E402

US_MAC, US = '02:00:00:00:00:01', '198.18.0.1'
SUB_MAC, SUB = '02:00:00:00:00:02', '198.18.0.2'
ALL_PORT = 9100     # ALL, json: every derived event
FILT_PORT = 9101    # first port of the filtered subscriptions (one each)
MTU = 576
REASM_TIMEOUT_MS = 200

# [mirror part, HEP part]: disjoint users, own seeds
PARTS = {
    'mirror': ['--seed', '11', '--registrations', '8', '--calls', '8', '--users', '1000',
               '--user-base', '10000', '--hosts', '16', '--ipv6-frac', '0.4',
               '--refresh-frac', '0.5', '--unregister-frac', '0.5', '--span', '4'],
    'hep': ['--seed', '12', '--registrations', '5', '--calls', '5', '--users', '1000',
            '--user-base', '20000', '--hosts', '8', '--ipv6-frac', '0.3',
            '--refresh-frac', '0.5', '--unregister-frac', '0.5', '--span', '4', '--hep',
            '--evrd-ip', US, '--evrd-mac', US_MAC],
}
BAD = {'mirror': 4, 'hep': 2}

CONFIG = """
eal = {{ lcores = "0-1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "{prefix}";
        vdevs = [ "net_pcap0,rx_pcap={d}/{run}_mirror.pcap,tx_pcap={d}/{run}_mirror_tx.pcap",
                  "net_pcap1,rx_pcap={d}/{run}_hep.pcap,tx_pcap={d}/{run}_out.pcap" ]; }};
ports = ( {{ name = "mirror"; device = "net_pcap0"; mirror = true; }},
          {{ name = "net"; device = "net_pcap1"; mac = "{us_mac}"; ipv4 = "{us}/24";
            neighbours = ( {{ ip = "{sub}"; mac = "{sub_mac}"; }} ); }} );
workers = {{ count = 1; idle_sleep_us = 100; }};
listeners = ( {{ port = 9060; format = "hep"; }} );
sip = {{ mirror_ports = [ 5060 ]; events = "both"; }};
limits = {{ reassembly_timeout_ms = {reasm}; }};
control = {{ socket = "{d}/evrd_{run}.sock"; }};
rings = {{ rx_pool = 4096; payload_pool = 4096; hdr_pool = 8192; indirect_pool = 2048; }};
subscriptions = (
{subs}
);
"""


def gen_part(name, frag, bad):
    args = ['--out', '/dev/null'] + PARTS[name] + ['--mtu', str(MTU), '--pad-frac', '1']
    if frag:
        args.append('--frag')
    args += ['--bad-frags', str(bad)]
    return G.build(G.parse_args(args))


def retransmit(frames, callid, method):
    """Append a retransmission of the `method` request of Call-ID callid
    right after it (a UAC timer A/E retransmission: the same bytes in new
    IP packets, so fragments get a fresh IPv4 identification). IPv4 only
    (the flows picked are IPv4; HEP is always IPv4 outside). Returns the
    new frame list and how many frames were added."""
    groups = collections.OrderedDict()  # (src, dst, ident) -> [frame index]
    for i, (_, raw) in enumerate(frames):
        if len(raw) < 34 or raw[12:14] != b'\x08\x00' or raw[23] != 17:
            continue
        groups.setdefault((raw[26:30], raw[30:34], raw[18:20]), []).append(i)
    want = ('Call-ID: %s\r\n' % callid).encode()
    start = ('%s sip:' % method).encode()
    for k, idx in groups.items():
        parts = sorted(((int.from_bytes(frames[i][1][20:22], 'big') & 0x1fff) * 8, i) for i in idx)
        data = b''.join(frames[i][1][14 + (frames[i][1][14] & 15) * 4:
                                     14 + int.from_bytes(frames[i][1][16:18], 'big')]
                        for _, i in parts)
        pos = data.find(start)
        if want not in data or not 0 <= pos < 300:  # after the UDP (+HEP) headers
            continue
        last = max(idx)
        dup = []
        for _, i in parts:
            t, raw = frames[i]
            ip = bytearray(raw[14:34])
            ip[4:6] = (int.from_bytes(ip[4:6], 'big') ^ 0x8000).to_bytes(2, 'big')
            ip[10:12] = b'\0\0'
            ip[10:12] = G.csum(bytes(ip)).to_bytes(2, 'big')
            dup.append((frames[last][0] + 1e-4, raw[:14] + bytes(ip) + raw[34:]))
        return frames[:last + 1] + dup + frames[last + 1:], len(dup)
    raise ValueError('no %s of Call-ID %s in the capture' % (method, callid))


def retransmission_targets(m):
    """The first IPv4 dialog's INVITE and registration's first REGISTER."""
    inv = next(f for f in m['flow_list'] if f['kind'] == 'invite' and f['family'] == 4)
    reg = next(f for f in m['flow_list'] if f['kind'] == 'register' and f['family'] == 4
               and 'malformed' not in f)
    return [(inv['callid'], 'INVITE'), (reg['callid'], 'REGISTER')]


def filtered_subs(man):
    """Per part: a registration and a dialog, each with a filter on its user,
    so a filter has to see the reassembled message's fields."""
    subs = []
    for part, m in man.items():
        reg = next(f for f in m['flow_list'] if f['kind'] == 'register' and 'malformed' not in f)
        inv = next(f for f in m['flow_list'] if f['kind'] == 'invite')
        # every flow of that user raises one (a caller may place several calls)
        subs.append(('E_UL_CONTACT_INSERT', 'jsonrpc', 'aor=%s@%s' % (reg['user'], reg['domain']),
                     part, sorted(f['callid'] for f in m['flow_list']
                                  if f['kind'] == 'register' and f['user'] == reg['user'])))
        subs.append(('CHANNEL_CREATE', 'plain', 'Caller-Caller-ID-Number=%s' % inv['user'],
                     part, sorted(f['callid'] for f in m['flow_list']
                                  if f['kind'] == 'invite' and f['user'] == inv['user'])))
    return subs


def cmd_gen(d, prefix):
    expect = {'runs': {}}
    man_frag = {}
    for run, frag in (('frag', True), ('ref', False)):
        info = {}
        for part in PARTS:
            frames, m = gen_part(part, frag, BAD[part] if frag else 0)
            m['retransmitted'] = retransmission_targets(m)
            m['retransmit_frames'] = 0
            for cid, meth in m['retransmitted']:
                frames, n = retransmit(frames, cid, meth)
                if frag and n < 2:
                    raise ValueError('the %s of %s is not fragmented' % (meth, cid))
                m['retransmit_frames'] += n
            E.write_pcap(os.path.join(d, '%s_%s.pcap' % (run, part)), frames)
            info[part] = {k: v for k, v in m.items()}
            if frag:
                man_frag[part] = m
        expect['runs'][run] = info
    subs = filtered_subs(man_frag)
    expect['filtered'] = [{'event': e, 'format': f, 'filter': x, 'part': p, 'callids': c,
                           'port': FILT_PORT + i} for i, (e, f, x, p, c) in enumerate(subs)]
    lines = ['  { event = "ALL"; socket = "udp:%s:%d"; format = "json"; }' % (SUB, ALL_PORT)]
    for fs in expect['filtered']:
        lines.append('  { event = "%s"; socket = "udp:%s:%d"; format = "%s"; filters = [ "%s" ]; }'
                     % (fs['event'], SUB, fs['port'], fs['format'], fs['filter']))
    for run in ('frag', 'ref'):
        with open(os.path.join(d, 'evrd_%s.conf' % run), 'w') as f:
            f.write(CONFIG.format(prefix=prefix, d=d, run=run, us=US, us_mac=US_MAC, sub=SUB,
                                  sub_mac=SUB_MAC, reasm=REASM_TIMEOUT_MS,
                                  subs=',\n'.join(lines)))
    # Totals the shell side waits for / checks (messages evrd must see).
    for run, info in expect['runs'].items():
        good = [f for p in info.values() for f in p['flow_list'] if 'malformed' not in f]
        rtx = {p: len(info[p]['retransmitted']) for p in info}
        expect[run] = {
            'retransmissions': sum(rtx.values()),
            'sip_messages': sum(f['messages'] for f in good) + sum(rtx.values()),
            'hep_messages': sum(f['messages'] for f in info['hep']['flow_list']
                                if 'malformed' not in f) + rtx['hep'],
            'frames': sum(p['frames'] + p['retransmit_frames'] for p in info.values()),
            # every retransmitted message is fragmented in the frag run
            'fragments': sum(p['framing']['fragments'] for p in info.values()) +
            sum(info[p]['retransmit_frames'] for p in info if run == 'frag'),
            'reassembled': sum(f.get('fragmented', 0) for f in good) +
            (sum(rtx.values()) if run == 'frag' else 0),
            'bad_datagrams': sum(1 for p in info.values() for f in p['flow_list']
                                 if 'malformed' in f),
            'bad_fragments': sum(f.get('fragment_frames', 0) for p in info.values()
                                 for f in p['flow_list'] if 'malformed' in f),
            'overlap_fragments': sum(f.get('fragment_frames', 0) for p in info.values()
                                     for f in p['flow_list'] if f.get('malformed') == 'overlap'),
            'missing_fragments': sum(f.get('fragment_frames', 0) for p in info.values()
                                     for f in p['flow_list'] if f.get('malformed') == 'missing'),
        }
    json.dump(expect, open(os.path.join(d, 'expect.json'), 'w'), indent=1)
    x = expect['frag']
    print('gen: frag run %d frames (%d fragments of %d datagrams reassembled + %d malformed '
          'with %d fragments), %d SIP messages; ref run %d frames' % (
              x['frames'], x['fragments'], x['reassembled'], x['bad_datagrams'],
              x['bad_fragments'], x['sip_messages'], expect['ref']['frames']))
    return 0


# ------------------------------------------------------------------ check

CALLID_KEYS = ('callid', 'call-id', 'variable_sip_call_id')
STATE_KEYS = ('aor', 'cseq', 'old_state', 'new_state', 'Hangup-Cause', 'Channel-Call-State',
              'Channel-State', 'variable_proto_specific_hangup_cause', 'from-user',
              'username', 'status', 'contact', 'uri')
CAUSE = {'answer': 'NORMAL_CLEARING', 'answer183': 'NORMAL_CLEARING', 'busy': 'USER_BUSY',
         'cancel': 'ORIGINATOR_CANCEL'}


def notes(path, port):
    out = []
    for dg in E.datagrams(E.parse_frames(path)):
        if dg['dport'] != port:
            continue
        n = E.parse_notification(dg['payload'])
        if n['name'] == 'HEARTBEAT':  # evrd's own, on ALL past heartbeat.interval_s
            continue
        n['dst'] = (dg['dst'], dg['dport'])
        out.append(n)
    return out


def ev_name(n):
    return n['name'] + (' ' + n['subclass'] if n.get('subclass') else '')


def callid(n):
    for k in CALLID_KEYS:
        if k in n['attrs']:
            return str(n['attrs'][k])
    return None


def key(n):
    a = n['attrs']
    return (ev_name(n), callid(n)) + tuple('%s=%s' % (k, a[k]) for k in STATE_KEYS if k in a)


def per_flow_expectations(ck, run, info, evs):
    """Events every flow must raise exactly once, from what the SIP says."""
    by = collections.defaultdict(list)
    for n in evs:
        by[(ev_name(n), callid(n))].append(n)
    errs = []
    n_checked = 0
    for part, m in info.items():
        for f in m['flow_list']:
            if 'malformed' in f:
                continue
            c = f['callid']
            if f['kind'] == 'register':
                want = {'E_UL_CONTACT_INSERT': 1, 'CUSTOM sofia::register_attempt': 1}
                if f['unregister']:
                    want['E_UL_CONTACT_DELETE'] = 1
                    want['CUSTOM sofia::unregister'] = 1
                if f['refreshes']:
                    want['E_UL_CONTACT_UPDATE'] = f['refreshes']
            else:
                want = {'CHANNEL_CREATE': 1, 'CHANNEL_HANGUP_COMPLETE': 1}
                if f['outcome'] in ('answer', 'answer183'):
                    want['CHANNEL_ANSWER'] = 1
                if f['outcome'] == 'answer183':
                    want['CHANNEL_PROGRESS_MEDIA'] = 1
                else:
                    want['CHANNEL_PROGRESS'] = 1
            for ev, k in want.items():
                got = len(by.get((ev, c), []))
                n_checked += 1
                if got != k:
                    errs.append('%s flow %s (%s %s): %s raised %d times, want %d' % (
                        part, f['fid'], f['kind'], f.get('outcome', ''), ev, got, k))
            if f['kind'] == 'invite':
                hc = by.get(('CHANNEL_HANGUP_COMPLETE', c), [])
                if hc and hc[0]['attrs'].get('Hangup-Cause') != CAUSE[f['outcome']]:
                    errs.append('%s flow %s: Hangup-Cause %r, want %s' % (
                        part, f['fid'], hc[0]['attrs'].get('Hangup-Cause'), CAUSE[f['outcome']]))
    ck('%s run: per-flow events (%d expectations over %d flows: one E_UL_CONTACT_INSERT, '
       'sofia::register_attempt... per registration; one CHANNEL_CREATE, the right progress '
       'event, CHANNEL_ANSWER when answered, one CHANNEL_HANGUP_COMPLETE with the right '
       'Hangup-Cause per dialog)' % (run, n_checked, sum(1 for m in info.values()
                                                          for f in m['flow_list']
                                                          if 'malformed' not in f)),
       not errs, '; '.join(errs[:6]) + (' ... %d more' % (len(errs) - 6) if len(errs) > 6 else ''))


def cmd_check(d):
    exp = json.load(open(os.path.join(d, 'expect.json')))
    fails = [0]

    def ck(what, ok, detail=''):
        if ok:
            print('PASS: %s' % what)
        else:
            fails[0] += 1
            print('FAIL: %s%s' % (what, (': ' + detail) if detail else ''))

    runs = {}
    for run in ('frag', 'ref'):
        out = os.path.join(d, '%s_out.pcap' % run)
        try:
            evs = notes(out, ALL_PORT)
            filt = {fs['port']: notes(out, fs['port']) for fs in exp['filtered']}
        except (ValueError, KeyError, UnicodeDecodeError) as e:
            ck('%s run: every notification in %s parses' % (run, os.path.basename(out)), False, str(e))
            continue
        st = json.load(open(os.path.join(d, 'stats_%s.json' % run)))
        runs[run] = (evs, filt, st)
        tot = st['dataplane']['totals']
        x = exp[run]
        ck('%s run: evrd saw all %d SIP messages (sip_rx)' % (run, x['sip_messages']),
           tot.get('sip_rx') == x['sip_messages'], 'sip_rx=%s' % tot.get('sip_rx'))
        ck('%s run: every SIP message parsed (sip_ok = %d)' % (run, x['sip_messages']),
           tot.get('sip_ok') == x['sip_messages'], 'sip_ok=%s' % tot.get('sip_ok'))
        ck('%s run: %d HEP packets decoded (hep_ok)' % (run, x['hep_messages']),
           tot.get('hep_ok') == x['hep_messages'], 'hep_ok=%s' % tot.get('hep_ok'))
        ck('%s run: rx_fragments = %d fragment frames in the captures' % (run, x['fragments']),
           tot.get('rx_fragments', 0) == x['fragments'], 'rx_fragments=%s' % tot.get('rx_fragments'))
        ck('%s run: rx_reassembled = %d well-formed fragmented datagrams' % (run, x['reassembled']),
           tot.get('rx_reassembled', 0) == x['reassembled'],
           'rx_reassembled=%s' % tot.get('rx_reassembled'))
        ck('%s run: rx_frag_dropped = %d (every fragment of the %d malformed datagrams, '
           'overlap or timeout)' % (run, x['bad_fragments'], x['bad_datagrams']),
           tot.get('rx_frag_dropped', 0) == x['bad_fragments'],
           'rx_frag_dropped=%s' % tot.get('rx_frag_dropped'))
        ck('%s run: rx_frag_invalid = %d (the fragments of the overlapping sets), '
           'rx_frag_timeout = %d (those of the sets missing a piece), rx_frag_off = 0'
           % (run, x['overlap_fragments'], x['missing_fragments']),
           (tot.get('rx_frag_invalid', 0), tot.get('rx_frag_timeout', 0), tot.get('rx_frag_off', 0))
           == (x['overlap_fragments'], x['missing_fragments'], 0),
           'rx_frag_invalid=%s rx_frag_timeout=%s rx_frag_off=%s' % (
               tot.get('rx_frag_invalid'), tot.get('rx_frag_timeout'), tot.get('rx_frag_off')))
        ck('%s run: the %d retransmitted requests (an INVITE and a REGISTER per part, '
           'fragmented again in the frag run) absorbed as such (sip_state_dup_request)'
           % (run, x['retransmissions']),
           tot.get('sip_state_dup_request') == x['retransmissions'],
           'sip_state_dup_request=%s' % tot.get('sip_state_dup_request'))
        ck('%s run: one notification per derived event to the ALL subscriber '
           '(sip_events = %d notifications on :%d)' % (run, len(evs), ALL_PORT),
           tot.get('sip_events') == len(evs) and len(evs) > 0,
           'sip_events=%s, notifications %d' % (tot.get('sip_events'), len(evs)))
        bad = [n for n in evs + sum(filt.values(), []) if 'badfrag' in json.dumps(n['attrs'])]
        ck('%s run: no event from a malformed fragmented datagram (badfrag users)' % run,
           not bad, '%d events, e.g. %s' % (len(bad), bad[0]['raw'][:200] if bad else ''))
        mtx = E.read_pcap(os.path.join(d, '%s_mirror_tx.pcap' % run))
        ck('%s run: nothing sent out of the mirror port (its TX capture is empty)' % run,
           len(mtx) == 0, '%d frames' % len(mtx))
        per_flow_expectations(ck, run, exp['runs'][run], evs)
        for fs in exp['filtered']:
            got = sorted(callid(n) for n in filt[fs['port']])
            names = {(ev_name(n), n['format']) for n in filt[fs['port']]}
            ck('%s run: filtered subscription %s [%s] (%s, %s part): exactly one notification '
               'per flow of that user (%d)' % (run, fs['event'], fs['filter'], fs['format'],
                                               fs['part'], len(fs['callids'])),
               got == fs['callids'] and names == {(fs['event'], fs['format'])},
               'got %r %r, want %r' % (got, names, fs['callids']))
    if 'frag' in runs and 'ref' in runs:
        kf = collections.Counter(key(n) for n in runs['frag'][0])
        kr = collections.Counter(key(n) for n in runs['ref'][0])
        missing = kr - kf
        extra = kf - kr
        ck('fragmented run raises exactly the events of the unfragmented one, each as '
           'often (%d events, %d distinct)' % (sum(kr.values()), len(kr)),
           not missing and not extra and kr,
           'missing %s; extra %s' % (list(missing.items())[:3], list(extra.items())[:3]))
        names = collections.Counter(ev_name(n) for n in runs['frag'][0])
        print('  events (frag run): %s' % ', '.join('%s %d' % kv for kv in sorted(names.items())))
    return 1 if fails[0] else 0


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == 'gen':
        return cmd_gen(a[1], a[2])
    if len(a) == 2 and a[0] == 'check':
        return cmd_check(a[1])
    print(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main())
