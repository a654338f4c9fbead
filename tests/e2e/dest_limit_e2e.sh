#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Amplification held (issue 13): 10,000 subscriptions point at one victim
# (distinct lenient filters, so none is a duplicate) and one event is sent.
# Before the limits that was 10,000 datagrams (max_fanout 20000); now the
# victim receives at most its bucket: destinations.rate_notifications = 500
# per second, 1 s deep, and the rest is counted dest_rate_limited. With
# format conversion (a 1 KB value of spaces re-encoded plain, 3x larger)
# the byte bucket (rate_bytes = 200000) holds the bytes, dest_bytes_limited.
#
#   namespace P (198.18.18.2): sender + victim receiver
#     --veth--  evrd (net_af_packet, 198.18.18.1, listener 8090 jsonrpc)
. "$(dirname "$0")/lib.sh"

e2e_init dest_limit_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_af_packet

NS=dl-$E2E_ID
HIF=${E2E_ID}h
EVR=198.18.18.1
SUB=198.18.18.2
EVRD_PREFIX=evr-e2e-dl-$$
N=10000

netns_add "$NS" || { fail "create namespace"; e2e_finish; }
veth_add "$HIF" "$NS" "${E2E_ID}p" "$SUB/24" || { fail "veth evrd <-> P"; e2e_finish; }
cat >"$T/evrd.conf" <<CONF
eal = { lcores = "0-1"; no_huge = true; memory_mb = 512; no_pci = true;
        file_prefix = "$EVRD_PREFIX"; vdevs = [ "net_af_packet0,iface=$HIF" ]; };
ports = ( { name = "p"; device = "net_af_packet0"; ipv4 = "$EVR/24"; } );
workers = { count = 1; idle_sleep_us = 50; };
listeners = ( { port = 8090; format = "jsonrpc"; } );
control = { socket = "$T/evrd.sock"; max_batch = 1000; };
heartbeat = { interval_s = 0; };
limits = { max_fanout = 20000; };
rings = { hdr_pool = 32768; payload_pool = 4096; egress_size = 16384; };
destinations = { rate_notifications = 500; rate_bytes = 200000; burst_ms = 1000; };
CONF
evrd_start "$T/evrd.conf" "$T/evrd.sock" || { fail "evrd starts with destination limits"; e2e_finish; }

# N subscriptions per victim port, in JSON-RPC batches of 1000
check "$((2 * N)) subscriptions to one victim (ports 9000 plain, 9001 plain)" "$PY" - "$EVR_SOCK" "$SUB" "$N" <<'PY'
import json, socket, sys
path, sub, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
f = s.makefile('rwb')
ok = 0
for port, ev in ((9000, 'E_AMP'), (9001, 'E_AMP_BIG')):
    for base in range(0, n, 1000):
        batch = [{'jsonrpc': '2.0', 'id': base + i, 'method': 'evr_subscribe',
                  'params': {'event': ev, 'socket': 'udp:%s:%d' % (sub, port),
                             'filters': ['x%d=1' % (base + i)], 'lenient': True,
                             'format': 'plain', 'expire': 600}}
                 for i in range(1000)]
        f.write((json.dumps(batch) + '\n').encode())
        f.flush()
        ok += sum(1 for r in json.loads(f.readline()) if 'result' in r)
sys.exit(0 if ok == 2 * n else 1)
PY
check_eq "matcher.live" "$(stat_get .matcher.live)" $((2 * N))

recv_start "$NS" "$SUB:9000" "$T/recv.jsonl" $((2 * N)) 8 --bind "$SUB:9001" ||
	{ fail "victim receiver"; e2e_finish; }
check "one 76-byte event sent" nsx "$NS" "$PY" "$E2E_PY" send --to "$EVR:8090" \
	--payload '{"jsonrpc":"2.0","method":"E_AMP","params":{"aor":"sip:a@b"}}'
limited() { [[ $(total dest_rate_limited) -ge $((N - 500)) ]]; }
check "the excess counted as dest_rate_limited within 5 s" wait_until 5 limited
big=$(printf '%1000s' '')
check "one event with a 1 KB value of spaces sent (plain makes it %20: 3x)" \
	nsx "$NS" "$PY" "$E2E_PY" send --to "$EVR:8090" \
	--payload "{\"jsonrpc\":\"2.0\",\"method\":\"E_AMP_BIG\",\"params\":{\"v\":\"$big\"}}"
blimited() { [[ $(total dest_bytes_limited) -ge 1000 ]]; }
check "the excess bytes counted as dest_bytes_limited within 5 s" wait_until 5 blimited
wait "$BG_PID" 2>/dev/null # the receiver ends after its 8 s
got() { "$PY" "$E2E_PY" notes "$T/recv.jsonl" 2>/dev/null | jq -s --arg d "$1" '[.[] | select(.dst == $d)] | length'; }
n9000=$(got "$SUB:9000")
n9001=$(got "$SUB:9001")
bytes9001=$(jq -s --arg d "$SUB:9001" '[.[] | select(.dst == $d) | .len // (.data | length)] | add // 0' "$T/recv.jsonl" 2>/dev/null)
log "victim got $n9000 small and $n9001 large notifications ($bytes9001 bytes) for 2 events x $N subscriptions"
check "small event: at most the 500-notification bucket reached the victim ($n9000)" \
	test "$n9000" -ge 400 -a "$n9000" -le 500
check "large event: at most 200 KB reached the victim ($n9001 notifications)" \
	test "$n9001" -ge 1 -a "$n9001" -le 100
check_eq "dest_rate_limited + delivered = $N" $(($(total dest_rate_limited) + n9000)) "$N"
check "evrd alive" evrd_alive
evrd_stop 15
e2e_finish
