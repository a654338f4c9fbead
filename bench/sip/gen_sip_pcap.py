#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""SIP capture generator (Python standard library only): UDP SIP traffic as a
mirror port of a SIP proxy/registrar sees it, for the SIP benchmarks
(bench/sip/run.sh, bench/bench_sip.cc) and the fragmented-SIP end-to-end test
(tests/e2e/sip_frag_e2e.sh). Deterministic for a given --seed.

  gen_sip_pcap.py --out FILE.pcap [options]

Traffic (between softphones 198.18.10.10.. / 2001:db8:10::a.. and the proxy
198.18.10.1 / 2001:db8:10::1, UDP 5060; Ethernet addresses of those hosts,
never evrd's):
  registration flows   REGISTER -> 401 (WWW-Authenticate) -> REGISTER with
                       Authorization -> 200 (Contact;expires), then some
                       refreshes (REGISTER+Authorization -> 200) and some
                       unregisters (Expires: 0 -> 200 without Contact)
  INVITE dialogs       INVITE (SDP) -> 100 -> 180 -> 200 (SDP) -> ACK ->
                       BYE -> 200, and the variants: 183 with SDP before the
                       200; 486 Busy Here -> ACK; CANCEL: INVITE -> 100 ->
                       180 -> CANCEL -> 200 -> 487 -> ACK. Record-Route on
                       some dialogs; caller or callee hangs up.
Messages carry the headers softphones and OpenSIPS put on the wire (Via with
branch and rport, Max-Forwards, Contact, Allow, Supported, User-Agent /
Server, Record-Route...); an INVITE with SDP is ~900-1300 bytes. Users
are "user%07u@domain%02u.example.com" (user k in domain k % 20), the universe
of bench/bench_gen.h, so subscriptions built like the matcher benchmark's
match them; every Call-ID, tag and branch is unique.

Framing options:
  --frag               IP packets larger than --mtu (576 unless given) are sent as fragments
                       (IPv4 MF/offset, IPv6 Fragment header), some out of
                       order; --pad-frac makes that fraction of REGISTERs and
                       INVITEs larger than the MTU (a long X-Padding header)
  --bad-frags N        N extra fragmented REGISTERs that can never be
                       reassembled correctly: alternately an overlapping
                       fragment, and a missing middle piece (only a timeout
                       ends it); their users are "badfrag%03u"
  --hep                wrap every SIP message in HEPv3 (RFC-less, see
                       sipcapture.org HEP3 spec: chunks 1-12, 15) sent from
                       the capture agent --hep-src to evrd --evrd-ip:9060
                       (--evrd-mac); the HEP datagram is what gets fragmented
  --ipv6-frac F        share of softphones on IPv6 (default 0.1)

Outputs: FILE.pcap (classic pcap, Ethernet, usec), and with --manifest
FILE.json: per-flow records (kind, user, Call-ID, outcome, message count,
fragmented or not, family, malformed kind) and totals (messages by method and
status, frames, fragments, bytes, size percentiles), from which tests compute
the events a flow must raise.
"""
import argparse
import ipaddress
import json
import os
import random
import struct
import sys

# Frame builders and pcap I/O shared with the end-to-end suites (standard
# library only, like this file).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                'tests', 'e2e'))
from evr_e2e import ETH_IP4, ETH_IP6, csum, eth, write_pcap  # noqa: E402

PROXY4, PROXY6 = '198.18.10.1', '2001:db8:10::1'
PROXY_MAC = '02:00:c6:12:0a:01'
SIP_PORT = 5060
N_DOMAINS = 20

UAS = [  # (User-Agent, contact style)
    'Linphone/5.0.14 (belle-sip/5.0.0)',
    'Z 5.6.1 v2.10.19.9',
    'Grandstream GXP2170 1.0.11.23',
    'Yealink SIP-T46U 108.86.0.45',
    'MicroSIP/3.21.3',
    'Bria 6.6.1 stamp 118236',
]
SERVER = 'OpenSIPS (3.3.4 (x86_64/linux))'
ALLOW = 'INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, SUBSCRIBE, INFO, PRACK, UPDATE'
SUPPORTED = ['replaces, outbound, gruu, path', 'replaces, timer', 'timer, path, replaces',
             'replaces, norefersub, extended-refer, timer, sec-agree, outbound, path, X-cisco-serviceuri']


def user_name(k):
    return 'user%07u' % k


def domain_of(k):
    return 'domain%02u.example.com' % (k % N_DOMAINS)


# ------------------------------------------------------------------ hosts


class Host:
    """A softphone: 240 addresses of 198.18.10.0/24 (or 2001:db8:10::/64),
    several phones behind each one from the second round on (NAT: other
    source ports)."""

    def __init__(self, idx, v6):
        self.v6 = v6
        last = 10 + idx % 240
        if v6:
            self.ip = str(ipaddress.IPv6Address('2001:db8:10::') + last)
        else:
            self.ip = '198.18.10.%d' % last
        self.mac = '02:00:c6:12:0a:%02x' % last
        self.port = SIP_PORT if idx < 240 else 20000 + idx % 40000

    def hostport(self):
        return ('[%s]' % self.ip if self.v6 else self.ip) + ':%d' % self.port


class Proxy:
    def __init__(self, v6):
        self.v6 = v6
        self.ip = PROXY6 if v6 else PROXY4
        self.mac = PROXY_MAC
        self.port = SIP_PORT

    def hostport(self):
        return ('[%s]' % self.ip if self.v6 else self.ip) + ':%d' % self.port


# ------------------------------------------------------------ SIP messages


class Ids:
    """Unique Call-IDs, tags, branches, nonces from the seeded RNG (each also
    carries a serial number, so uniqueness does not rest on randomness)."""

    def __init__(self, rng):
        self.rng = rng
        self.n = 0

    def _hex(self, k):
        return '%0*x' % (k, self.rng.getrandbits(4 * k))

    def serial(self):
        self.n += 1
        return self.n

    def callid(self, host):
        return '%s-%06x@%s' % (self._hex(20), self.serial(), host.ip)

    def tag(self):
        return '%s%x' % (self._hex(8), self.serial())

    def branch(self):
        return 'z9hG4bK.%s%x' % (self._hex(10), self.serial())

    def nonce(self):
        return self._hex(32)

    def uuid(self):
        h = self._hex(32)
        return '%s-%s-%s-%s-%s' % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def render(start, headers, body=b''):
    """Start line + headers (name, value) + Content-Length + body, CRLF."""
    lines = [start] + ['%s: %s' % hv for hv in headers]
    lines.append('Content-Length: %d' % len(body))
    return ('\r\n'.join(lines) + '\r\n\r\n').encode() + body


def via(host, branch, received=None):
    v = 'SIP/2.0/UDP %s;branch=%s;rport' % (host.hostport(), branch)
    if received is not None:
        v = 'SIP/2.0/UDP %s;received=%s;rport=%d;branch=%s' % (
            host.hostport(), received.ip, received.port, branch)
    return v


def response(code, reason, req_hdrs, to_tag, extra=(), body=b''):
    """A response to the request whose headers are req_hdrs: Via (with
    received/rport filled in as a proxy does), From, To (+tag), Call-ID,
    CSeq copied; then extra headers."""
    out = []
    for k, v in req_hdrs:
        if k == 'Via':
            # ;rport -> ;received=IP;rport=PORT (RFC 3581) on the top Via
            out.append((k, v))
        elif k in ('From', 'Call-ID', 'CSeq'):
            out.append((k, v))
        elif k == 'To':
            out.append((k, v if to_tag is None or ';tag=' in v else v + ';tag=' + to_tag))
    out += list(extra)
    return render('SIP/2.0 %d %s' % (code, reason), out, body)


def sdp(rng, host, sess, big):
    ip = host.ip
    af = 'IP6' if host.v6 else 'IP4'
    port = 7078 + 2 * rng.randrange(500)
    lines = ['v=0',
             'o=- %d %d IN %s %s' % (sess, sess + 1, af, ip),
             's=Talk' if big else 's=-',
             'c=IN %s %s' % (af, ip),
             't=0 0']
    if big:
        lines += ['a=ice-pwd:%024x' % rng.getrandbits(96),
                  'a=ice-ufrag:%08x' % rng.getrandbits(32)]
        lines += ['m=audio %d RTP/AVP 96 0 8 9 18 101' % port,
                  'a=rtpmap:96 opus/48000/2', 'a=fmtp:96 useinbandfec=1',
                  'a=rtpmap:18 G729/8000', 'a=fmtp:18 annexb=yes',
                  'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15',
                  'a=rtcp:%d' % (port + 1),
                  'a=candidate:1 1 UDP 2130706431 %s %d typ host' % (ip, port),
                  'a=candidate:1 2 UDP 2130706430 %s %d typ host' % (ip, port + 1),
                  'a=rtcp-fb:* trr-int 1000', 'a=sendrecv']
    else:
        lines += ['m=audio %d RTP/AVP 0 8 9 101' % port,
                  'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:9 G722/8000',
                  'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16',
                  'a=ptime:20', 'a=sendrecv']
    return ('\r\n'.join(lines) + '\r\n').encode()


class Flow:
    """One registration flow or INVITE dialog: a list of messages
    (offset_s, from_ua, payload bytes, label), plus what tests need."""

    def __init__(self, fid, kind, user, ua_host, proxy, **info):
        self.fid, self.kind, self.user, self.ua, self.proxy = fid, kind, user, ua_host, proxy
        self.msgs = []
        self.info = info

    def add(self, dt, from_ua, payload, label):
        self.msgs.append((dt, from_ua, payload, label))


class SipGen:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.ids = Ids(self.rng)
        self.proxy4, self.proxy6 = Proxy(False), Proxy(True)

    def padding(self, need):
        """X-Padding header of about `need` bytes (what large messages
        carry in real traffic: long P-Asserted-Identity chains, certificate
        identities, vendor blobs; a plain header keeps the parse honest)."""
        if need <= 0:
            return []
        return [('X-Padding', ''.join('%08x' % self.rng.getrandbits(32) for _ in range(need // 8 + 1)))]

    # ---- registrations

    def registration(self, fid, k, host, refreshes, unregister, pad, user=None):
        g, r = self.ids, self.rng
        proxy = self.proxy6 if host.v6 else self.proxy4
        user = user or user_name(k)
        dom = domain_of(k)
        ua = UAS[k % len(UAS)]
        callid = g.callid(host)
        ftag = g.tag()
        expires = r.choice((60, 300, 600, 1800, 3600))
        cseq = r.randrange(1, 200) * 10
        inst = '<urn:uuid:%s>' % g.uuid()
        contact_uri = 'sip:%s@%s;transport=udp' % (user, host.hostport())
        fl = Flow(fid, 'register', user, host, proxy, domain=dom, callid=callid,
                  expires=expires, refreshes=refreshes, unregister=unregister,
                  user_agent=ua, contact='<%s>' % contact_uri)
        realm = dom
        nonce = g.nonce()
        t = 0.0

        def req(cseq, exp, auth, uri_tail=''):
            hdrs = [('Via', via(host, g.branch())),
                    ('Max-Forwards', '70'),
                    ('From', '<sip:%s@%s>;tag=%s' % (user, dom, ftag)),
                    ('To', 'sip:%s@%s' % (user, dom)),
                    ('Call-ID', callid),
                    ('CSeq', '%d REGISTER' % cseq),
                    ('Contact', '<%s>;+sip.instance="%s";expires=%d' % (contact_uri, inst, exp)),
                    ('Expires', str(exp))]
            if auth:
                hdrs.append(('Authorization',
                             'Digest realm="%s", nonce="%s", algorithm=MD5, username="%s", '
                             'uri="sip:%s", response="%032x", cnonce="%s", nc=%08x, qop=auth'
                             % (realm, nonce, user, dom, r.getrandbits(128),
                                g._hex(16), cseq % 256 + 1)))
            hdrs += [('Allow', ALLOW), ('Supported', SUPPORTED[k % len(SUPPORTED)]),
                     ('User-Agent', ua)]
            hdrs += self.padding(pad)
            return hdrs

        def ok(hdrs, exp):
            extra = []
            if exp:
                extra.append(('Contact', '<%s>;expires=%d;+sip.instance="%s"' % (contact_uri, exp, inst)))
            extra += [('Server', SERVER)]
            return response(200, 'OK', self._recv(hdrs, host), g.tag(), extra)

        h = req(cseq, expires, False)
        fl.add(t, True, render('REGISTER sip:%s SIP/2.0' % dom, h), 'REGISTER')
        t += r.uniform(0.002, 0.02)
        fl.add(t, False, response(401, 'Unauthorized', self._recv(h, host), g.tag(), [
            ('WWW-Authenticate', 'Digest realm="%s", nonce="%s", qop="auth", algorithm=MD5'
             % (realm, nonce)), ('Server', SERVER)]), '401')
        cseq += 1
        t += r.uniform(0.01, 0.05)
        h = req(cseq, expires, True)
        fl.add(t, True, render('REGISTER sip:%s SIP/2.0' % dom, h), 'REGISTER')
        t += r.uniform(0.002, 0.02)
        fl.add(t, False, ok(h, expires), '200')
        for _ in range(refreshes):
            cseq += 1
            t += r.uniform(0.5, 2.0)  # compressed: a real refresh comes at ~expires/2
            h = req(cseq, expires, True)
            fl.add(t, True, render('REGISTER sip:%s SIP/2.0' % dom, h), 'REGISTER')
            t += r.uniform(0.002, 0.02)
            fl.add(t, False, ok(h, expires), '200')
        if unregister:
            cseq += 1
            t += r.uniform(0.5, 2.0)
            h = req(cseq, 0, True)
            fl.add(t, True, render('REGISTER sip:%s SIP/2.0' % dom, h), 'REGISTER')
            t += r.uniform(0.002, 0.02)
            fl.add(t, False, ok(h, 0), '200')
        return fl

    def _recv(self, hdrs, host):
        """Request headers with the top Via as the proxy answers it
        (received + rport filled in)."""
        out = []
        for k, v in hdrs:
            if k == 'Via' and v.endswith(';rport'):
                v = v[:-len(';rport')] + ';received=%s;rport=%d' % (host.ip, host.port)
            out.append((k, v))
        return out

    # ---- INVITE dialogs

    def dialog(self, fid, ka, kb, host, outcome, pad):
        """Caller user ka on host calls user kb through the proxy. outcome:
        answer, answer183, busy, cancel."""
        g, r = self.ids, self.rng
        proxy = self.proxy6 if host.v6 else self.proxy4
        ua_a, ua_b = user_name(ka), user_name(kb)
        dom = domain_of(ka)
        uagent = UAS[ka % len(UAS)]
        callid = g.callid(host)
        ftag, ttag = g.tag(), g.tag()
        cseq = r.randrange(1, 100)
        rr = r.random() < 0.5
        display = 'User %d' % ka
        contact_a = '<sip:%s@%s;transport=udp>' % (ua_a, host.hostport())
        contact_b = '<sip:%s@%s;transport=udp>' % (ua_b, proxy.hostport())
        caller_hangs_up = r.random() < 0.5
        fl = Flow(fid, 'invite', ua_a, host, proxy, callee=ua_b, domain=dom, callid=callid,
                  outcome=outcome, record_route=rr, caller_hangs_up=caller_hangs_up,
                  user_agent=uagent)
        ibranch = g.branch()
        sess = r.randrange(1000, 9999)
        body = sdp(r, host, sess, big=r.random() < 0.6)
        inv = [('Via', via(host, ibranch)),
               ('Max-Forwards', '70'),
               ('From', '"%s" <sip:%s@%s>;tag=%s' % (display, ua_a, dom, ftag)),
               ('To', '<sip:%s@%s>' % (ua_b, dom)),
               ('Call-ID', callid),
               ('CSeq', '%d INVITE' % cseq),
               ('Contact', contact_a),
               ('Content-Type', 'application/sdp'),
               ('Allow', ALLOW),
               ('Supported', SUPPORTED[ka % len(SUPPORTED)]),
               ('User-Agent', uagent)]
        if r.random() < 0.5:
            inv.append(('Session-Expires', '1800'))
            inv.append(('Min-SE', '90'))
        inv += self.padding(pad)
        t = 0.0
        ruri = 'sip:%s@%s' % (ua_b, dom)
        fl.add(t, True, render('INVITE %s SIP/2.0' % ruri, inv, body), 'INVITE')
        recv = self._recv(inv, host)
        rrh = [('Record-Route', '<sip:%s;lr;ftag=%s;did=%s>' % (proxy.hostport(), ftag, g._hex(8)))] if rr else []
        t += r.uniform(0.001, 0.01)
        fl.add(t, False, response(100, 'Trying', recv, None, [('Server', SERVER)]), '100')
        if outcome == 'answer183':
            t += r.uniform(0.1, 0.5)
            fl.add(t, False, response(183, 'Session Progress', recv, ttag,
                                      rrh + [('Contact', contact_b), ('Content-Type', 'application/sdp'),
                                             ('Server', SERVER)],
                                      sdp(r, proxy, sess + 7, big=False)), '183')
        else:
            t += r.uniform(0.1, 0.5)
            fl.add(t, False, response(180, 'Ringing', recv, ttag,
                                      rrh + [('Contact', contact_b), ('Server', SERVER)]), '180')
        to_b = '<sip:%s@%s>;tag=%s' % (ua_b, dom, ttag)

        def ack(branch, cs):
            return render('ACK %s SIP/2.0' % ruri,
                          [('Via', via(host, branch)), ('Max-Forwards', '70'),
                           ('From', '"%s" <sip:%s@%s>;tag=%s' % (display, ua_a, dom, ftag)),
                           ('To', to_b), ('Call-ID', callid), ('CSeq', '%d ACK' % cs),
                           ('User-Agent', uagent)])

        if outcome == 'busy':
            t += r.uniform(1, 4)
            fl.add(t, False, response(486, 'Busy Here', recv, ttag, [('Server', SERVER)]), '486')
            t += r.uniform(0.001, 0.01)
            fl.add(t, True, ack(ibranch, cseq), 'ACK')
            return fl
        if outcome == 'cancel':
            t += r.uniform(2, 8)
            can = [('Via', via(host, ibranch)), ('Max-Forwards', '70'),
                   ('From', '"%s" <sip:%s@%s>;tag=%s' % (display, ua_a, dom, ftag)),
                   ('To', '<sip:%s@%s>' % (ua_b, dom)), ('Call-ID', callid),
                   ('CSeq', '%d CANCEL' % cseq), ('User-Agent', uagent)]
            fl.add(t, True, render('CANCEL %s SIP/2.0' % ruri, can), 'CANCEL')
            t += r.uniform(0.001, 0.01)
            fl.add(t, False, response(200, 'OK', self._recv(can, host), ttag, [('Server', SERVER)]), '200')
            t += r.uniform(0.001, 0.01)
            fl.add(t, False, response(487, 'Request Terminated', recv, ttag, [('Server', SERVER)]), '487')
            t += r.uniform(0.001, 0.01)
            fl.add(t, True, ack(ibranch, cseq), 'ACK')
            return fl
        # answered
        t += r.uniform(1, 6)
        fl.add(t, False, response(200, 'OK', recv, ttag,
                                  rrh + [('Contact', contact_b), ('Content-Type', 'application/sdp'),
                                         ('Allow', ALLOW), ('Supported', 'replaces, timer'),
                                         ('Server', SERVER)],
                                  sdp(r, proxy, sess + 11, big=r.random() < 0.5)), '200')
        t += r.uniform(0.01, 0.05)
        fl.add(t, True, ack(g.branch(), cseq), 'ACK')
        t += r.uniform(5, 60)
        if caller_hangs_up:
            bye = [('Via', via(host, g.branch())), ('Max-Forwards', '70'),
                   ('From', '"%s" <sip:%s@%s>;tag=%s' % (display, ua_a, dom, ftag)),
                   ('To', to_b), ('Call-ID', callid), ('CSeq', '%d BYE' % (cseq + 1)),
                   ('User-Agent', uagent)]
            fl.add(t, True, render('BYE sip:%s@%s SIP/2.0' % (ua_b, proxy.hostport()), bye), 'BYE')
            t += r.uniform(0.005, 0.05)
            fl.add(t, False, response(200, 'OK', self._recv(bye, host), None, [('Server', SERVER)]), '200')
        else:
            bye = [('Via', 'SIP/2.0/UDP %s;branch=%s' % (proxy.hostport(), g.branch())),
                   ('Max-Forwards', '69'),
                   ('From', to_b), ('To', '"%s" <sip:%s@%s>;tag=%s' % (display, ua_a, dom, ftag)),
                   ('Call-ID', callid), ('CSeq', '%d BYE' % r.randrange(1, 100)),
                   ('User-Agent', UAS[kb % len(UAS)])]
            fl.add(t, False, render('BYE sip:%s@%s;transport=udp SIP/2.0' % (ua_a, host.hostport()), bye), 'BYE')
            t += r.uniform(0.005, 0.05)
            fl.add(t, True, response(200, 'OK', bye, None, [('User-Agent', uagent)]), '200')
        return fl


# ----------------------------------------------------------------- framing


def udp_segment(src, dst, sport, dport, payload, v6):
    """UDP header + payload with a valid checksum over the pseudo-header."""
    u = struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload
    sa, da = ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed
    if v6:
        ph = sa + da + struct.pack('!IxxxB', len(u), 17)
    else:
        ph = sa + da + struct.pack('!BBH', 0, 17, len(u))
    c = csum(ph + u) or 0xffff
    return u[:6] + struct.pack('!H', c) + u[8:]


def ip4_hdr(src, dst, plen, ident, frag):
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + plen, ident, frag, 64, 17, 0,
                    ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    return h[:10] + struct.pack('!H', csum(h)) + h[12:]


def ip6_hdr(src, dst, plen, nh):
    return struct.pack('!IHBB16s16s', 0x60000000, plen, nh, 64,
                       ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed)


class Framer:
    """Turns (src, dst, sport, dport, payload) into Ethernet frames: whole,
    fragmented to the MTU, or deliberately broken fragments."""

    def __init__(self, rng, mtu, frag):
        self.rng, self.mtu, self.frag = rng, mtu, frag
        self.ident = 0x1000
        self.stats = {'frames': 0, 'fragments': 0, 'fragmented_datagrams': 0}

    def pieces(self, seg, room):
        """Split seg into (offset, bytes) chunks of at most room bytes
        (a multiple of 8 except the last)."""
        room -= room % 8
        return [(o, seg[o:o + room]) for o in range(0, len(seg), room)]

    def frames(self, smac, dmac, src, dst, sport, dport, payload, v6, bad=None):
        seg = udp_segment(src, dst, sport, dport, payload, v6)
        hl = 40 if v6 else 20
        big = hl + len(seg) > self.mtu
        if not (bad or (self.frag and big)):
            l3 = ip6_hdr(src, dst, len(seg), 17) + seg if v6 else \
                ip4_hdr(src, dst, len(seg), self._id(), 0) + seg
            self.stats['frames'] += 1
            return [eth(dmac, smac, ETH_IP6 if v6 else ETH_IP4, l3)], 0
        room = self.mtu - hl - (8 if v6 else 0)
        parts = self.pieces(seg, room)
        if len(parts) < 2:  # force two pieces for a broken datagram
            parts = self.pieces(seg, max(8, (len(seg) // 2) + 8))
        ident = self._id()
        n = len(parts)
        plist = [(o, d, i < n - 1) for i, (o, d) in enumerate(parts)]
        if bad == 'overlap':
            # an extra small middle piece (MF set) across the boundary of the
            # first two, other contents: it overlaps both; sent right after
            # the first piece. Its length (24..56) differs from every real
            # piece's (all room-sized but the last), so a reassembler that
            # counts bytes never sees the set as exactly complete.
            o = plist[1][0]
            k = next(x for x in (24, 40, 56) if all(len(d) != x for _, d, _ in plist))
            plist.insert(1, (o - 8, bytes(k), True))
        elif bad == 'missing':
            del plist[1 if n > 2 else 0]  # a middle piece, else the first
        if self.rng.random() < 0.3:  # out of order: last piece first
            plist = plist[-1:] + plist[:-1]
        out = []
        for o, d, mf in plist:
            fo = (o // 8) | (0x2000 if mf else 0)
            if v6:
                fh = struct.pack('!BBHI', 17, 0, (o // 8) << 3 | (1 if mf else 0), ident)
                l3 = ip6_hdr(src, dst, 8 + len(d), 44) + fh + d
            else:
                l3 = ip4_hdr(src, dst, len(d), ident & 0xffff, fo) + d
            out.append(eth(dmac, smac, ETH_IP6 if v6 else ETH_IP4, l3))
        self.stats['frames'] += len(out)
        self.stats['fragments'] += len(out)
        self.stats['fragmented_datagrams'] += 1
        return out, len(out)

    def _id(self):
        self.ident = (self.ident + 1) & 0xffffffff or 1
        return self.ident


def hep3(payload, src, dst, sport, dport, ts, v6, agent_id=2001, cid=None):
    """HEPv3 packet (sipcapture.org HEP3 spec): generic chunks, vendor 0."""
    def chunk(ctype, data):
        return struct.pack('!HHH', 0, ctype, 6 + len(data)) + data
    t_sec, t_usec = int(ts), int(round((ts - int(ts)) * 1e6)) % 1000000
    body = chunk(1, bytes([10 if v6 else 2])) + chunk(2, bytes([17]))
    if v6:
        body += chunk(5, ipaddress.IPv6Address(src).packed) + chunk(6, ipaddress.IPv6Address(dst).packed)
    else:
        body += chunk(3, ipaddress.IPv4Address(src).packed) + chunk(4, ipaddress.IPv4Address(dst).packed)
    body += chunk(7, struct.pack('!H', sport)) + chunk(8, struct.pack('!H', dport))
    body += chunk(9, struct.pack('!I', t_sec)) + chunk(10, struct.pack('!I', t_usec))
    body += chunk(11, bytes([1])) + chunk(12, struct.pack('!I', agent_id))
    if cid:
        body += chunk(17, cid.encode())
    body += chunk(15, payload)
    return b'HEP3' + struct.pack('!H', 6 + len(body)) + body


# ------------------------------------------------------------------ driver


def build(a):
    """Returns (frames [(t, bytes)], manifest dict)."""
    g = SipGen(a)
    r = g.rng
    n_hosts = max(1, a.hosts)
    hosts = [Host(i, r.random() < a.ipv6_frac) for i in range(n_hosts)]
    flows = []
    fid = 0

    def pad_for():
        # a message above the MTU when --pad-frac says so
        return a.mtu + r.randrange(100, 900) if r.random() < a.pad_frac else 0

    # user k registers from host k % n_hosts (a stable binding); callers are
    # drawn from the registered users, callees from the whole universe.
    users = [a.user_base + k for k in r.sample(range(a.users), min(a.users, a.registrations))] \
        if a.registrations else []
    for i, k in enumerate(users):
        x = r.random()
        refreshes = 1 if x < a.refresh_frac else 0
        unreg = r.random() < a.unregister_frac
        flows.append(g.registration(fid, k, hosts[k % n_hosts], refreshes, unreg, pad_for()))
        fid += 1
    outcomes = (['answer'] * 60 + ['answer183'] * 15 + ['busy'] * 15 + ['cancel'] * 10)
    for i in range(a.calls):
        ka = users[r.randrange(len(users))] if users else a.user_base + r.randrange(a.users)
        kb = a.user_base + r.randrange(a.users)
        flows.append(g.dialog(fid, ka, kb, hosts[ka % n_hosts], r.choice(outcomes), pad_for()))
        fid += 1
    bad = []
    for i in range(a.bad_frags):
        h = Host(n_hosts + i, (i // 2) % 2 == 1)  # overlap/missing x IPv4/IPv6
        fl = g.registration(fid, 0, h, 0, False, a.mtu + 200, user='badfrag%03u' % i)
        fl.info['malformed'] = 'overlap' if i % 2 == 0 else 'missing'
        fl.msgs = fl.msgs[:1]  # the REGISTER alone: it must never be seen
        bad.append(fl)
        fid += 1

    # Schedule: flows start uniformly over the span, messages at their
    # offsets (compressed: the whole capture lasts --span seconds, long
    # call holds and refresh intervals shrink with it).
    t0 = 1700000000.0
    msgs = []
    longest = max([m[0] for f in flows for m in f.msgs] or [1.0])
    squeeze = min(1.0, a.span / 2 / longest) if longest > 0 else 1.0
    for fl in flows + bad:
        start = r.uniform(0, a.span / 2)
        for j, (dt, from_ua, payload, label) in enumerate(fl.msgs):
            msgs.append((t0 + start + dt * squeeze, fl.fid * 1000 + j, fl, from_ua, payload, label))
    msgs.sort(key=lambda m: (m[0], m[1]))

    fr = Framer(r, a.mtu, a.frag)
    frames = []
    counts = {}
    sizes = []
    for t, _, fl, from_ua, payload, label in msgs:
        ua, px = fl.ua, fl.proxy
        s, d = (ua, px) if from_ua else (px, ua)
        counts[label] = counts.get(label, 0) + 1
        sizes.append(len(payload))
        malformed = fl.info.get('malformed')
        if a.hep:
            hp = hep3(payload, s.ip, d.ip, s.port, d.port, t, ua.v6,
                      cid=fl.info.get('callid'))
            fs, nfr = fr.frames(a.hep_src_mac, a.evrd_mac, a.hep_src, a.evrd_ip,
                                a.hep_sport, a.hep_port, hp, False, bad=malformed)
        else:
            fs, nfr = fr.frames(s.mac, d.mac, s.ip, d.ip, s.port, d.port, payload, ua.v6,
                                bad=malformed)
        if nfr:  # messages sent fragmented, and their fragment frames
            fl.info['fragmented'] = fl.info.get('fragmented', 0) + 1
            fl.info['fragment_frames'] = fl.info.get('fragment_frames', 0) + nfr
        for k, x in enumerate(fs):
            frames.append((t + k * 1e-6, x))
    sizes.sort()

    def pct(p):
        return sizes[min(len(sizes) - 1, int(p * len(sizes)))] if sizes else 0
    inv_sizes = sorted(len(m[2]) for f in flows for m in f.msgs if m[3] == 'INVITE')
    manifest = {
        'seed': a.seed, 'hep': a.hep, 'frag': a.frag, 'mtu': a.mtu,
        'messages': len(msgs), 'frames': len(frames), 'flows': len(flows),
        'registrations': sum(1 for f in flows if f.kind == 'register'),
        'calls': sum(1 for f in flows if f.kind == 'invite'),
        'bad_frags': len(bad),
        'by_label': dict(sorted(counts.items())),
        'framing': fr.stats,
        'payload_bytes': {'min': sizes[0] if sizes else 0, 'p50': pct(0.5), 'p90': pct(0.9),
                          'max': sizes[-1] if sizes else 0,
                          'mean': round(sum(sizes) / len(sizes), 1) if sizes else 0},
        'invite_bytes': {'min': inv_sizes[0] if inv_sizes else 0,
                         'p50': inv_sizes[len(inv_sizes) // 2] if inv_sizes else 0,
                         'max': inv_sizes[-1] if inv_sizes else 0},
        'users': a.users, 'user_base': a.user_base, 'hosts': n_hosts,
        'flow_list': [dict(fid=f.fid, kind=f.kind, user=f.user, ua_ip=f.ua.ip,
                           ua_port=f.ua.port, family=6 if f.ua.v6 else 4,
                           messages=len(f.msgs), labels=[m[3] for m in f.msgs], **f.info)
                      for f in flows + bad],
    }
    return frames, manifest


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__)
    ap.add_argument('--out', required=True, help='pcap to write')
    ap.add_argument('--manifest', help='JSON description of the flows and totals')
    ap.add_argument('--seed', type=int, default=4)
    ap.add_argument('--registrations', type=int, default=2000, help='registration flows')
    ap.add_argument('--calls', type=int, default=1500, help='INVITE dialogs')
    ap.add_argument('--users', type=int, default=100000, help='user universe')
    ap.add_argument('--user-base', type=int, default=0,
                    help='first user number (disjoint captures for one test)')
    ap.add_argument('--hosts', type=int, default=4000, help='softphone hosts')
    ap.add_argument('--refresh-frac', type=float, default=0.5)
    ap.add_argument('--unregister-frac', type=float, default=0.2)
    ap.add_argument('--ipv6-frac', type=float, default=0.1)
    ap.add_argument('--span', type=float, default=60.0, help='capture duration, s')
    ap.add_argument('--frag', action='store_true', help='fragment IP packets above --mtu')
    ap.add_argument('--mtu', type=int, default=None,
                    help='IP MTU (default 576 with --frag, else 1500)')
    ap.add_argument('--pad-frac', type=float, default=None,
                    help='share of messages padded above the MTU (default 0.1 with --frag, else 0)')
    ap.add_argument('--bad-frags', type=int, default=0, help='malformed fragmented datagrams')
    ap.add_argument('--hep', action='store_true', help='wrap each message in HEPv3 to evrd')
    ap.add_argument('--evrd-ip', default='198.18.0.1')
    ap.add_argument('--evrd-mac', default='02:00:00:00:00:01')
    ap.add_argument('--hep-src', default='198.18.0.10', help='capture agent address')
    ap.add_argument('--hep-src-mac', default='02:00:00:00:00:0a')
    ap.add_argument('--hep-sport', type=int, default=9061)
    ap.add_argument('--hep-port', type=int, default=9060)
    a = ap.parse_args(argv)
    if a.mtu is None:
        a.mtu = 576 if a.frag else 1500
    if a.pad_frac is None:
        a.pad_frac = 0.1 if a.frag else 0.0
    if not 576 <= a.mtu <= 9000:
        ap.error('--mtu must be 576..9000')
    if a.users < a.registrations:
        ap.error('--users must be >= --registrations')
    return a


def main(argv=None):
    a = parse_args(argv)
    frames, manifest = build(a)
    write_pcap(a.out, frames)
    if a.manifest:
        with open(a.manifest, 'w') as f:
            json.dump(manifest, f, indent=1)
    m = manifest
    print('gen_sip_pcap: %s: %d messages (%d registrations, %d calls, %d malformed) in %d '
          'frames (%d fragments), payload p50 %d max %d, INVITE %d..%d bytes%s' % (
              a.out, m['messages'], m['registrations'], m['calls'], m['bad_frags'],
              m['frames'], m['framing']['fragments'], m['payload_bytes']['p50'],
              m['payload_bytes']['max'], m['invite_bytes']['min'], m['invite_bytes']['max'],
              ', HEPv3' if a.hep else ''), file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
