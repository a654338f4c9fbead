#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Control-plane roles beyond the stream socket, runtime policy and audit
# (issue 13), on a net_pcap evrd:
#  - MI over the unix datagram socket: a uid in control.read_uids (a user
#    the test creates) gets answers to reads and 403 for writes; a uid in
#    no list is refused before anything runs (control.mi_refused_role);
#  - MI over UDP: read role by default (mi.datagram_udp_role);
#  - HTTP: no token / a wrong one 401 with WWW-Authenticate: Bearer, the
#    read token reads and scrapes /metrics (promtool checks a Prometheus
#    config using bearer_token_file), the admin token may subscribe;
#  - evr_config_set: destinations.allow_loopback true lets a refused
#    destination in, false again refuses it (the live subscription is kept
#    and reported); a non-runtime setting and a bad value are refused,
#    naming the setting; the rate limit set at run time holds a fan-out
#    and the destination's figures show in evrctl subscribers;
#  - audit: 10,000 subscribes in a burst leave a bounded number of lines.
. "$(dirname "$0")/lib.sh"

e2e_init ctl_roles_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_pcap
command -v curl >/dev/null || { fail "curl installed"; e2e_finish; }

RO=evrmr$$ NOBODY=evrmn$$
e2e_user_add "$RO" "$NOBODY" || e2e_finish
RO_UID=$(id -u "$RO")
chmod 0755 "$T"
mkdir -m 0777 "$T/cli"

EVRD_PREFIX=evr-e2e-ctlroles-$$
base=$((20000 + ($$ % 20000)))
mi_udp=$base mi_http=$((base + 1))
printf 'admin-%s\n' "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$T/admin.token"
printf 'read-%s\n' "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$T/read.token"
chmod 0600 "$T/admin.token" "$T/read.token"
ADM_TOK=$(head -n 1 "$T/admin.token") RD_TOK=$(head -n 1 "$T/read.token")
e2e_empty_pcap "$T/empty.pcap"
cat >"$T/evrd.conf" <<CONF
eal = { lcores = "0-1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "$EVRD_PREFIX";
        vdevs = [ "net_pcap0,rx_pcap=$T/empty.pcap,tx_pcap=$T/tx.pcap" ]; };
ports = ( { name = "p"; device = "net_pcap0"; ipv4 = "198.18.16.1/24"; } );
workers = { count = 1; idle_sleep_us = 100; };
listeners = ( { port = 8090; format = "jsonrpc"; } );
control = { socket = "$T/evrd.sock"; mode = "0666"; read_uids = [ $RO_UID ];
            max_batch = 1000; };
heartbeat = { interval_s = 0; };
limits = { max_fanout = 20000; };
rings = { hdr_pool = 32768; payload_pool = 4096; egress_size = 16384; ctrl_size = 16384; };
mi = { datagram_socket = "$T/mi.sock"; datagram_udp = "127.0.0.1:$mi_udp";
       http = { listen = "127.0.0.1:$mi_http"; admin_token_file = "$T/admin.token";
                read_token_file = "$T/read.token"; }; };
CONF
evrd_start "$T/evrd.conf" "$T/evrd.sock" || { fail "evrd starts with MI roles and tokens"; e2e_finish; }

# ---- MI datagram over the unix socket, as other users
mi_as() { # mi_as USER METHOD PARAMS-JSON: the reply's error code, or "ok"
	runuser -u "$1" -- "$PY" - "$T/mi.sock" "$T/cli/$1.$RANDOM" "$2" "$3" <<'PY'
import json, os, socket, sys
srv, me, method, params = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(me)
s.settimeout(3)
s.sendto(json.dumps({"jsonrpc": "2.0", "id": "1", "method": method,
                     "params": json.loads(params)}).encode(), srv)
r = json.loads(s.recv(65536))
os.unlink(me)
print(r["error"]["code"] if "error" in r else "ok")
PY
}
chmod 0666 "$T/mi.sock"
check_eq "MI datagram, read uid: version answers" "$(mi_as "$RO" version '{}')" ok
check_eq "MI datagram, read uid: subscribe refused 403" \
	"$(mi_as "$RO" evr_subscribe '{"event":"E_MI","socket":"udp:198.18.16.2:9000"}')" 403
check_eq "MI datagram, uid in no list: refused 403" "$(mi_as "$NOBODY" version '{}')" 403
check_eq "control.mi_refused_role" "$(stat_get .control.mi_refused_role)" 1
check_eq "matcher.live: nothing subscribed by them" "$(stat_get .matcher.live)" 0
check "audit: the no-role sender logged with its uid" \
	grep -q "audit: uid $(id -u "$NOBODY") gid [0-9]* (mi-datagram): datagram refused: no role" "$EVRD_LOG"

# ---- MI over UDP: read by default
udp_call() {
	"$PY" - "$mi_udp" "$1" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(json.dumps({"jsonrpc": "2.0", "id": "1", "method": sys.argv[2],
                     "params": json.loads(sys.argv[3])}).encode(), ("127.0.0.1", int(sys.argv[1])))
r = json.loads(s.recv(65536))
print(r["error"]["code"] if "error" in r else "ok")
PY
}
check_eq "MI UDP (default role read): version" "$(udp_call version '{}')" ok
check_eq "MI UDP (default role read): subscribe 403" \
	"$(udp_call evr_subscribe '{"event":"E_U","socket":"udp:198.18.16.2:9000"}')" 403

# ---- HTTP bearer tokens
hcode() { curl -s -o "$T/http.out" -D "$T/http.hdr" -w '%{http_code}' "$@"; }
VER='{"jsonrpc":"2.0","id":1,"method":"version"}'
SUBR='{"jsonrpc":"2.0","id":2,"method":"evr_subscribe","params":{"event":"E_H","socket":"udp:198.18.16.2:9100"}}'
check_eq "HTTP without a token: 401" "$(hcode -d "$VER" "http://127.0.0.1:$mi_http/mi")" 401
check "... with WWW-Authenticate: Bearer" grep -qi '^WWW-Authenticate: Bearer' "$T/http.hdr"
check_eq "HTTP with a wrong token: 401" \
	"$(hcode -H 'Authorization: Bearer not-the-token-at-all' -d "$VER" "http://127.0.0.1:$mi_http/mi")" 401
check_eq "HTTP /metrics without a token: 401" "$(hcode "http://127.0.0.1:$mi_http/metrics")" 401
check_eq "HTTP read token: version 200" \
	"$(hcode -H "Authorization: Bearer $RD_TOK" -d "$VER" "http://127.0.0.1:$mi_http/mi")" 200
check_eq "HTTP read token: /metrics 200" \
	"$(hcode -H "Authorization: Bearer $RD_TOK" "http://127.0.0.1:$mi_http/metrics")" 200
check_eq "HTTP read token: subscribe answers 403" \
	"$(hcode -H "Authorization: Bearer $RD_TOK" -d "$SUBR" "http://127.0.0.1:$mi_http/mi" >/dev/null; jq -r .error.code "$T/http.out")" 403
check_eq "HTTP admin token: subscribe works" \
	"$(hcode -H "Authorization: Bearer $ADM_TOK" -d "$SUBR" "http://127.0.0.1:$mi_http/mi" >/dev/null; jq -r '.result | has("id")' "$T/http.out")" true
check_eq "control.http_refused_token" "$(stat_get .control.http_refused_token)" 3
check_eq "one audit line for the refused address (once per peer)" \
	"$(grep -c 'audit: http 127.0.0.1: request refused' "$EVRD_LOG")" 1
cat >"$T/prometheus.yml" <<YML
scrape_configs:
  - job_name: evrd
    bearer_token_file: $T/read.token
    static_configs: [ { targets: [ "127.0.0.1:$mi_http" ] } ]
YML
check "promtool check config: a scrape job with bearer_token_file" promtool check config "$T/prometheus.yml"
check "config_get shows the token files as secrets" \
	test "$(ctl --json config mi.http.admin_token_file)" = '"********"'

# ---- evr_config_set: the destination policy at run time
refused() { ! ctl "$@" >"$T/lo.out" 2>&1; } # the daemon's answer in lo.out
check "loopback destination refused by default" \
	refused subscribe E_LO udp:127.0.0.1:9300
check "... outside destinations.allow" grep -q "destinations.allow" "$T/lo.out"
check "config-set destinations.allow: the on-link subnet and 127.0.0.0/8" \
	ctl config-set destinations.allow '["198.18.16.0/24", "127.0.0.0/8"]'
check "loopback destination still refused: its class" \
	refused subscribe E_LO udp:127.0.0.1:9300
check "... naming destinations.allow_loopback" grep -q allow_loopback "$T/lo.out"
check "config-set destinations.allow_loopback true" ctl config-set destinations.allow_loopback true
check_eq "now the loopback destination is accepted" \
	"$(ctl --json subscribe E_LO udp:127.0.0.1:9300 | jq -r 'has("id")')" true
ctl --json config-set destinations.allow_loopback false >"$T/set.json"
check_eq "config-set back to false reports the live subscription now refused" \
	"$(jq -r .refused_subscriptions "$T/set.json")" 1
check "... and a new one is refused again" refused subscribe E_LO2 udp:127.0.0.1:9301
check_eq "the kept subscription is listed as refused" \
	"$(ctl --json subscribers --event E_LO | jq -r '.subscribers[0].refused | test("loopback")')" true
check_eq "config get follows config-set" "$(ctl --json config destinations.allow_loopback)" false
out=$(ctl config-set control.max_clients 10 2>&1)
check "a non-runtime setting is refused, naming it" \
	grep -q "setting control.max_clients: not changeable at runtime" <<<"$out"
out=$(ctl config-set destinations.burst_ms 0 2>&1)
check "a bad value is refused as the config file would be" \
	grep -q "setting destinations.burst_ms: 0 is out of range 1..60000" <<<"$out"
out=$(ctl config-set destinations.allow '["10.0.0.0/33"]' 2>&1)
check "a bad CIDR is refused, naming the element" grep -q "setting destinations.allow\[0\]" <<<"$out"
out=$(runuser -u "$RO" -- "$EVRCTL" -s "$EVR_SOCK" --timeout 5 config-set destinations.allow_own true 2>&1)
check "config-set needs the admin role" grep -q "Forbidden" <<<"$out"

# ---- the rate set at run time holds a fan-out; its figures per destination
check "config-set destinations.rate_notifications 100" ctl config-set destinations.rate_notifications 100
check "config-set destinations.burst_ms 1000" ctl config-set destinations.burst_ms 1000
check "1000 subscriptions of E_FAN to one destination" "$PY" - "$EVR_SOCK" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
f = s.makefile('rwb')
batch = [{'jsonrpc': '2.0', 'id': i, 'method': 'evr_subscribe',
          'params': {'event': 'E_FAN', 'socket': 'udp:198.18.16.9:9500',
                     'filters': ['x%d=1' % i], 'lenient': True, 'expire': 600}}
         for i in range(1000)]
f.write((json.dumps(batch) + '\n').encode())
f.flush()
sys.exit(0 if sum('result' in r for r in json.loads(f.readline())) == 1000 else 1)
PY
ctl --json raise E_FAN k=v >"$T/raise.json"
ctl --json subscribers --event E_FAN --limit 1 >"$T/fan.json"
check_eq "limiter figures: sent (100/s, 1 s deep)" "$(jq -r '.subscribers[0].limiter.sent' "$T/fan.json")" 100
check_eq "limiter figures: rate-limited" "$(jq -r '.subscribers[0].limiter.rate_limited' "$T/fan.json")" 900
check "evrctl subscribers shows them (LIMITER 100/900/0)" \
	sh -c "'$EVRCTL' -s '$EVR_SOCK' subscribers --event E_FAN --limit 1 | grep -q ' 100/900/0 '"

# ---- audit: a 10,000-subscription burst gives bounded lines
before=$(grep -c 'audit: uid 0 gid 0 (stream): evr_subscribe ok' "$EVRD_LOG")
check "10,000 subscribes in batches of 1000" "$PY" - "$EVR_SOCK" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
f = s.makefile('rwb')
ok = 0
for base in range(0, 10000, 1000):
    batch = [{'jsonrpc': '2.0', 'id': base + i, 'method': 'evr_subscribe',
              'params': {'event': 'E_BURST', 'socket': 'udp:198.18.16.3:%d' % (10000 + base + i),
                         'expire': 600}} for i in range(1000)]
    f.write((json.dumps(batch) + '\n').encode())
    f.flush()
    ok += sum('result' in r for r in json.loads(f.readline()))
sys.exit(0 if ok == 10000 else 1)
PY
sleep 1.5
ctl version >/dev/null # a turn after the second: its summary is written
after=$(grep -c 'audit: uid 0 gid 0 (stream): evr_subscribe ok' "$EVRD_LOG")
lines=$((after - before))
log "  audit lines for the burst: $lines"
check "audit lines bounded (< 100 for 10,000 writes)" test "$lines" -lt 100
check "a summary line counts the suppressed ones" \
	grep -q 'audit: uid 0 gid 0 (stream): evr_subscribe ok .[0-9]* (suppressed)' "$EVRD_LOG"
check "evrd alive" evrd_alive
evrd_stop 15
e2e_finish
