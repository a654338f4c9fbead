#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Subscribe throughput with the subscription store on (store.kind =
# "embedded", LMDB, replies held until the group commit) and off ("none"),
# 100k and 1M subscriptions over the control socket, one evrd per run
# (net_pcap with an empty capture: only the control plane works). Not a
# timed test: prints one JSON line per run (bench/store/store_bench.py).
# The dataplane is not measured here: workers never touch the store (the
# matcher's change hook runs on the control and maintenance threads only),
# so their events/s cannot change with it; bench/appliance/run.sh measures
# them.
#
#   sudo EVR_BUILD=build bash bench/store/run.sh [N...]   (default 100000 1000000)
set -uo pipefail
. "$(dirname "$0")/../../tests/e2e/lib.sh"
e2e_init store_bench
e2e_require_root
e2e_require_build
e2e_require_pmd net_pcap
EVRD_PREFIX=evr-bench-store-$$
SIZES=("$@")
((${#SIZES[@]})) || SIZES=(100000 1000000)
for n in "${SIZES[@]}"; do
	for kind in none embedded; do
		e2e_pcap_conf "$T/evrd.conf"
		cat >>"$T/evrd.conf" <<CONF
listeners = ( { port = 8090; format = "jsonrpc"; } );
control = { socket = "$T/evrd.sock"; };
heartbeat = { interval_s = 0; };
store = { kind = "$kind"; };
CONF
		evrd_start "$T/evrd.conf" "$T/evrd.sock" || exit 1
		"$PY" "$(dirname "$0")/store_bench.py" --sock "$EVR_SOCK" -n "$n" --label "store=$kind"
		evrd_stop 60 >/dev/null
	done
done
e2e_finish
