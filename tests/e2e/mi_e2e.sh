#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# OpenSIPS tools against evrd (issue 11): evrd on net_pcap (pcap_e2e.py's
# capture and config) with every MI transport configured; a client framing
# requests exactly as opensips-cli / python-opensips do (mi_e2e.py) drives
# MI over UDP, the unix datagram socket, the FIFO and HTTP and checks
# OpenSIPS's result shapes; a real Prometheus server (Debian prometheus)
# scrapes GET /metrics and the test reads a counter back through its HTTP
# API; promtool checks the exposition; bad input on each transport is
# answered or counted and the daemon keeps serving.
. "$(dirname "$0")/lib.sh"

e2e_init mi_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_pcap
for tool in prometheus promtool; do
	command -v "$tool" >/dev/null || { fail "$tool installed (deploy/packages.txt)"; e2e_finish; }
done

EVRD_PREFIX=evr-e2e-mi-$$
"$PY" "$E2E_LIB_DIR/pcap_e2e.py" gen "$T" "$EVRD_PREFIX" || exit 1
nframes=$(jq .frames "$T/expect.json")
# loopback ports for this run (MI UDP, HTTP, Prometheus)
base=$((20000 + ($$ % 20000)))
mi_udp=$base mi_http=$((base + 1)) prom=$((base + 2))
cat >>"$T/evrd.conf" <<EOF
# MI UDP senders have no identity: admin here (opensips-cli subscribes over
# it below); the default is datagram_udp_role = "read"
mi = { datagram_udp = "127.0.0.1:$mi_udp"; datagram_udp_role = "admin";
       datagram_socket = "$T/mi.sock";
       fifo = "$T/mi_fifo"; fifo_reply_dir = "$T";
       http = { listen = "127.0.0.1:$mi_http"; }; };
destinations = { unix_dir = "$T"; };
EOF

check "evrd --check accepts the config with every MI transport" "$EVRD" -c "$T/evrd.conf" --check
evrd_start "$T/evrd.conf" "$T/evrd.sock" || { fail "evrd starts with the MI transports"; e2e_finish; }
pass "evrd starts with the MI transports"
rx_done() { [[ $(total rx_packets) == "$nframes" ]]; }
check "all $nframes frames of in.pcap received within 10 s" wait_until 10 rx_done

# ---- OpenSIPS clients over every transport
py_checks "$PY" "$E2E_LIB_DIR/mi_e2e.py" run "$T" "$mi_udp" "$T/mi.sock" "$T/mi_fifo" "$mi_http"

# ---- bad input on each transport: answered or counted, evrd keeps serving
bad0=$(stat_get .control.mi_bad)
"$PY" - "$mi_udp" "$T/mi.sock" <<'EOF'
import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b'this is not json', ('127.0.0.1', int(sys.argv[1])))
u.sendto(b'{' * 70000 if False else b'x' * 65000, ('127.0.0.1', int(sys.argv[1])))
x = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
x.sendto(b'\xff\xfe garbage', sys.argv[2])
EOF
bad_counted() { (($(stat_get .control.mi_bad) >= bad0 + 2)); }
check "garbage and oversize MI datagrams counted (control.mi_bad)" wait_until 5 bad_counted
# a FIFO writer that vanishes mid-request, then a good request
(printf ':reply_gone:{"jsonrpc":"2.0","id":"1","method":"ver' >"$T/mi_fifo") 2>/dev/null
check_eq "MI over the FIFO still answers after a writer vanished" \
	"$("$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import mi_client as M
print(M.Fifo(sys.argv[2], sys.argv[3]).execute("version", [])["Server"].split(" ")[0])' \
		"$E2E_LIB_DIR" "$T/mi_fifo" "$T")" "evrd"
# a slow HTTP client (headers never finished) does not hold the others up
exec {slow}<>/dev/tcp/127.0.0.1/$mi_http
printf 'POST /mi HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"json' >&"$slow"
check_eq "HTTP MI answers while a slow client holds a connection" \
	"$("$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import mi_client as M
print(M.Http(sys.argv[2]).execute("uptime", [])["Up time"].endswith("[sec]"))' \
		"$E2E_LIB_DIR" "$mi_http")" "True"
exec {slow}>&-

# ---- Prometheus: the exposition passes promtool, a real server scrapes it
"$PY" -c 'import urllib.request, sys
sys.stdout.write(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode())' \
	"$mi_http" >"$T/metrics.txt"
check "GET /metrics passes promtool check metrics" sh -c "promtool check metrics <'$T/metrics.txt'"
check "GET /metrics has evrouter_build_info and per-worker counters" \
	grep -q '^evrouter_rx_packets_total{worker="0"} ' "$T/metrics.txt"
cat >"$T/prometheus.yml" <<EOF
global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: evrd
    static_configs: [ { targets: [ "127.0.0.1:$mi_http" ] } ]
EOF
check "promtool check config" promtool check config "$T/prometheus.yml"
spawn prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
	--web.listen-address="127.0.0.1:$prom" --log.level=warn >"$T/prometheus.log" 2>&1
query() {
	"$PY" -c 'import json, sys, urllib.parse, urllib.request
u = "http://127.0.0.1:%s/api/v1/query?query=%s" % (sys.argv[1], urllib.parse.quote(sys.argv[2]))
try:
    r = json.load(urllib.request.urlopen(u, timeout=3))["data"]["result"]
    print(r[0]["value"][1] if r else "")
except Exception:
    print("")' "$prom" "$1"
}
want=$(total rx_packets)
scraped() { [[ $(query 'sum(evrouter_rx_packets_total{job="evrd"})') == "$want" ]]; }
check "Prometheus scraped evrd: sum(evrouter_rx_packets_total) = evrd's rx_packets ($want)" \
	wait_until 30 scraped
check_eq "Prometheus: up{job=\"evrd\"}" "$(query 'up{job="evrd"}')" 1

check "evrd alive" evrd_alive
evrd_stop 15
e2e_finish
