#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# NATS over TLS, end to end: a real nats-server that requires TLS and
# verifies clients (tls { verify: true }), certificates made here with
# openssl (a test CA, a server certificate for 127.0.0.1 and localhost:
# the npm client checks 127.0.0.1 as "localhost"; a client
# certificate; a second CA nobody trusts), evrd with both of its NATS
# clients (the nats: publisher and store.kind nats) on tls://, and the npm
# `nats` client as the consumer, also over TLS.
#
# Asserts:
#  - evrd starts (the store is loaded over TLS) and connects; nats-server's
#    /connz shows evrd's connections with TLS 1.2 or 1.3;
#  - a nats: subscription and a raised event: the TLS consumer gets it;
#  - evrd runs with exactly the NATS permissions the README lists (its
#    subjects, $JS.API, the three buckets, _INBOX): the store loads, a
#    `once` is claimed and notified once, the node_id lease is renewed,
#    and nats-server logs no permission violation;
#  - refused at start, each with the reason in evrd's error: a server
#    certificate from a CA evrd does not trust; no client certificate
#    (the server verifies clients); a plain nats:// URL without TLS
#    settings (the server requires TLS); a certificate without its key
#    (evrd --check names nats.tls_key_file);
#  - evrd exits 0 on SIGTERM.
# Everything on 127.0.0.1; bounded (about 20 s).
. "$(dirname "$0")/lib.sh"

e2e_init nats_tls_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_pcap
command -v nats-server >/dev/null || { fail "nats-server installed (deploy/packages.txt)"; e2e_finish; }
command -v openssl >/dev/null || { fail "openssl installed"; e2e_finish; }
e2e_require_nats_js

JS=$E2E_LIB_DIR/nats_e2e.js
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
NPORT=$(free_port)
MPORT=$(free_port)
PKI=$T/pki
mkdir -p "$PKI"

# ---------------------------------------------------------------- certificates
# cert NAME CA EXT: a P-256 key and a certificate signed by CA (1 day)
cert() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$PKI/$1.key" -out "$PKI/$1.csr" -subj "/CN=evr-test-$1" 2>/dev/null &&
	openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/$2.pem" -CAkey "$PKI/$2.key" \
		-CAcreateserial -out "$PKI/$1.pem" -days 1 -extfile <(printf '%s\n' "$3") 2>/dev/null
}
ca() {
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$PKI/$1.key" -out "$PKI/$1.pem" -days 1 -subj "/CN=evr-test-$1" 2>/dev/null
}
check "test PKI made with openssl (CA, server for 127.0.0.1, client; a second CA)" \
	eval 'ca ca && ca other &&
	cert server ca "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth" &&
	cert client ca "extendedKeyUsage=clientAuth"'

# ---------------------------------------------------------------- nats-server
cat >"$T/nats.conf" <<CONF
listen: 127.0.0.1:$NPORT
http: 127.0.0.1:$MPORT
jetstream { store_dir: "$T/js" }
tls {
  cert_file: "$PKI/server.pem"
  key_file: "$PKI/server.key"
  ca_file: "$PKI/ca.pem"
  verify: true
  timeout: 2
}
# evrd gets exactly the permissions the README lists for it: its nats:
# subjects, the JetStream API, the three buckets, replies on _INBOX
authorization {
  users = [
    { user: evrd, password: evrd-pw, permissions: {
        publish: [ "evr.>", "\$JS.API.>", "\$KV.evr_tls.>", "\$KV.evr_tls_claims.>",
                   "\$KV.evr_tls_nodes.>" ]
        subscribe: [ "_INBOX.>" ] } }
    { user: consumer, password: consumer-pw, permissions: {
        publish: [ "_INBOX.>" ], subscribe: [ "evr.>", "_INBOX.>" ] } }
  ]
}
CONF
nats_up() {
	spawn nats-server -c "$T/nats.conf" -l "$T/nats-server.log"
	wait_until 10 "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$NPORT"
}
check "nats-server requiring TLS with client verification on 127.0.0.1:$NPORT" nats_up

e2e_empty_pcap "$T/empty.pcap"
# conf NAME NATS-LINES: an evrd config with store.kind nats
conf() {
	cat >"$T/$1.conf" <<CONF
eal = { lcores = "0-1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "evr-e2e-natstls-$$-$1";
        vdevs = [ "net_pcap0,rx_pcap=$T/empty.pcap,tx_pcap=$T/tx-$1.pcap" ]; };
ports = ( { name = "p"; device = "net_pcap0"; ipv4 = "198.18.16.1/24"; } );
workers = { count = 1; idle_sleep_us = 1000; };
listeners = ( { port = 8090; format = "jsonrpc"; } );
control = { socket = "$T/$1.sock"; };
heartbeat = { interval_s = 0; };
nats = { name = "evrd-tls-$1"; reconnect_wait_ms = 200; user = "evrd"; password = "evrd-pw";
         $2 };
store = { kind = "nats"; bucket = "evr_tls"; node_id = 1; timeout_ms = 2000; };
CONF
}
TLS_OK="url = \"tls://127.0.0.1:$NPORT\"; tls_ca_file = \"$PKI/ca.pem\";
        tls_cert_file = \"$PKI/client.pem\"; tls_key_file = \"$PKI/client.key\";"

# ---------------------------------------------------------------- refusals
# refused NAME WHAT PATTERN: evrd with config NAME exits non-zero at start
# and its error matches PATTERN
refused() {
	local out rc
	out=$(timeout 60 "$EVRD" -c "$T/$1.conf" --store-path "$T/store-$1" 2>&1 </dev/null)
	rc=$?
	if [[ $rc != 0 ]] && grep -Eqi "$3" <<<"$out"; then
		pass "$2 (rc $rc: $(grep -i error <<<"$out" | tail -n 1 | cut -c1-200))"
	else
		fail "$2 (rc $rc)"
		tail -n 5 <<<"$out" | sed 's/^/    /'
	fi
}
mkdir -p "$T"/store-{untrusted,nocert,plain,nokey}
conf untrusted "url = \"tls://127.0.0.1:$NPORT\"; tls_ca_file = \"$PKI/other.pem\";
                tls_cert_file = \"$PKI/client.pem\"; tls_key_file = \"$PKI/client.key\";"
refused untrusted "server certificate from a CA evrd does not trust: refused at start" \
	"store nats bucket evr_tls.*SSL handshake error.*certificate"
conf nocert "url = \"tls://127.0.0.1:$NPORT\"; tls_ca_file = \"$PKI/ca.pem\";"
refused nocert "no client certificate (the server verifies clients): refused at start" \
	"store nats bucket evr_tls.*cannot connect"
conf plain "url = \"nats://127.0.0.1:$NPORT\";"
refused plain "plain nats:// to a server that requires TLS: refused at start" \
	"store nats bucket evr_tls.*cannot connect"
conf nokey "url = \"tls://127.0.0.1:$NPORT\"; tls_cert_file = \"$PKI/client.pem\";"
out=$("$EVRD" -c "$T/nokey.conf" --check 2>&1)
check "a client certificate without its key: --check names nats.tls_key_file ($out)" \
	grep -q "nats.tls_cert_file.*tls_key_file" <<<"$out"

# ---------------------------------------------------------------- evrd over TLS
conf ok "$TLS_OK"
evrd_start "$T/ok.conf" "$T/ok.sock" || { fail "evrd starts with NATS over TLS (store loaded)"; e2e_finish; }
connected() { [[ $(stat_get .dataplane.nats.connected) == true ]]; }
check "evrd's nats: publisher connected over TLS" wait_until 10 connected
check_eq "store not stale" "$(stat_get .store.stale)" 0
tls_conns() {
	curl -s "http://127.0.0.1:$MPORT/connz?auth=true" |
		jq -r '[.connections[] | select(.name == "evrd-tls-ok") | "\(.tls_version)/\(.authorized_user)"] | sort | join(" ")'
}
check_eq "nats-server /connz: evrd's two connections (publisher, store): TLS 1.3, user evrd" \
	"$(tls_conns)" "1.3/evrd 1.3/evrd"

check "subscribe E_TLS nats:evr.{event}" ctl subscribe E_TLS 'nats:evr.{event}' --format jsonrpc --expire 600
spawn env NATS_USER=consumer NATS_PASS=consumer-pw NATS_TLS_CA="$PKI/ca.pem" NATS_TLS_CERT="$PKI/client.pem" NATS_TLS_KEY="$PKI/client.key" \
	timeout 30 node "$JS" collect "tls://127.0.0.1:$NPORT" 'evr.>' "$T/tls.jsonl" 1 15
PID_C=$BG_PID
check "TLS consumer subscribed (npm nats)" wait_until 10 test -e "$T/tls.jsonl.ready"
check "raise E_TLS k=v" ctl raise E_TLS k=v
wait "$PID_C"
check_eq "TLS consumer got the notification (subject, method, k)" \
	"$(jq -r '"\(.subject) \(.data | fromjson | "\(.method) \(.params.k)")"' "$T/tls.jsonl" 2>/dev/null)" \
	"evr.E_TLS E_TLS v"
check_eq "nats_published" "$(total nats_published)" 1

# once: the claims bucket (store.kind nats claims a fired once before it
# is notified), with evrd's restricted permissions
check "subscribe E_ONCE nats:evr.{event} once" \
	ctl subscribe E_ONCE 'nats:evr.{event}' --format jsonrpc --expire 600 --once
spawn env NATS_USER=consumer NATS_PASS=consumer-pw NATS_TLS_CA="$PKI/ca.pem" \
	NATS_TLS_CERT="$PKI/client.pem" NATS_TLS_KEY="$PKI/client.key" \
	timeout 30 node "$JS" collect "tls://127.0.0.1:$NPORT" 'evr.E_ONCE' "$T/once.jsonl" 2 4
PID_C=$BG_PID
check "TLS consumer subscribed to evr.E_ONCE" wait_until 10 test -e "$T/once.jsonl.ready"
ctl raise E_ONCE n=1 >/dev/null
ctl raise E_ONCE n=2 >/dev/null
wait "$PID_C"
check_eq "the once notified exactly once (claimed through <bucket>_claims)" \
	"$(jq -r '.data | fromjson | .params.n' "$T/once.jsonl" 2>/dev/null | tr '\n' ' ')" "1 "
check_eq "store.once_claimed" "$(stat_get .store.once_claimed)" 1
# the node_id lease is renewed every 5 s (its key's stream moves on)
node_seq() {
	curl -s "http://127.0.0.1:$MPORT/jsz?streams=true" |
		jq -r '[.account_details[]?.stream_detail[]? | select(.name == "KV_evr_tls_nodes") | .state.last_seq] | max // 0'
}
renewed() { [[ $(node_seq) -ge 2 ]]; }
check "node_id lease renewed under the restricted permissions (KV_evr_tls_nodes last_seq $(node_seq) -> >= 2 within 8 s)" \
	wait_until 8 renewed
check_eq "store errors" "$(stat_get .store.errors)" 0
check_eq "no permission violations logged by nats-server" \
	"$(grep -c 'Violation' "$T/nats-server.log")" 0
evrd_stop 30
e2e_finish
