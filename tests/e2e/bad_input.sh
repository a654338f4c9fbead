#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Bad input everywhere, evrd keeps running:
#  - ~1000 malformed frames and datagrams (every valid frame kind cut at
#    every length, single-byte mutations, garbage) on net_pcap: all
#    received, each accounted to exactly one terminal counter, daemon alive;
#  - bad JSON-RPC on the control socket (-32700 and the connection still
#    usable, -32600/-32601/-32602/404, oversize line, notifications,
#    batches), clients disconnecting mid-request or before their answer;
#  - invalid configs: `evrd -c bad.conf --check` exits non-zero with a
#    "file:line: setting: what" message, for several kinds of mistakes;
#  - at the end `evrctl stats` still answers and SIGTERM exits 0 (with an
#    ASan build in EVR_BUILD, a leak or memory error fails that exit).
. "$(dirname "$0")/lib.sh"

e2e_init bad_input
e2e_require_root
e2e_require_build
e2e_require_pmd net_pcap

# ---- invalid configurations (no EAL needed: --check)
base='eal = { lcores = "0-1"; no_huge = true; no_pci = true;
        vdevs = [ "net_pcap0,rx_pcap=/dev/null" ]; };
ports = ( { name = "p0"; device = "net_pcap0"; ipv4 = "198.18.0.1/24"; } );
listeners = ( { port = 8090; format = "jsonrpc"; } );'
# bad_conf NAME LINE REGEX EXTRA-TEXT | -: base is 4 lines, EXTRA from line 5;
# with "-", base itself is edited by sed expression $5.
bad_conf() {
	local name=$1 line=$2 re=$3 f=$T/$1.conf out rc
	if [[ $4 == - ]]; then
		sed "$5" <<<"$base" >"$f"
	else
		printf '%s\n%s\n' "$base" "$4" >"$f"
	fi
	out=$("$EVRD" -c "$f" --check 2>&1)
	rc=$?
	if ((rc == 0)); then
		fail "config $name: --check accepted it"
		return
	fi
	local want="^evrd: $f:$line: $re"
	[[ $line == - ]] && want="^evrd: $f: $re"
	if [[ $out =~ $want ]]; then
		pass "config $name: exit $rc, '${out#evrd: "$T"/}'"
	else
		fail "config $name: exit $rc but message '$out' does not match '$want'"
	fi
}
bad_conf syntax 5 'syntax error' 'workers = { count = = 1; };
limits = { max_attrs = 4; };'
bad_conf prefix 3 "ports\[0\]\.ipv4: '198.18.0.1/33'" - 's#/24#/33#'
bad_conf format 4 'listeners\[0\]\.format: expected one of' - 's#"jsonrpc"#"yaml"#'
bad_conf xml_listener 4 'listeners\[0\]\.format: "xml" is a notification format only' - 's#"jsonrpc"#"xml"#'
bad_conf range 5 'workers\.count: 1000 is out of range' 'workers = { count = 1000; };'
bad_conf filter 5 "subscriptions\[0\]\.filters\[0\]: filter 'aor=\[abc'" \
	'subscriptions = ( { event = "E"; socket = "udp:198.18.0.2:9"; filters = [ "aor=[abc" ]; } );'
bad_conf dest 5 "subscriptions\[0\]\.socket: destination 'tcp:" \
	'subscriptions = ( { event = "E"; socket = "tcp:198.18.0.2:9"; } );'
bad_conf pow2 5 'arp\.table_size: 1000 is not a power of two' 'arp = { table_size = 1000; };'
bad_conf unknown 5 'bogus: unknown setting' 'bogus = 1;'
bad_conf mi_udp 5 "mi\.datagram_udp: '0\.0\.0\.0' is not IPv4:port" \
	'mi = { datagram_udp = "0.0.0.0"; };'
bad_conf mi_fifo 5 "mi\.fifo: 'evrd_fifo' is not an absolute path" \
	'mi = { fifo = "evrd_fifo"; };'
bad_conf mi_http 5 "mi\.http\.listen: 'localhost:8888' is not IPv4:port" \
	'mi = { http = { listen = "localhost:8888"; }; };'
bad_conf mac 3 'ports\[0\]\.mac' - 's#ipv4 = #mac = "zz:00:00:00:00:01"; ipv4 = #'
bad_conf port 4 'listeners\[0\]\.port' - 's#port = 8090#port = 70000#'
bad_conf allow 4 "listeners\\[0\\]\\.allow\\[1\\]: 'anyone' is not an address" - \
	's#port = 8090;#port = 8090; allow = [ "198.18.0.0/15", "anyone" ];#'
bad_conf group6 4 "listeners\\[0\\]\\.group: 'ff01::1' is not a multicast group" - \
	's#format = "jsonrpc";#format = "fs_multicast"; group = "ff01::1";#'
bad_conf required - 'ports: required setting missing' - '/^ports/d'
out=$("$EVRD" -c "$T/nonexistent.conf" --check 2>&1)
rc=$?
if ((rc != 0)) && [[ $out == *"nonexistent.conf"* ]]; then
	pass "missing config file: exit $rc naming the file"
else
	fail "missing config file: rc=$rc '$out'"
fi

# ---- malformed frames on net_pcap, daemon with a control socket
EVRD_PREFIX=evr-e2e-bad-$$
nframes=$("$PY" "$E2E_LIB_DIR/bad_input.py" frames "$T/in.pcap") || exit 1
log "$nframes malformed frames generated"
# A free loopback UDP port for the MI datagram transport.
MI_PORT=$("$PY" -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$T/evrd.conf" <<CONF
eal = { lcores = "0-1"; no_huge = true; memory_mb = 256; no_pci = true;
        file_prefix = "$EVRD_PREFIX";
        vdevs = [ "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" ]; };
ports = ( { name = "p0"; device = "net_pcap0"; mac = "02:00:00:00:00:01"; ipv4 = "198.18.0.1/24"; } );
workers = { count = 1; idle_sleep_us = 100; };
listeners = ( { port = 8090; format = "jsonrpc"; }, { port = 8021; format = "plain"; },
              { port = 8022; format = "json"; } );
control = { socket = "$T/evrd.sock"; max_clients = 16; };
destinations = { unix_dir = "$T"; };
mi = { datagram_udp = "127.0.0.1:$MI_PORT"; fifo = "$T/evrd_fifo"; fifo_reply_dir = "$T"; };
rings = { rx_pool = 2048; payload_pool = 2048; hdr_pool = 2048; indirect_pool = 1024; };
arp = { retry_ms = 50; max_retries = 1; };
subscriptions = (
  { event = "E_UL_AOR_INSERT"; socket = "udp:198.18.0.2:9000"; format = "json"; },
  { event = "CHANNEL_CREATE"; socket = "unix:$T/nobody.sock"; format = "plain"; }
);
CONF
evrd_start "$T/evrd.conf" "$T/evrd.sock" || { fail "evrd starts"; e2e_finish; }
rx_done() { [[ $(total rx_packets) == "$nframes" ]]; }
check "all $nframes frames received within 15 s" wait_until 15 rx_done
# rx_packets counts a frame before it is classified: wait (bounded) until
# every frame is accounted to its terminal counter, not a fixed time; the
# checker below then reports on that snapshot.
accounted() {
	stats_json >"$T/stats1.json" &&
		"$PY" "$E2E_LIB_DIR/bad_input.py" account "$T/stats1.json" "$nframes" >/dev/null 2>&1
}
wait_until 15 accounted
check "evrd alive after the malformed frames" evrd_alive
py_checks "$PY" "$E2E_LIB_DIR/bad_input.py" account "$T/stats1.json" "$nframes"
# Notifications to 198.18.0.2 wait for ARP that nobody answers (net_pcap):
# dropped and counted after max_retries, never stuck.
unres() { [[ $(total arp_unresolved) -ge 1 ]]; }
check "notifications to an unresolvable subscriber dropped as arp_unresolved" wait_until 5 unres
check_ge "unix: sends to a socket nobody bound counted as unix_failed" \
	"$(total unix_failed)" 1

# ---- control socket abuse
py_checks "$PY" "$E2E_LIB_DIR/bad_input.py" control "$T/evrd.sock"
check "evrd alive after the control socket abuse" evrd_alive
check_eq "evrctl stats still answers (rx_packets)" "$(total rx_packets)" "$nframes"
check_eq "evrctl subscribers still lists the 2 static subscriptions" \
	"$(ctl --json subscribers --all | jq '.subscribers | length')" 2
# ---- destination policy: every class a reflector would be aimed at is
# refused at subscribe time, naming the rule (port 198.18.0.1/24)
pol_n=0
for d in udp:255.255.255.255:9 udp:198.18.0.255:9 udp:224.0.0.1:9 "udp:[ff02::1]:9" \
	udp:0.0.0.0:9 udp:127.0.0.1:9 "udp:[::1]:9" udp:198.18.0.1:9 udp:198.18.7.7:9 \
	unix:/dev/log unix:/run/systemd/notify "unix:$T/../evil.sock"; do
	out=$(ctl subscribe E_POLICY "$d" 2>&1)
	rc=$?
	pol_n=$((pol_n + 1))
	if ((rc == 1)) && [[ $out == *"destinations."* || $out == *"unspecified address"* ]]; then
		pass "subscribe $d refused: ${out##*: destination }"
	else
		fail "subscribe $d: rc $rc, '$out' (want a refusal naming the rule)"
	fi
done
check_eq "matcher.dest_refused counts them" "$(stat_get .matcher.dest_refused)" "$pol_n"
check "an on-link destination is still accepted" ctl subscribe E_POLICY udp:198.18.0.77:9 --expire 5
check "unix: below destinations.unix_dir is accepted" ctl subscribe E_POLICY "unix:$T/ok.sock" --expire 5

check "evrctl with an unknown command exits 2 (usage)" \
	bash -c '"$0" -s "$1" frobnicate >/dev/null 2>&1; [[ $? == 2 ]]' "$EVRCTL" "$EVR_SOCK"
check "evrctl on a socket nobody serves exits 3" \
	bash -c '"$0" -s "$1" stats >/dev/null 2>&1; [[ $? == 3 ]]' "$EVRCTL" "$T/none.sock"

# ---- OpenSIPS MI transports (opensips-cli framing, tests/e2e/mi_client.py)
check_eq "MI datagram over UDP loopback: version answers {\"Server\": \"evrd ...\"}" \
	"$("$PY" "$E2E_LIB_DIR/mi_client.py" udp 127.0.0.1 "$MI_PORT" version | jq -r '.Server | startswith("evrd")')" true
check_eq "MI FIFO: version answers {\"Server\": \"evrd ...\"}" \
	"$("$PY" "$E2E_LIB_DIR/mi_client.py" fifo "$T/evrd_fifo" "$T" version | jq -r '.Server | startswith("evrd")')" true
check_ge "MI replies counted (stats control.mi_replies)" \
	"$(ctl --json stats | jq '.control.mi_replies')" 2

evrd_stop 15
if [[ -n ${ASAN_OPTIONS:-} ]] || ldd "$EVRD" | grep -q libasan; then
	check "no AddressSanitizer report in evrd's output" \
		bash -c '! grep -q "ERROR: \(AddressSanitizer\|LeakSanitizer\)" "$0"' "$EVRD_LOG"
fi
e2e_finish
