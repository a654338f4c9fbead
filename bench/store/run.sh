#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Subscribe throughput with the subscription store on and off, 100k and 1M
# subscriptions over the control socket (net_pcap with an empty capture:
# only the control plane works). Not a timed test: prints one JSON line per
# run (bench/store/store_bench.py). Kinds:
#   none      in memory only
#   embedded  LMDB, replies held until the group commit is on disk
#   nats      a 3-node nats-server JetStream cluster on 127.0.0.1 (R3
#             bucket) and two evrd: A takes the subscribes, B follows the
#             bucket; reports how long after A's last reply B holds the
#             whole set, then the visibility A -> B of 200 single
#             subscribes on top of the loaded set (p50/p99/max)
# The dataplane is not measured here: workers never touch the store (the
# matcher's change hook runs on the control and maintenance threads only;
# with kind nats only a fired `once` waits for its claim, on the claim
# thread), so their events/s cannot change with it; bench/appliance/run.sh
# measures them.
#
#   sudo EVR_BUILD=build bash bench/store/run.sh [N...]   (default 100000 1000000)
#   EVR_STORE_KINDS="none embedded nats" (default) selects the kinds.
set -uo pipefail
. "$(dirname "$0")/../../tests/e2e/lib.sh"
e2e_init store_bench
e2e_require_root
e2e_require_build
e2e_require_pmd net_pcap
EVRD_PREFIX=evr-bench-store-$$
SIZES=("$@")
((${#SIZES[@]})) || SIZES=(100000 1000000)
KINDS=${EVR_STORE_KINDS:-none embedded nats}
NB=${EVR_CLUSTER_PORT_BASE:-14222}

# conf FILE NAME KIND [NODE]: one evrd's config
conf() {
	EVRD_PREFIX=evr-bench-store-$$-$2
	e2e_pcap_conf "$1"
	cat >>"$1" <<CONF
listeners = ( { port = 8090; format = "jsonrpc"; } );
control = { socket = "$T/$2.sock"; };
heartbeat = { interval_s = 0; };
store = { kind = "$3"; bucket = "evr_bench"; replicas = 3; node_id = ${4:-0};
          timeout_ms = 30000; };
CONF
	[[ $3 == nats ]] && echo "nats = { url = \"$(nats_cluster_urls "$NB")\"; };" >>"$1"
}

for n in "${SIZES[@]}"; do
	for kind in $KINDS; do
		if [[ $kind != nats ]]; then
			conf "$T/evrd.conf" a "$kind"
			evrd_start "$T/evrd.conf" "$T/a.sock" || exit 1
			"$PY" "$(dirname "$0")/store_bench.py" --sock "$EVR_SOCK" -n "$n" --label "store=$kind"
			evrd_stop 60 >/dev/null
			continue
		fi
		command -v nats-server >/dev/null || { log "nats-server missing: kind nats skipped"; continue; }
		nats_cluster_ports_free "$NB" || exit 1
		rm -rf "$T/nats"
		nats_cluster_conf "$NB"
		for i in 1 2 3; do nats_cluster_start "$i" || exit 1; done
		nats_cluster_meta 1 2 3 >/dev/null || exit 1
		conf "$T/a.conf" a nats 1
		conf "$T/b.conf" b nats 2
		evrd_start_as a "$T/a.conf" "$T/a.sock" || exit 1
		evrd_start_as b "$T/b.conf" "$T/b.sock" || exit 1
		"$PY" "$(dirname "$0")/store_bench.py" --sock "$T/a.sock" --peer "$T/b.sock" -n "$n" \
			--label "store=nats (3-node cluster, R3)"
		"$PY" "$E2E_LIB_DIR/cluster_e2e.py" vis --a "$T/a.sock" --c "$T/b.sock" --n 200 \
			--event E_VIS --dest udp:198.18.16.2:9500 --max-wait-s 5 \
			--out "$T/vis.json" 2>/dev/null | sed 's/^/  /'
		evrd_stop_as a 60 >/dev/null
		evrd_stop_as b 60 >/dev/null
		for i in 1 2 3; do nats_cluster_stop "$i"; done
	done
done
e2e_finish
