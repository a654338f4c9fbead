#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# THE "run the appliance" command (README), as root:
#
#   deploy/demo.sh          install deps if missing, build (release), start
#                           evrd on a veth into namespace "evrdemo", subscribe,
#                           send OpenSIPS + FreeSWITCH events from the
#                           namespace, show the notifications and counters,
#                           leave evrd running
#   deploy/demo.sh stop     stop evrd, remove the namespace, veth, state
#
# The namespace "evrdemo" plays the SIP platform AND the subscriber
# (198.18.0.1/24 on evrdemo1); evrd owns 198.18.0.2 on the host end
# evrdemo0 through net_af_packet. evrd runs the embedded demo configuration
# (config/evrd-demo.conf, `evrd --print-demo-config`) with two changes: its
# port's device is net_af_packet0 instead of net_tap0, and the EAL vdev comes
# from evrd's override mechanism (`evrd -c FILE -- --vdev ...`).
#
# Environment: EVR_BUILD_DIR (default build), EVR_SKIP_DEPS=1.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
NS=evrdemo
HIF=evrdemo0       # host end: evrd's port
NIF=evrdemo1       # namespace end: platform + subscriber
NS_ADDR=198.18.0.1 # the demo config's subscriber address
EVR_ADDR=198.18.0.2
STATE=/run/evrdemo
SOCK=/tmp/evrd-demo.sock # control.socket of the demo config
dir=${EVR_BUILD_DIR:-build}
EVRD=$dir/dataplane/evrd/evrd
EVRCTL=$dir/control/evrctl
PYH=$root/tests/e2e/evr_e2e.py # stdlib helpers: send, recv, notes, ping

say() { printf '\n== %s\n' "$*"; }
die() {
	echo "demo: $*" >&2
	exit 1
}

stop() {
	local pid
	if [[ -f $STATE/evrd.pid ]]; then
		pid=$(cat "$STATE/evrd.pid")
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid"
			for _ in $(seq 50); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			kill -KILL "$pid" 2>/dev/null || true
			echo "demo: evrd ($pid) stopped"
		fi
	fi
	if ip netns pids "$NS" >/dev/null 2>&1; then
		pid=$(ip netns pids "$NS" 2>/dev/null || true)
		[[ -n $pid ]] && kill $pid 2>/dev/null || true
	fi
	ip link del "$HIF" 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$STATE" /var/run/dpdk/evrd-demo "$SOCK"
	echo "demo: namespace $NS, veth $HIF and $STATE removed"
}

[[ $(id -u) -eq 0 ]] || die "run as root (DPDK EAL, network namespaces)"
case ${1:-start} in
stop)
	stop
	exit 0
	;;
start) ;;
*)
	echo "usage: deploy/demo.sh [start|stop]" >&2
	exit 2
	;;
esac

if [[ -f $STATE/evrd.pid ]] && kill -0 "$(cat "$STATE/evrd.pid")" 2>/dev/null; then
	die "already running (pid $(cat "$STATE/evrd.pid")); 'deploy/demo.sh stop' first"
fi
stop >/dev/null 2>&1 || true

say "dependencies"
if [[ ${EVR_SKIP_DEPS:-0} != 1 ]]; then
	bash deploy/install-deps.sh
fi

say "build (release) in $dir"
if [[ -f $dir/meson-private/coredata.dat ]]; then
	meson setup --reconfigure "$dir" --buildtype=release >/dev/null
else
	meson setup "$dir" --buildtype=release >/dev/null
fi
ninja -C "$dir" dataplane/evrd/evrd control/evrctl | tail -n 1

say "network: namespace $NS ($NS_ADDR on $NIF) <-> $HIF (evrd, $EVR_ADDR)"
ip netns add "$NS"
ip link add "$HIF" type veth peer name "$NIF"
ip link set "$NIF" netns "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" addr add "$NS_ADDR/24" dev "$NIF"
ip -n "$NS" link set "$NIF" up
# The kernel would leave UDP checksums to an offload that a veth peer read by
# af_packet never gets: compute them in software (ethtool -K tx off).
if command -v ethtool >/dev/null; then
	ip netns exec "$NS" ethtool -K "$NIF" tx off >/dev/null
else
	ip netns exec "$NS" python3 "$PYH" txcsum-off "$NIF"
fi
sysctl -q -w "net.ipv6.conf.$HIF.disable_ipv6=1" || true
ip link set "$HIF" up

say "evrd: embedded demo config, port on net_af_packet0,iface=$HIF"
mkdir -p "$STATE"
"$EVRD" --print-demo-config | sed 's/device = "net_tap0";/device = "net_af_packet0";/' \
	>"$STATE/evrd.conf"
grep -q 'device = "net_af_packet0";' "$STATE/evrd.conf" ||
	die "the demo config has no 'device = \"net_tap0\";' line any more: update deploy/demo.sh"
"$EVRD" -c "$STATE/evrd.conf" --check
# the demo's subscriptions survive its restarts in its own store, never
# in the system's /var/lib/evrd
setsid "$EVRD" -c "$STATE/evrd.conf" --store-path "$STATE/store" -- --vdev "net_af_packet0,iface=$HIF" \
	</dev/null >"$STATE/evrd.log" 2>&1 &
echo $! >"$STATE/evrd.pid"
for i in $(seq 300); do
	"$EVRCTL" -s "$SOCK" version >/dev/null 2>&1 && break
	kill -0 "$(cat "$STATE/evrd.pid")" 2>/dev/null || {
		cat "$STATE/evrd.log"
		die "evrd exited"
	}
	sleep 0.1
	((i == 300)) && die "evrd did not open $SOCK within 30 s (log: $STATE/evrd.log)"
done
grep -E '^evrd: (port|ready)' "$STATE/evrd.log" || true

say "subscriptions (one static from the config, two made with evrctl)"
"$EVRCTL" -s "$SOCK" subscribe CHANNEL_CREATE "udp:$NS_ADDR:9001" --format plain
"$EVRCTL" -s "$SOCK" subscribe E_UL_AOR_INSERT "udp:$NS_ADDR:9002" --format jsonrpc \
	--filter 'aor=sip:alice@*'
"$EVRCTL" -s "$SOCK" subscribe MESSAGE "udp:$NS_ADDR:9001" --format plain
"$EVRCTL" -s "$SOCK" subscribers

say "subscribers listening in $NS on $NS_ADDR:9000 (json), :9001 (plain), :9002 (jsonrpc)"
rm -f "$STATE/recv.jsonl" "$STATE/recv.ready"
ip netns exec "$NS" python3 "$PYH" recv --bind "$NS_ADDR:9000" --bind "$NS_ADDR:9001" \
	--bind "$NS_ADDR:9002" --bind "$NS_ADDR:5062" --count 5 --timeout 10 --out "$STATE/recv.jsonl" \
	--ready "$STATE/recv.ready" 2>/dev/null &
recv_pid=$!
for _ in $(seq 50); do [[ -e $STATE/recv.ready ]] && break; sleep 0.1; done

say "events from the platform ($NS_ADDR) to evrd ($EVR_ADDR)"
send() { # send PORT PAYLOAD
	echo "  -> udp:$EVR_ADDR:$1  $(printf '%s' "$2" | head -c 110 | tr '\n' '|')"
	ip netns exec "$NS" python3 "$PYH" send --to "$EVR_ADDR:$1" --sport 5060 \
		--payload "$2" 2>/dev/null
}
send 8090 '{"jsonrpc":"2.0","method":"E_UL_AOR_INSERT","params":{"aor":"sip:alice@example.com","contact":"sip:alice@198.18.0.1:5062","expires":3600}}'
send 8091 $'Event-Name: CHANNEL_CREATE\nUnique-ID: 3f6c1d2e\nCaller-Caller-ID-Name: Alice%20Smith\nCaller-Destination-Number: 1000\n\n'
send 8092 '{"Event-Name":"CUSTOM","Event-Subclass":"sofia::register","from-user":"1000"}'
# A SIP MESSAGE to the SIP endpoint (port 5060): an event "MESSAGE" for the
# subscriber on :9001 and a 200 OK to the Via's port (:5062; sent from :5063,
# so without ;rport the reply goes to the Via sent-by, RFC 3261 18.2.2).
printf -v sip_msg '%s\r\n' "MESSAGE sip:evrd@$EVR_ADDR SIP/2.0" \
	"Via: SIP/2.0/UDP $NS_ADDR:5062;branch=z9hG4bKdemo1" "Max-Forwards: 70" \
	"From: \"Alice\" <sip:alice@example.com>;tag=demo1" "To: <sip:evrd@$EVR_ADDR>" \
	"Call-ID: demo-message-1" "CSeq: 1 MESSAGE" "Content-Type: text/plain" \
	"Content-Length: 10" ""
sip_msg+="hello evrd"
echo "  -> udp:$EVR_ADDR:5060  MESSAGE sip:evrd@$EVR_ADDR (from $NS_ADDR:5063)"
ip netns exec "$NS" python3 "$PYH" send --to "$EVR_ADDR:5060" --sport 5063 \
	--payload "$sip_msg" 2>/dev/null
ip netns exec "$NS" python3 "$PYH" ping "$EVR_ADDR" --count 2 | sed 's/^/  /'
wait "$recv_pid" || true

say "notifications received in $NS"
python3 "$PYH" notes "$STATE/recv.jsonl" |
	jq -r 'if (.dst | endswith(":5062")) then "  <- \(.dst) SIP reply: \(.raw | split("\r\n")[0])"
	       else "  <- \(.dst) \(.format // "?")  \(.name // .error)  seq=\(.seq // "-")\n     \(.attrs // .raw | tostring | .[0:160])" end'

say "evrctl stats (non-zero dataplane totals; the whole list: evrctl stats)"
"$EVRCTL" -s "$SOCK" stats | awk '$1 == "matcher.live" || ($1 ~ /^dataplane\.totals\./ && $2 != 0)'

cat <<EOF

== evrd is running (pid $(cat "$STATE/evrd.pid"), log $STATE/evrd.log)
  $EVRCTL -s $SOCK help                 every command
  $EVRCTL -s $SOCK subscribers          who is subscribed
  $EVRCTL -s $SOCK subscribe E_MY_EVENT udp:$NS_ADDR:9100 --format json
  $EVRCTL -s $SOCK raise E_MY_EVENT k=v raise an event by hand
  $EVRCTL -s $SOCK stats                counters (--json for scripts)
  ip netns exec $NS python3 tests/e2e/evr_e2e.py recv --bind $NS_ADDR:9100 --count 5 --timeout 60 --out /dev/stdout
  ip netns exec $NS python3 tests/e2e/evr_e2e.py send --to $EVR_ADDR:8090 --payload '{"jsonrpc":"2.0","method":"E_MY_EVENT","params":{"k":"v"}}'
  deploy/demo.sh stop                   stop evrd and remove the namespace
EOF
