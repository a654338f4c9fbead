#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""OpenSIPS tools against a running evrd: MI over UDP and unix datagrams,
the FIFO and HTTP (mi_client.py: opensips-cli's and python-opensips'
framing; the calls python-opensips' OpenSIPSEvent makes), checked against
OpenSIPS's result shapes (evi/event_interface.c, mi/mi_core.c).

  mi_e2e.py run DIR UDP_PORT UNIX_SOCK FIFO HTTP_PORT
     prints PASS:/FAIL: lines (lib.sh py_checks)
"""
import json
import os
import socket
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evr_e2e import Checker, unix_dgram_sink  # noqa: E402
import mi_client as MI  # noqa: E402


def error_of(t, method, params):
    """(code, message) of the error reply, or the unexpected result."""
    try:
        return t.execute(method, params)
    except MI.MIError as e:
        return (e.code, e.message)


def sink(path):
    s = unix_dgram_sink(path)
    s.settimeout(3.0)
    return s


def transport_checks(c, t, d, tag):
    ev = 'E_MI_' + tag
    spath = os.path.join(d, 'sink_%s.sock' % tag.lower())
    sk = sink(spath)
    sock = 'unix:' + spath
    try:
        # python-opensips OpenSIPSEvent.subscribe: [event, socket, expire] -> "OK"
        c.eq(t.execute('event_subscribe', [ev, sock, 60]), 'OK',
             '%s: event_subscribe [event, socket, 60] -> "OK"' % t.name)
        c.eq(t.execute('event_subscribe', {'event': ev, 'socket': sock, 'expire': '60'}),
             'OK', '%s: event_subscribe named params (opensips-cli k=v) -> "OK"' % t.name)
        # OpenSIPSEventHandler.subscribe(expire=None) sends [event, socket, null]
        c.eq(t.execute('event_subscribe', [ev + '_DEFAULT', sock, None]), 'OK',
             '%s: event_subscribe [event, socket, null] (python-opensips default) -> "OK"'
             % t.name)
        dflt = t.execute('subscribers_list', [ev + '_DEFAULT', sock])
        c.eq(dflt.get('Event', {}).get('Subscriber', {}).get('expire'), 3600,
             '%s: ... subscribed for OpenSIPS\'s default 3600 s' % t.name)
        t.execute('event_subscribe', [ev + '_DEFAULT', sock, 0])
        evs = t.execute('events_list', [])
        ids = {e.get('name'): e.get('id') for e in evs.get('Events', [])}
        c.check(isinstance(ids.get(ev), int) and
                all(set(e) == {'name', 'id'} for e in evs['Events']),
                '%s: events_list -> {"Events":[{name,id}]} with %s' % (t.name, ev))
        lst = t.execute('subscribers_list', [ev])
        subs = lst.get('Event', {}).get('Subscribers', [])
        c.check(lst.get('Event', {}).get('name') == ev and lst['Event'].get('id') == ids.get(ev)
                and len(subs) == 1 and subs[0].get('socket') == sock and
                subs[0].get('expire') == 60 and 55 <= subs[0].get('ttl', -1) <= 60,
                '%s: subscribers_list [event] -> Event{name,id,Subscribers:[{socket,'
                'expire,ttl}]} (%s)' % (t.name, json.dumps(lst)))
        one = t.execute('subscribers_list', [ev, sock])
        c.eq(one.get('Event', {}).get('Subscriber', {}).get('socket'), sock,
             '%s: subscribers_list [event, socket] -> Event.Subscriber' % t.name)
        # opensips-cli nests array params: raise_event E x y -> [E, [x, y]]
        c.eq(t.execute('raise_event', [ev, ['x', 'y']]), 'OK',
             '%s: raise_event [event, [x, y]] -> "OK"' % t.name)
        try:
            note = json.loads(sk.recv(65535))
        except (socket.timeout, ValueError) as e:
            note = {'error': str(e)}
        c.check(note.get('method') == ev and 'x' in json.dumps(note.get('params')),
                '%s: the raised event reached the subscriber as OpenSIPS JSON-RPC (%s)'
                % (t.name, json.dumps(note)))
        # python-opensips unsubscribe: [event, socket, 0] -> "OK"
        c.eq(t.execute('event_subscribe', [ev, sock, 0]), 'OK',
             '%s: event_subscribe [event, socket, 0] (unsubscribe) -> "OK"' % t.name)
        c.eq(error_of(t, 'raise_event', [ev]), (480, 'Temporarily Unavailable'),
             '%s: raise_event with no subscriber left -> 480' % t.name)
        c.eq(error_of(t, 'no_such_command', [])[0], -32601,
             '%s: unknown method -> -32601' % t.name)
        names = t.execute('which', [])
        c.check(isinstance(names, list) and 'event_subscribe' in names and
                'get_statistics' in names, '%s: which lists the MI commands' % t.name)
        st = t.execute('get_statistics', [['matcher:', 'control:requests']])
        c.check(isinstance(st, dict) and isinstance(st.get('matcher:live'), int) and
                isinstance(st.get('control:requests'), int),
                '%s: get_statistics [["matcher:", "control:requests"]] -> group:name values'
                % t.name)
    finally:
        sk.close()
        os.unlink(spath)


def run(d, udp_port, unix_sock, fifo, http_port):
    c = Checker()
    for tag, t in (('UDP', MI.Udp('127.0.0.1', udp_port)), ('UNIX', MI.Unix(unix_sock)),
                   ('FIFO', MI.Fifo(fifo, d)), ('HTTP', MI.Http(http_port))):
        try:
            transport_checks(c, t, d, tag)
        except Exception as e:  # a transport that does not answer at all
            c.check(False, '%s: transport answers (%r)' % (t.name, e))
    # events_list knows events seen on the wire that nobody subscribes to
    evs = MI.Udp('127.0.0.1', udp_port).execute('events_list', [])
    c.check('E_NOBODY' in [e.get('name') for e in evs.get('Events', [])],
            'events_list lists E_NOBODY, only ever seen on the wire (unmatched)')
    # HTTP only: what is not /mi
    for path, method, want in (('/metrics', 'GET', 200), ('/nope', 'GET', 404),
                               ('/mi', 'GET', 405)):
        req = urllib.request.Request('http://127.0.0.1:%s%s' % (http_port, path),
                                     method=method)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                code = r.status
        except urllib.error.HTTPError as e:
            code = e.code
        c.eq(code, want, 'HTTP %s %s -> %d' % (method, path, want))
    return c.rc()


if __name__ == '__main__':
    if len(sys.argv) == 7 and sys.argv[1] == 'run':
        sys.exit(run(*sys.argv[2:]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
