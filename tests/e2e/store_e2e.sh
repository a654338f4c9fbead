#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Subscriptions that survive restarts (issue 14 §1), with a real evrd and
# its embedded store (LMDB) in $T/store:
#   - 100k subscriptions over the control socket (expire 4 s / 3600 s /
#     86400 s, 1 % `once` to a unix: destination, mixed formats, lenient),
#     one `once` fired (one notification) and reaped;
#   - 1000 more with expire 5 s, then (a) SIGTERM, down 6 s, restart: every
#     subscription is back with its id, fields and remaining TTL, the
#     short ones (and the 4 s ones) expired while down are gone, the fired
#     `once` is gone (raising its event again notifies nobody);
#   - (b) SIGKILL while a client pipelines subscribes and unsubscribes:
#     every ACKNOWLEDGED change is back after the restart; requests in
#     flight at the kill may or may not be (their replies never came);
#   - a corrupt store (garbled header, truncated file) refuses to start
#     naming the path and --store-reset; --store-reset starts empty.
# Bounded: about a minute on 2 cores.
. "$(dirname "$0")/lib.sh"

e2e_init store_e2e
e2e_require_root
e2e_require_build
e2e_require_pmd net_pcap

N=${EVR_STORE_N:-100000}
EVRD_PREFIX=evr-e2e-store-$$
ST=$T/store
SPY=$E2E_LIB_DIR/store_e2e.py
e2e_pcap_conf "$T/evrd.conf"
cat >>"$T/evrd.conf" <<CONF
listeners = ( { port = 8090; format = "jsonrpc"; } );
control = { socket = "$T/evrd.sock"; };
heartbeat = { interval_s = 0; };
destinations = { unix_dir = "$T/notify"; };
CONF
mkdir -p "$T/notify"
start() { evrd_start "$T/evrd.conf" "$T/evrd.sock" --store-path "$ST" "$@"; }
durable() { # every queued change committed
	local s
	s=$(stats_json) || return 1
	[[ $(jq '.store.queued' <<<"$s") == $(jq '.store.committed + .store.errors' <<<"$s") ]]
}

start || { fail "evrd starts with an empty store"; e2e_finish; }
check_eq "store.path in stats" "$(stat_get .store.path)" "\"$ST\""

log "loading $N subscriptions"
t0=$SECONDS
check "$N subscriptions acknowledged (none 'not durable')" \
	"$PY" "$SPY" load --sock "$EVR_SOCK" --n "$N" --once-sock "$T/notify/once.sock" --out "$T/ids.json"
log "loaded in $((SECONDS - t0)) s"
check_eq "store errors after the load" "$(stat_get .store.errors)" 0

# a `once` fires: one notification, then the reaper removes it (durably)
unix_recv_start "$T/notify/once.sock" "$T/once1.out" 1 5
ctl raise E_ONCE k=o7 >/dev/null
wait_until 5 test -s "$T/once1.out"
check_eq "the once subscription notified once" "$(lines "$T/once1.out")" 1
wait_until 5 bash -c "[[ \$('$EVRCTL' -s '$EVR_SOCK' --json stats | jq .matcher.once_reaped) -ge 1 ]]"
check "the fired once was reaped and its removal committed" wait_until 5 durable

check "snapshot b1" "$PY" "$SPY" dump --sock "$EVR_SOCK" --out "$T/b1.json"

# ---- (a) SIGTERM, down 6 s, restart. Right before the stop, 1000 with
# expire 5 s: they expire while evrd is down (the snapshot takes seconds,
# so they come after it)
"$PY" -c "
import sys; sys.path.insert(0, '$E2E_LIB_DIR')
from evr_e2e import Ctl
c = Ctl('$EVR_SOCK', timeout=60)
r = c.pipeline([{'method': 'evr_subscribe', 'params': {'event': 'E_SHORT',
    'socket': 'udp:198.18.16.2:9200', 'filters': ['s=%d' % i], 'expire': 5}} for i in range(1000)])
assert all('result' in x for x in r), r[:3]
" || fail "1000 short subscriptions acknowledged"
live1=$(stat_get .matcher.live)
log "(a) SIGTERM, 6 s down, restart"
evrd_stop 30
sleep 6
start || { fail "evrd restarts on its store"; e2e_finish; }
check "snapshot a1" "$PY" "$SPY" dump --sock "$EVR_SOCK" --out "$T/a1.json"
check "(a) after SIGTERM: every unexpired subscription back (ids, fields, remaining TTL), expired ones gone" \
	"$PY" "$SPY" compare --before "$T/b1.json" --after "$T/a1.json"
check_ge "(a) the 1000 5-s subscriptions expired while down (load_expired)" \
	"$(stat_get .store.load_expired)" 1000
check_eq "(a) none of them is back" \
	"$(jq '[.[] | objects | select(.event == "E_SHORT")] | length' "$T/a1.json")" 0
check_eq "(a) none refused at load" "$(stat_get .store.load_refused)" 0
check "(a) fewer live than before (expired ones gone): $live1 ->" \
	test "$(stat_get .matcher.live)" -lt "$live1"
check_eq "(a) the fired once is gone" \
	"$(jq '[.[] | objects | select(.filters == ["k=o7"])] | length' "$T/a1.json")" 0
check_eq "(a) an unfired once is back" \
	"$(jq '[.[] | objects | select(.filters == ["k=o107"])] | length' "$T/a1.json")" 1
unix_recv_start "$T/notify/once.sock" "$T/once2.out" 2 3
ctl raise E_ONCE k=o7 >/dev/null
ctl raise E_ONCE k=o107 >/dev/null
sleep 1
check_eq "(a) raising again: only the unfired once notifies" "$(lines "$T/once2.out")" 1
check "(a) durable again" wait_until 5 durable
check "snapshot a1" "$PY" "$SPY" dump --sock "$EVR_SOCK" --out "$T/a1.json"

# ---- (b) SIGKILL during churn
log "(b) SIGKILL while subscribes and unsubscribes are in flight"
"$PY" "$SPY" churn --sock "$EVR_SOCK" --snap "$T/a1.json" --out "$T/churn.json" \
	>"$T/churn.out" 2>&1 &
CH=$!
E2E_PIDS+=("$CH")
sleep 2
kill -KILL "$EVRD_PID"
wait "$EVRD_PID" 2>/dev/null
EVRD_PID=""
wait "$CH"
check "(b) the churn client saw the kill" test "$?" -eq 0
sed 's/^/    /' "$T/churn.out"
start || { fail "evrd restarts after SIGKILL"; e2e_finish; }
check "snapshot a2" "$PY" "$SPY" dump --sock "$EVR_SOCK" --out "$T/a2.json"
check "(b) after SIGKILL: every acknowledged change is back, acknowledged removals gone, nothing unacknowledged but what was in flight" \
	"$PY" "$SPY" compare --before "$T/a1.json" --after "$T/a2.json" --churn "$T/churn.json"
check "(b) evrd alive" evrd_alive
evrd_stop 30

# ---- corrupt stores
log "corrupt store: garbled header"
cp "$ST/data.mdb" "$T/data.mdb.good"
dd if=/dev/urandom of="$ST/data.mdb" bs=4096 count=2 conv=notrunc status=none
start && fail "evrd starts on a garbled store" && evrd_stop
check "garbled: refused, naming the path and --store-reset" \
	grep -q "store $ST/data.mdb is corrupt.*--store-reset" "$EVRD_LOG"
log "corrupt store: truncated"
cp "$T/data.mdb.good" "$ST/data.mdb"
truncate -s $(($(stat -c %s "$ST/data.mdb") / 2)) "$ST/data.mdb"
start && fail "evrd starts on a truncated store" && evrd_stop
check "truncated: refused, naming the path and --store-reset" \
	grep -q "store $ST/data.mdb is corrupt (truncated.*--store-reset" "$EVRD_LOG"
start --store-reset || fail "evrd --store-reset starts"
check_eq "--store-reset: empty" "$(stat_get .matcher.live)" 0
check "--store-reset: usable" ctl subscribe E_AFTER udp:198.18.16.2:9300
evrd_stop 30

# ---- a full store: counted, and the replies of what could not be made
# durable say so; evrd goes on
log "full store (store.map_mb = 1)"
cp "$T/evrd.conf" "$T/full.conf"
http_port=$((20000 + ($$ % 20000)))
cat >>"$T/full.conf" <<EOF
store = { map_mb = 1; };
mi = { http = { listen = "127.0.0.1:$http_port"; }; };
EOF
evrd_start "$T/full.conf" "$T/evrd.sock" --store-path "$T/full" ||
	{ fail "evrd starts with a 1 MB store"; e2e_finish; }
"$PY" -c "
import sys; sys.path.insert(0, '$E2E_LIB_DIR')
from evr_e2e import Ctl
c = Ctl('$EVR_SOCK', timeout=60)
r = c.pipeline([{'method': 'evr_subscribe', 'params': {'event': 'E_FULL',
    'socket': 'udp:198.18.16.2:9400', 'filters': ['f=%d' % i + 'x' * 400], 'expire': 600}}
    for i in range(6000)])
ok = sum(1 for x in r if 'result' in x)
nd = [x['result'] for x in r if 'result' in x and x['result'].get('durable') is False]
print('%d acknowledged, %d not durable: %s' % (ok, len(nd), nd[0] if nd else ''))
if not (ok == 6000 and nd and 'not durable' in nd[0]['store_error']):
    sys.exit(1)
# A failed group commit is aborted whole, so a later, smaller commit may
# still fit in the pages it would have used. Fill the store one change at a
# time until a single one does not fit either, so the MI-over-HTTP check
# below (a bigger value: more pages) meets a store that is truly full.
for i in range(3000):
    r = c.call('evr_subscribe', {'event': 'E_FULL', 'socket': 'udp:198.18.16.2:9400',
                                 'filters': ['g=%d' % i + 'x' * 400], 'expire': 600})
    if r.get('result', {}).get('durable') is False:
        print('a single change did not fit after %d more' % i)
        sys.exit(0)
print('3000 single changes all fitted in a 1 MB store')
sys.exit(1)
" >"$T/full.out" 2>&1
rc=$?
sed 's/^/    /' "$T/full.out"
check "full: replies of changes not made durable say so (durable: false, store_error)" test "$rc" = 0
# MI over HTTP holds its reply for the store like every other transport:
# the answer to a change that could not be made durable says so
"$PY" -c "
import json, sys, urllib.request
req = {'jsonrpc': '2.0', 'id': 7, 'method': 'evr_subscribe', 'params': {'event': 'E_FULL',
       'socket': 'udp:198.18.16.2:9401', 'filters': ['f=http' + 'x' * 3000], 'expire': 600}}
r = json.loads(urllib.request.urlopen(urllib.request.Request(
    'http://127.0.0.1:$http_port/mi', data=json.dumps(req).encode(),
    headers={'Content-Type': 'application/json'}), timeout=10).read())
print(r)
sys.exit(0 if r['result'].get('durable') is False and 'not durable' in r['result']['store_error'] else 1)
" >"$T/http.out" 2>&1
rc=$?
sed 's/^/    /' "$T/http.out"
check "full: the MI-over-HTTP reply waits for the store and says not durable" test "$rc" = 0
check_ge "full: counted (store.errors_full)" "$(stat_get .store.errors_full)" 1
check_ge "full: replies counted (control.store_not_durable)" "$(stat_get .control.store_not_durable)" 1
check "full: evrd alive and answering" ctl version
evrd_stop 30
e2e_finish
