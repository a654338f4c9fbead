#!/usr/bin/env bash
# evrctl end to end: a real control server (test_ctl_helper serve, real
# matcher, kernel-socket delivery) driven through evrctl, checking output,
# --json, delivery to a unix datagram sink, and exit codes 0/1/2/3.
#
# usage: test_evrctl.sh EVRCTL HELPER   (meson passes both, see meson.build)
set -u

EVRCTL=${1:?evrctl path}
HELPER=${2:?test_ctl_helper path}
tmp=$(mktemp -d /tmp/evrctl_test.XXXXXX)
sock=$tmp/evrd.sock
checks=0 fails=0
pids=()

cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

# run CMD...: sets out, err, rc (stdin is never a terminal here)
run() {
	out=$("$@" 2>"$tmp/stderr" </dev/null)
	rc=$?
	err=$(<"$tmp/stderr")
}
ctl() { run "$EVRCTL" -s "$sock" "$@"; }

fail() {
	fails=$((fails + 1))
	echo "FAIL: $*" >&2
	echo "  rc=$rc" >&2
	echo "  stdout: ${out//$'\n'/$'\n'          }" >&2
	echo "  stderr: ${err//$'\n'/$'\n'          }" >&2
}
expect_rc() { checks=$((checks + 1)); [[ $rc == "$1" ]] || fail "$2: exit $rc, want $1"; }
expect_out() { checks=$((checks + 1)); grep -qE -- "$1" <<<"$out" || fail "$2: stdout lacks /$1/"; }
expect_no_out() { checks=$((checks + 1)); ! grep -qE -- "$1" <<<"$out" || fail "$2: stdout has /$1/"; }
expect_err() { checks=$((checks + 1)); grep -qE -- "$1" <<<"$err" || fail "$2: stderr lacks /$1/"; }

# start_bg READY-FILE CMD...: run in the background, wait for "ready"
start_bg() {
	local ready=$1
	shift
	"$@" >"$ready" 2>"$ready.err" &
	pids+=($!)
	for _ in $(seq 100); do
		grep -q ready "$ready" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "FAIL: $* did not start: $(cat "$ready.err")" >&2
	exit 1
}

start_bg "$tmp/server.out" "$HELPER" serve "$sock"

# ---- exit 3: cannot connect, no answer --------------------------------------
run "$EVRCTL" -s "$tmp/nobody.sock" version
expect_rc 3 "no daemon"
expect_err "cannot connect to $tmp/nobody.sock" "no daemon message"
start_bg "$tmp/mute.out" "$HELPER" mute "$tmp/mute.sock"
run "$EVRCTL" -s "$tmp/mute.sock" --timeout 0.3 stats
expect_rc 3 "timeout"
expect_err "no answer from .* within 0.3s" "timeout message"

# ---- exit 2: usage ---------------------------------------------------------------
ctl
expect_rc 2 "no command, stdin not a terminal"
ctl frobnicate
expect_rc 2 "unknown command"
expect_err "unknown command 'frobnicate'" "unknown command message"
ctl subscribe E_X
expect_rc 2 "subscribe without socket"
expect_err "usage: evrctl subscribe EVENT SOCKET" "subscribe usage line"
ctl subscribe E_X udp:127.0.0.1:9 --expire soon
expect_rc 2 "bad --expire"
ctl subscribe E_X udp:127.0.0.1:9 --bogus
expect_rc 2 "unknown subscribe option"
ctl unsubscribe abc
expect_rc 2 "unsubscribe non-numeric id"
ctl call version '{not json'
expect_rc 2 "call with bad JSON params"
ctl raise E_X novalue
expect_rc 2 "raise with a non key=value"
run "$EVRCTL" --timeout never -s "$sock" version
expect_rc 2 "bad --timeout"

# ---- help: offline and online ---------------------------------------------------------
run "$EVRCTL" -s "$tmp/nobody.sock" help
expect_rc 0 "help offline"
expect_out "subscribe EVENT SOCKET" "help lists CLI commands"
expect_out "event_subscribe +write +event socket" "help offline lists methods with their access"
expect_out "events_list +read " "help offline: read methods tagged"
expect_out "built-in list" "help offline says so"
ctl help
expect_rc 0 "help online"
expect_out "raise_event" "help online lists methods"
expect_no_out "built-in list" "help online asks the daemon"
# the README's method table is generated from the method table: current?
run "$EVRCTL" help --markdown
expect_rc 0 "help --markdown"
readme=$(dirname "${BASH_SOURCE[0]}")/../../../README.md
checks=$((checks + 1))
if [[ "$(sed -n '/<!-- methods:begin -->/,/<!-- methods:end -->/p' "$readme" | sed '1d;$d')" != "$out" ]]; then
	fail "README.md method table differs from 'evrctl help --markdown' (regenerate it)"
fi
run "$EVRCTL" --help
expect_rc 0 "--help"
expect_out "Exit status" "--help text"

# ---- version, socket selection -----------------------------------------------------------
ctl version
expect_rc 0 "version"
expect_out "^evrd [0-9]+\.[0-9]+\.[0-9]+ \(evrctl " "version text"
run env EVR_SOCKET="$sock" "$EVRCTL" version
expect_rc 0 "EVR_SOCKET"
run env EVR_SOCKET="$tmp/nobody.sock" "$EVRCTL" -s "$sock" --json version
expect_rc 0 "-s wins over EVR_SOCKET"
expect_out '^\{"name":"evrd","version":"[0-9.]+","instance":"[0-9a-f-]{36}","started":[0-9]{10}\}$' "version --json (instance id and start time: restart visibility)"

# ---- config (this server has no configuration: evrd's hook is absent) -------------------
ctl config
expect_rc 1 "config without a configuration"
expect_err "error 503: no configuration" "config error text"
ctl config sip.linger_ms extra
expect_rc 2 "config: one setting at most"

# ---- subscribe / refresh / errors ---------------------------------------------------------
ctl subscribe E_UL_AOR_INSERT udp:127.0.0.1:9000 --filter 'aor=bob@*' --expire 600
expect_rc 0 "subscribe"
expect_out "^subscribed: id [0-9]+, expire 600s$" "subscribe text"
id=$(sed -n 's/^subscribed: id \([0-9]*\),.*/\1/p' <<<"$out")
ctl subscribe E_UL_AOR_INSERT udp:127.0.0.1:9000 -f 'AOR=bob@*' --json
expect_rc 0 "refresh"
expect_out "^\{\"id\":$id,\"expire\":3600,\"refreshed\":true\}$" "refresh --json, same id"
ctl subscribe E_X udp:127.0.0.1:9 --filter 'aor=[bob'
expect_rc 1 "invalid filter"
expect_err "error -32602: filter 'aor=\[bob': unterminated" "invalid filter message"
ctl subscribe E_X tcp:1.2.3.4:5
expect_rc 1 "invalid socket"
expect_err "error -32602: .*tcp:1.2.3.4:5" "invalid socket message"
ctl subscribe E_X udp:127.0.0.1:9 --format yaml
expect_rc 1 "invalid format"
for i in 1 2 3 4 5; do
	ctl subscribe "E_MANY" "udp:127.0.0.1:910$i" --once --lenient --format plain
	expect_rc 0 "subscribe E_MANY $i"
done

# ---- subscribers / events ------------------------------------------------------------------
ctl subscribers
expect_rc 0 "subscribers"
expect_out "^ID +EVENT +SOCKET +FORMAT +TTL +EXPIRE +FLAGS +LIMITER +FILTERS$" "subscribers header"
expect_out "^$id +E_UL_AOR_INSERT +udp:127.0.0.1:9000 +jsonrpc +[0-9]+s +3600s +- +- +aor=bob@\*$" "subscribers row"
expect_out "E_MANY +udp:127.0.0.1:9101 +plain .* once,lenient +- +-$" "subscribers flags"
ctl subscribers --event E_MANY --limit 2
expect_rc 0 "subscribers page"
[[ $(grep -c E_MANY <<<"$out") == 2 ]] || fail "--limit 2 shows 2 rows"
checks=$((checks + 1))
expect_err "more: evrctl subscribers --after [0-9]+ or --all" "next page hint"
ctl --json subscribers --event E_MANY --limit 2 --all
expect_rc 0 "subscribers --all"
[[ $(grep -o '"id":' <<<"$out" | wc -l) == 5 ]] || fail "--all follows cursors to 5 entries"
checks=$((checks + 1))
expect_out '"next":null\}$' "--all ends with next null"
ctl subscribers --limit 5000
expect_rc 1 "limit over list_max"
expect_err "limit" "limit message"
ctl events
expect_rc 0 "events"
expect_out "^EVENT +SUBSCRIBERS$" "events header"
expect_out "^E_MANY +5$" "events count"
expect_out "^E_UL_AOR_INSERT +1$" "events count 2"

# ---- raise, with delivery to a real unix datagram socket --------------------------------
"$HELPER" sink "$tmp/sink.sock" 5000 >"$tmp/sink.out" &
sink_pid=$!
pids+=("$sink_pid")
for _ in $(seq 100); do [[ -S $tmp/sink.sock ]] && break; sleep 0.05; done
ctl subscribe E_RAISE "unix:$tmp/sink.sock" --format json --filter user=alice
expect_rc 0 "subscribe unix sink"
ctl raise E_RAISE user=alice 'note=a b'
expect_rc 0 "raise"
expect_out "^notified 1 of 1 subscriber\(s\)$" "raise text"
wait "$sink_pid"
checks=$((checks + 1))
grep -q '"Event-Name":"E_RAISE"' "$tmp/sink.out" && grep -q '"user":"alice"' "$tmp/sink.out" &&
	grep -q '"note":"a b"' "$tmp/sink.out" || { out=$(<"$tmp/sink.out"); fail "datagram content"; }
ctl raise E_RAISE user=bob
expect_rc 1 "raise filtered out"
expect_err "error 480: No subscribers for event" "480 message"
ctl --json raise E_MANY
expect_rc 0 "raise --json"
expect_out '^\{"matched":5,"notified":5,"failed":0\}$' "raise --json result"
ctl raise E_MANY
expect_rc 1 "once subscriptions fired"

# ---- unsubscribe -------------------------------------------------------------------------------
ctl unsubscribe "$id"
expect_rc 0 "unsubscribe id"
expect_out "^removed 1$" "unsubscribe text"
ctl unsubscribe "$id"
expect_rc 1 "unsubscribe unknown id"
expect_err "error 404: no subscription with id $id" "404 message"
ctl unsubscribe E_RAISE "unix:$tmp/sink.sock"
expect_rc 0 "unsubscribe event socket"
expect_out "^removed 1$" "unsubscribe event socket text"
ctl subscribers
expect_rc 0 "subscribers empty"
expect_out "^no subscriptions$" "subscribers empty text"

# ---- stats, call ---------------------------------------------------------------------------------
ctl stats
expect_rc 0 "stats"
expect_out "^control\.requests +[0-9]+$" "stats control counter"
expect_out "^control\.errors\.480 +[1-9]" "stats error counter"
expect_out "^matcher\.live +[0-9]+$" "stats matcher"
ctl --json stats
expect_out '^\{"matcher":\{"live":[0-9]+,' "stats --json"
ctl call list_methods
expect_rc 0 "call"
expect_out '"name": "subscribers_list"' "call pretty output"
ctl --json call evr_subscribers_list '{"limit":1}'
expect_rc 0 "call with params"
expect_out '^\{"subscribers":\[\],"next":null\}$' "call --json output"
ctl call stats '[]'
expect_rc 0 "call alias"
ctl call nope
expect_rc 1 "call unknown method"
expect_err "error -32601: Method not found: nope" "-32601 message"

# ---- events: paged (issue 8) ----------------------------------------------------------------
# 2500 distinct events (about 100 KB of events_list) on a server whose
# max_output is 64 KiB: one unpaged reply could not be delivered, so every
# event listed exactly once proves evrctl followed the cursor page by page.
sock2=$tmp/events.sock
start_bg "$tmp/server2.out" "$HELPER" serve-events "$sock2" 2500 65536
ctl2() { run "$EVRCTL" -s "$sock2" "$@"; }
ctl2 --json stats
before=$(grep -o '"requests":[0-9]*' <<<"$out" | head -1 | cut -d: -f2)
ctl2 --json events
expect_rc 0 "events over several pages"
checks=$((checks + 1))
names=$(grep -o '"event":"E_PAGE_[0-9]*"' <<<"$out" | sort)
[[ $(wc -l <<<"$names") == 2500 && $(uniq <<<"$names" | wc -l) == 2500 ]] ||
	fail "every event exactly once: $(wc -l <<<"$names") listed, $(uniq <<<"$names" | wc -l) distinct"
expect_out '"next":null' "last page has no cursor"
ctl2 --json stats
after=$(grep -o '"requests":[0-9]*' <<<"$out" | head -1 | cut -d: -f2)
checks=$((checks + 1))
((after - before >= 1 + 25)) || fail "events used $((after - before - 1)) calls, want >= 25 pages"
ctl2 events --limit 1000
expect_rc 0 "events one page"
checks=$((checks + 1))
[[ $(grep -c '^E_PAGE_' <<<"$out") == 1000 ]] || fail "--limit 1000 shows 1000 rows"
expect_err "more: evrctl events --after 'E_PAGE_00999'" "events next page hint"
ctl2 events --after E_PAGE_02497
expect_rc 0 "events --after"
expect_out "^E_PAGE_02498 +1$" "events after cursor"
expect_no_out "E_PAGE_02497" "cursor itself not repeated"

echo "$checks checks, $fails failed"
((fails == 0))
