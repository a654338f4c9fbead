#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Several appliances sharing their runtime subscriptions (store.kind =
# "nats"), end to end: a real 3-node nats-server JetStream cluster and three
# evrd on this host, everything on 127.0.0.1:
#
#   nats-server n1 n2 n3  client 14222-14224, cluster 16222-16224 (routes to
#                         the other two), monitoring 18222-18224 (/jsz);
#                         JetStream store of each under $T/nats
#   evrd A B C            node_id 1 2 3, nats.url = the three servers,
#                         store = { kind = "nats"; bucket = "evr_subs";
#                         replicas = 3; }; net_pcap on an empty capture (no
#                         traffic: events are raised on the control socket);
#                         notifications go to unix: sockets this test binds
#                         under destinations.unix_dir; C serves /metrics
#
# Asserts:
#  - the bucket is the JetStream stream KV_evr_subs, 3 replicas;
#  - a fourth evrd D configured with A's node_id is refused at start,
#    naming A as the holder; once A stopped cleanly, D starts at once; no
#    appliance counts a node_id conflict (B's restart, the NATS outage);
#  - subscribe on A, event raised on C: notified; ids carry the node_id
#    (id >> 40) and stay below 2^53;
#  - visibility: 200 subscribes on A, C polled (evr_subscribers_list by id)
#    every ~1 ms after each reply: p99 <= 50 ms from A's reply to listed on
#    C (one retry of the measurement allowed, as control_stall_e2e);
#  - subscriptions made on A and on C: every evrd lists the same ids; one
#    made on A and removed on C is gone everywhere;
#  - `once` raised on A and on C at the same moment: exactly one
#    notification per subscription, the fired ones gone everywhere;
#  - B SIGKILLed and restarted: as soon as its control socket answers its
#    matcher holds the full set (matcher.live); B's next id is above its
#    earlier ones;
#  - one NATS node killed (the stream's leader): a subscribe on A is still
#    acknowledged (retried within 15 s: the leader election) and visible on
#    C, a raise on C notifies;
#  - every NATS node stopped: a raise on C still notifies; every evrd
#    reports store.stale 1 (Prometheus evrouter_store_stale 1 on C); NATS
#    back: stale 0, store.resyncs >= 1, a subscribe on A visible on C,
#    every evrd the same set;
#  - every evrd exits 0 on SIGTERM.
#
# Environment: EVR_CLUSTER_PORT_BASE (14222: client ports from it, cluster
# +2000, monitoring +4000, C's MI HTTP +5000), EVR_CLUSTER_VIS_N (200),
# EVR_CLUSTER_P99_MS (50), EVR_CLUSTER_BULK (2000 on A, half on C).
# Bounded: about two minutes on 2 cores.
# shellcheck disable=SC2317 # helpers run through check and wait_until
. "$(dirname "$0")/lib.sh"

e2e_init cluster_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_pcap
command -v nats-server >/dev/null ||
	{ fail "nats-server installed (Debian package nats-server, deploy/packages.txt)"; e2e_finish; }

NB=${EVR_CLUSTER_PORT_BASE:-14222}
VIS_N=${EVR_CLUSTER_VIS_N:-200}
P99=${EVR_CLUSTER_P99_MS:-50}
BULK=${EVR_CLUSTER_BULK:-2000}
MI_C=$((NB + 5000))
CPY=$E2E_LIB_DIR/cluster_e2e.py
NURLS=$(nats_cluster_urls "$NB")
NOTIFY=$T/notify
cpy() { "$PY" "$CPY" "$@"; }

# every port this test listens on must be free (a leftover server from
# another run would join the cluster)
nats_cluster_ports_free "$NB" "$MI_C" || e2e_finish

# ---------------------------------------------------------------- NATS
mkdir -p "$NOTIFY"
nats_cluster_conf "$NB"

for i in 1 2 3; do
	check "nats-server n$i starts (client 127.0.0.1:$((NB + i - 1)), JetStream store in \$T)" nats_cluster_start "$i"
done
if leader=$(nats_cluster_meta 1 2 3); then
	pass "JetStream meta leader elected, the same on all 3 nodes ($leader)"
else
	fail "JetStream meta leader elected on all 3 nodes within 30 s"
	tail -n 5 "$T"/nats/n*.log | sed 's/^/    /'
	e2e_finish
fi

# ---------------------------------------------------------------- evrd A B C
e2e_empty_pcap "$T/empty.pcap"
node=0
for n in a b c; do
	node=$((node + 1))
	cat >"$T/evrd-$n.conf" <<CONF
eal = { lcores = "0-1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "evr-e2e-cluster-$$-$n";
        vdevs = [ "net_pcap0,rx_pcap=$T/empty.pcap,tx_pcap=$T/tx-$n.pcap" ]; };
ports = ( { name = "p"; device = "net_pcap0"; ipv4 = "198.18.16.1/24"; } );
workers = { count = 1; idle_sleep_us = 1000; };
listeners = ( { port = 8090; format = "jsonrpc"; } );
control = { socket = "$T/$n.sock"; };
heartbeat = { interval_s = 0; };
destinations = { unix_dir = "$NOTIFY"; };
nats = { url = "$NURLS"; name = "evrd-$n"; reconnect_wait_ms = 200; };
store = { kind = "nats"; bucket = "evr_subs"; replicas = 3; node_id = $node; timeout_ms = 2000; };
CONF
	[[ $n == c ]] && echo "mi = { http = { listen = \"127.0.0.1:$MI_C\"; }; };" >>"$T/evrd-$n.conf"
done
A=$T/a.sock B=$T/b.sock C=$T/c.sock
for n in a b c; do
	evrd_start_as "$n" "$T/evrd-$n.conf" "$T/$n.sock" ||
		{ fail "evrd ${n^^} starts with store.kind nats"; e2e_finish; }
done
if si=$(cpy stream --http "$(nats_cluster_mon 1 2 3)" --stream KV_evr_subs --timeout 10); then
	log "stream KV_evr_subs: $si"
	check_eq "bucket evr_subs is JetStream stream KV_evr_subs with replicas" "$(jq .replicas <<<"$si")" 3
else
	fail "bucket evr_subs exists (stream KV_evr_subs with a leader)"
fi
for n in a b c; do
	check_eq "evrd ${n^^}: store.stale at start" "$(stat_as "$n" .store.stale)" 0
done

# ---------------------------------------------------------------- node_id is taken, not trusted
# A fourth appliance configured with A's node_id would hand out A's ids:
# it must not start while A holds the node_id.
sed -e "s|evr-e2e-cluster-$$-a|evr-e2e-cluster-$$-d|" -e "s|$T/a.sock|$T/d.sock|" \
	-e "s|tx-a.pcap|tx-d.pcap|" -e 's|"evrd-a"|"evrd-d"|' "$T/evrd-a.conf" >"$T/evrd-d.conf"
if evrd_start_as d "$T/evrd-d.conf" "$T/d.sock"; then
	fail "an appliance with A's node_id is refused at start"
	evrd_stop_as d 15
else
	check "an appliance with A's node_id is refused at start, naming the holder" \
		grep -q "store.node_id 1 is held by $(hostname):$A" "$T/evrd-d.log"
fi

# raised_on NAME KEY OUT WHAT: raise E_CLUSTER k=KEY on evrd NAME; one
# subscriber notified, and the unix: receiver writing OUT (started by the
# caller) got exactly that event.
raised_on() {
	local n=$1 key=$2 rx=$3 what=$4 r
	r=$(ctl_as "$n" --json raise E_CLUSTER "k=$key")
	check_eq "$what: raise on ${n^^} notified" "$(jq -c .notified <<<"$r")" 1
	wait_until 5 test -s "$rx"
	check_eq "$what: the notification reached the unix: sink (event, k)" \
		"$("$PY" "$E2E_PY" notes "$rx" | jq -r '"\(.name) \(.attrs.k)"' | tr '\n' ' ')" "E_CLUSTER $key "
}
sub_on() { # sub_on SOCK KEY [RETRY_S]: a subscription of E_CLUSTER k=KEY to basic.sock
	cpy subscribe --sock "$1" --event E_CLUSTER --dest "unix:$NOTIFY/basic.sock" \
		--filter "k=$2" --expire 3600 --retry-s "${3:-0}"
}
node_of() { echo $(($1 >> 40)); }

# ---------------------------------------------------------------- subscribe on A, event on C
log "subscribe on A, raise on C"
id1=$(sub_on "$A" v1)
check "subscribe on A acknowledged (id $id1)" test -n "$id1"
id1=${id1:-0}
check "A's id carries node_id 1 (id >> 40 = $(node_of "$id1")) and is below 2^53" \
	test "$(node_of "$id1")" = 1 -a "$id1" -lt $((1 << 53))
if cpy wait-id --sock "$C" --id "$id1" --timeout 5; then
	pass "A's subscription visible on C"
else
	# nothing else of this test means anything without it
	fail "A's subscription visible on C within 5 s"
	for n in a c; do tail -n 20 "${EVRD_AS_LOG[$n]}" | sed "s/^/    evrd-$n| /"; done
	e2e_finish
fi
unix_recv_start "$NOTIFY/basic.sock" "$T/basic1.jsonl" 1 10 || fail "unix receiver (basic)"
raised_on c v1 "$T/basic1.jsonl" "subscribe on A, event on C"

# ---------------------------------------------------------------- visibility
log "visibility: $VIS_N subscribes on A, each polled on C"
for attempt in 1 2; do
	cpy vis --a "$A" --c "$C" --n "$VIS_N" --event E_VIS --dest "unix:$NOTIFY/vis.sock" \
		--tag "r$attempt" --node 1 --p99-ms "$P99" --out "$T/vis$attempt.json" >"$T/vis.out" 2>&1
	rc=$?
	sed "s/^/    [run $attempt] /" "$T/vis.out"
	((rc != 1)) && break # 0: within the bound; 2: some missing, no second run
	[[ $attempt == 1 ]] && log "run 1 missed the bound: once more"
done
check "visibility A -> C: every subscription acknowledged and listed on C (within 1 s)" test "$rc" != 2
check "visibility A -> C: p99 <= ${P99} ms from A's reply to listed on C" test "$rc" = 0
check_eq "visibility: every id of node 1, below 2^53" "$(jq .n_bad_ids "$T/vis$attempt.json")" 0
check_ge "C applied A's changes (store.remote_applied)" "$(stat_as c .store.remote_applied)" "$VIS_N"

# ---------------------------------------------------------------- more, from A and from C
check "$BULK subscriptions on A acknowledged (node 1 ids)" \
	cpy bulk --sock "$A" --n "$BULK" --event E_BULK --dest "unix:$NOTIFY/bulk.sock" --tag a --node 1
check "$((BULK / 2)) subscriptions on C acknowledged (node 3 ids)" \
	cpy bulk --sock "$C" --n $((BULK / 2)) --event E_BULK --dest "unix:$NOTIFY/bulk.sock" --tag c --node 3
idb0=$(sub_on "$B" b0)
check "subscribe on B acknowledged (node 2 id $idb0)" test -n "$idb0" -a "$(node_of "${idb0:-0}")" = 2
# removed through another appliance than the one that made it
idx=$(sub_on "$A" vx)
cpy wait-id --sock "$C" --id "${idx:-0}" --timeout 5 >/dev/null 2>&1
check "unsubscribe on C of a subscription made on A (id $idx)" ctl_as c unsubscribe "${idx:-0}"
check "... gone on A" cpy wait-id --sock "$A" --id "${idx:-0}" --gone --timeout 5
check "... gone on B" cpy wait-id --sock "$B" --id "${idx:-0}" --gone --timeout 5
py_checks cpy same-set --socks "$A,$B,$C" --timeout 20

# ---------------------------------------------------------------- the same subscription twice
log "dup: the same subscription made on A and C at the same moment, 20 times"
py_checks cpy dup --a "$A" --c "$C" --all "$A,$B,$C" --n 20 --event E_DUP \
	--dest "unix:$NOTIFY/dup.sock" --tag d --timeout 10
py_checks cpy same-set --socks "$A,$B,$C" --timeout 20

# ---------------------------------------------------------------- once across appliances
log "once: 20 subscriptions on A, each event raised on A and C at the same moment"
# Claims are creates in <bucket>_claims, an R1 bucket (store.claim_replicas
# default): nats-server before 2.9.21 does not serialise expected-sequence
# checks on a replicated stream (issue 4320; Debian 12 ships 2.9.10), one
# replica does
py_checks cpy once --a "$A" --c "$C" --all "$A,$B,$C" --n 20 --event E_ONCE \
	--sink "$NOTIFY/once.sock" --tag o --timeout 10
claimed=0 lost=0
for n in a b c; do
	v=$(stat_as "$n" '.store.once_claimed // 0')
	claimed=$((claimed + ${v:-0}))
	v=$(stat_as "$n" '.store.once_lost // 0')
	lost=$((lost + ${v:-0}))
done
log "once: store.once_claimed $claimed, once_lost $lost (A + B + C)"
check_ge "store.once_claimed (A + B + C)" "$claimed" 20

# ---------------------------------------------------------------- B killed, restarted
py_checks cpy same-set --socks "$A,$B,$C" --timeout 20
# the set: what A lists (a fired `once` A has not reaped yet is in its
# matcher.live, not in the bucket)
set_n=$(ctl_as a --json subscribers --all | jq '.subscribers | length')
log "B: SIGKILL and restart (the set: $set_n subscriptions)"
evrd_kill_as b
evrd_start_as b "$T/evrd-b.conf" "$B" || { fail "evrd B restarts after SIGKILL"; e2e_finish; }
check_eq "B restarted: as soon as its control socket answers it holds the full set (matcher.live)" \
	"$(stat_as b .matcher.live)" "$set_n"
log "B: store.loaded $(stat_as b .store.loaded)"
idb1=$(sub_on "$B" b1)
check "B after the restart: subscribe acknowledged, node 2, id above its earlier one ($idb0 < $idb1)" \
	test -n "$idb1" -a "$(node_of "${idb1:-0}")" = 2 -a "${idb1:-0}" -gt "${idb0:-0}"
check "B's new subscription visible on A" cpy wait-id --sock "$A" --id "${idb1:-0}" --timeout 5

# ---------------------------------------------------------------- one NATS node down
sl=$(cpy stream --http "$(nats_cluster_mon 1 2 3)" --stream KV_evr_subs --timeout 5 | jq -r .leader)
[[ $sl =~ ^n[123]$ ]] || sl=n2
k=${sl#n}
# SIGKILL, a crash: the stream's other two elect a leader (about 5 s here
# without one: JetStream answers 503), so the subscribe may take retries
log "killing nats-server $sl (SIGKILL; the leader of KV_evr_subs)"
nats_cluster_stop "$k" KILL
id2=$(sub_on "$A" v2 15)
check "one NATS node down: subscribe on A acknowledged (id $id2)" test -n "$id2"
check "one NATS node down: visible on C" cpy wait-id --sock "$C" --id "${id2:-0}" --timeout 10
unix_recv_start "$NOTIFY/basic.sock" "$T/basic2.jsonl" 1 10 || fail "unix receiver (basic2)"
raised_on c v2 "$T/basic2.jsonl" "one NATS node down"
check "nats-server $sl started again" nats_cluster_start "$k"
if leader=$(nats_cluster_meta 1 2 3); then pass "$sl rejoined: meta leader $leader"; else fail "$sl rejoined the cluster"; fi

# ---------------------------------------------------------------- NATS lost entirely
log "stopping every nats-server"
for i in 1 2 3; do nats_cluster_stop "$i"; done
all_stale_are() { # every evrd's store.stale is $1
	local n
	for n in a b c; do
		[[ $(stat_as "$n" .store.stale 2>/dev/null) == "$1" ]] || return 1
	done
}
all_alive() { # every evrd still running, else its log and the end
	local n dead=0
	for n in a b c; do
		evrd_alive_as "$n" && continue
		fail "$1: evrd ${n^^} alive"
		tail -n 30 "${EVRD_AS_LOG[$n]}" | sed "s/^/    evrd-$n| /"
		dead=1
	done
	((dead)) && e2e_finish
	pass "$1: evrd A, B and C alive"
}
wait_until 10 all_stale_are 1
for n in a b c; do
	check_eq "NATS down: evrd ${n^^} reports store.stale (within 10 s)" "$(stat_as "$n" .store.stale)" 1
done
check_ge "NATS down: C counted the disconnect (store.nats_disconnects)" \
	"$(stat_as c .store.nats_disconnects)" 1
check_eq "NATS down: Prometheus evrouter_store_stale on C" \
	"$(cpy prom --port "$MI_C" --name evrouter_store_stale)" 1
unix_recv_start "$NOTIFY/basic.sock" "$T/basic3.jsonl" 1 10 || fail "unix receiver (basic3)"
raised_on c v1 "$T/basic3.jsonl" "NATS down: C keeps matching"
all_alive "NATS down"

log "starting every nats-server again"
for i in 1 2 3; do check "nats-server n$i started again (same store)" nats_cluster_start "$i"; done
if leader=$(nats_cluster_meta 1 2 3); then pass "NATS back: meta leader $leader"; else fail "NATS back: meta leader elected"; fi
wait_until 60 all_stale_are 0
for n in a b c; do
	check_eq "NATS back: evrd ${n^^} store.stale (within 60 s)" "$(stat_as "$n" .store.stale)" 0
	check_ge "NATS back: evrd ${n^^} store.resyncs" "$(stat_as "$n" .store.resyncs)" 1
done
check_eq "NATS back: Prometheus evrouter_store_stale on C" \
	"$(cpy prom --port "$MI_C" --name evrouter_store_stale)" 0
id3=$(sub_on "$A" v3 10)
check "NATS back: subscribe on A acknowledged (id $id3)" test -n "$id3"
check "NATS back: A's new subscription visible on C" cpy wait-id --sock "$C" --id "${id3:-0}" --timeout 10
py_checks cpy same-set --socks "$A,$B,$C" --timeout 20
all_alive "at the end"
for n in a b c; do # B's restart and the NATS outage took no node_id from anyone
	check_eq "evrd ${n^^}: no node_id conflicts (store.node_conflicts)" "$(stat_as "$n" .store.node_conflicts)" 0
done

for n in a b c; do evrd_stop_as "$n" 15; done
# A's clean stop released node_id 1 at once (a crash: after its 30 s lease)
if evrd_start_as d "$T/evrd-d.conf" "$T/d.sock"; then
	pass "after A's clean stop, an appliance with node_id 1 starts at once"
	evrd_stop_as d 15
else
	fail "after A's clean stop, an appliance with node_id 1 starts at once"
fi
for i in 1 2 3; do nats_cluster_stop "$i"; done
e2e_finish
