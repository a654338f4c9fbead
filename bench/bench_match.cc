// SPDX-License-Identifier: Apache-2.0
//
// Matcher benchmarks (Google Benchmark, calling the C API of libevr_core).
//
//   BM_match/<N>          hybrid index, N live subscriptions: events/s
//   BM_match_naive/<N>    reference twin (linear walk + fnmatch), N <= 100k
//   BM_churn/<N>          subscribe+unsubscribe pairs/s at N live while a
//                         reader thread matches; reader rate idle vs churn
//   BM_update_visible/... subscribe() return -> a concurrent reader sees it
//
// Workload: bench_gen.h (realistic mix, ~3 notifications per event). Events
// are pre-decoded struct evr_event (decoding is measured in bench_codec.cc).
// Building N subscriptions happens once per (index, N) outside every timed
// loop; fixtures are cached, because Google Benchmark calls a benchmark
// function several times while it sizes the iteration count.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <malloc.h>
#include <unistd.h>

#include "bench_common.h"
#include "bench_gen.h"
#include "match/evr_matcher.h"
#include "event/evr_event_hold.h"
#include "util/evr_mem.h"
#include "util/evr_slab.h"

using namespace evr_bench;

namespace {

constexpr uint32_t k_events = 4096; // per fixture; power of two (index mask)
constexpr uint32_t k_out_cap = 4096; // far above any realistic fan-out
constexpr uint32_t k_million = 1000000;

struct Fixture {
	evr_index_kind kind = EVR_INDEX_HYBRID;
	uint32_t n = 0;
	evr_matcher *m = nullptr;
	std::unique_ptr<Gen> gen;
	std::unique_ptr<EventSet> events;
	int reader_main = -1; // the benchmark thread
	int reader_aux = -1;  // churn / visibility reader threads (one at a time)
	double setup_s = 0;   // subscribing N
	double sync_s = 0;    // evr_matcher_sync after that (Hyperscan compiles)
	double heap_bytes = 0; // what creating the matcher and subscribing N grew
	std::string error;

	Fixture() = default;
	Fixture(const Fixture &) = delete;
	Fixture &operator=(const Fixture &) = delete;
	~Fixture()
	{
		if (!m)
			return;
		// Registered but offline: destroy flushes the lfht resize workers,
		// which wait for a grace period, and an online caller that blocks
		// there never reaches a quiescent state (deadlock).
		RcuThread t;
		evr_matcher_destroy(m);
	}
};

std::map<std::pair<int, uint32_t>, std::unique_ptr<Fixture>> g_fixtures;

// Subscribe d; when an identical subscription already exists (same event,
// destination and filters: the matcher refreshes instead of adding) move to
// another destination, so a fixture holds exactly the N it claims.
// Writer context: registered and online.
int subscribe_new(evr_matcher *m, SubDef &d, uint64_t salt, uint64_t *id,
                  std::string *err)
{
	for (uint32_t tries = 0; tries < 32; tries++) {
		SpecView sv(d);
		evr_sub_info info{};
		char e[256] = "";
		int rc = evr_matcher_subscribe(m, &sv.spec, evr_now_ms(), &info, e, sizeof(e));
		if (rc != 0) {
			*err = fmt("subscribe(%s, %s): %s (%s)", d.event.c_str(),
			           d.filters.empty() ? "" : d.filters[0].c_str(), e, strerror(-rc));
			return rc;
		}
		if (!info.refreshed) {
			if (id)
				*id = info.id;
			return 0;
		}
		Rng r(salt * 31 + tries);
		d.dest = Gen::dest(256 + r.below(1u << 16));
	}
	*err = "subscribe: could not find a unique destination";
	return -EEXIST;
}

// Everything the process holds: malloc's heap in use (arenas and its own
// mmaps) and the tables evr_mem maps beside it, less slab memory holding no
// record (records of a dropped fixture are reused by the next one).
// Measured around building a fixture, it is the memory the matcher costs,
// whatever its own stats say.
double heap_now()
{
	struct mallinfo2 mi = mallinfo2();
	return (double)mi.uordblks + (double)mi.hblkhd + (double)evr_mem_table_bytes() -
	       (double)evr_slab_idle_bytes();
}

std::unique_ptr<Fixture> build_fixture(evr_index_kind kind, uint32_t n)
{
	auto f = std::make_unique<Fixture>();
	f->kind = kind;
	f->n = n;
	// The class mix can be overridden to see what each index path costs
	// (EVR_BENCH_P_EXACT=1 is all hash probes, EVR_BENCH_P_EXACT=0
	// EVR_BENCH_P_PS=0 is all Hyperscan).
	GenConf gc;
	gc.p_exact = env_frac("EVR_BENCH_P_EXACT", gc.p_exact);
	gc.p_prefix_suffix = env_frac("EVR_BENCH_P_PS", gc.p_prefix_suffix);
	f->gen = std::make_unique<Gen>(n, gc);
	f->events = std::make_unique<EventSet>(f->gen->events(k_events));

	evr_matcher_conf c;
	evr_matcher_conf_default(&c);
	c.index = kind;
	if (c.max_subs < n + (n >> 2) + 65536)
		c.max_subs = n + (n >> 2) + 65536;
	RcuThread t;
	// the fixture dropped before this one frees through call_rcu: let that
	// finish so it does not count against this one
	rcu_barrier();
	double heap0 = heap_now();
	RcuOnline on;
	f->m = evr_matcher_create(&c);
	if (!f->m) {
		f->error = fmt("evr_matcher_create: %s", strerror(errno));
		return f;
	}
	f->reader_main = evr_matcher_reader_register(f->m);
	f->reader_aux = evr_matcher_reader_register(f->m);
	if (f->reader_main < 0 || f->reader_aux < 0) {
		f->error = "evr_matcher_reader_register failed";
		return f;
	}
	if (n >= 100000)
		fprintf(stderr, "[evr_bench] subscribing %u (%s)...\n", n,
		        kind == EVR_INDEX_HYBRID ? "hybrid" : "naive");
	uint64_t t0 = now_ns();
	for (uint32_t i = 0; i < n; i++) {
		SubDef d = f->gen->sub(i);
		if (subscribe_new(f->m, d, i, nullptr, &f->error) != 0)
			return f;
		// Between calls this thread is online: report a quiescent state
		// after every call, or grace periods (and with them the lfht
		// resizes that run from call_rcu) wait for this loop.
		rcu_quiescent_state();
	}
	uint64_t t1 = now_ns();
	evr_matcher_sync(f->m);
	uint64_t t2 = now_ns();
	// the nodes of refreshed duplicates and the tables replaced by growth
	// go back through call_rcu: count what stays
	rcu_thread_offline();
	rcu_barrier();
	rcu_thread_online();
	f->heap_bytes = heap_now() - heap0;
	f->setup_s = (double)(t1 - t0) / 1e9;
	f->sync_s = (double)(t2 - t1) / 1e9;
	if (n >= 100000)
		fprintf(stderr, "[evr_bench] %u subscribed in %.1f s, sync %.1f s\n", n,
		        f->setup_s, f->sync_s);
	return f;
}

// Largest N (1M unless EVR_BENCH_MAX_N caps it): the churn and visibility
// benchmarks run at this size.
uint32_t big_n()
{
	return (uint32_t)std::min(env_long("EVR_BENCH_MAX_N", k_million), (long)k_million);
}

// Cached fixture. Only the current one and the big hybrid one (reused by the
// churn and visibility benchmarks) stay alive, to bound memory.
Fixture *fixture(evr_index_kind kind, uint32_t n)
{
	auto key = std::make_pair((int)kind, n);
	for (auto it = g_fixtures.begin(); it != g_fixtures.end();) {
		bool keep = it->first == key ||
		            (it->first.first == EVR_INDEX_HYBRID && it->first.second == big_n());
		it = keep ? std::next(it) : g_fixtures.erase(it);
	}
	auto &slot = g_fixtures[key];
	if (!slot)
		slot = build_fixture(kind, n);
	return slot.get();
}

void add_stats_counters(benchmark::State &state, Fixture *f)
{
	evr_matcher_stats st{};
	{
		RcuOnline on;
		evr_matcher_get_stats(f->m, &st);
	}
	double live = st.live ? (double)st.live : 1.0;
	state.counters["subs"] = (double)st.live;
	state.counters["bytes_per_sub"] = (double)st.mem_bytes / live;
	// measured, not estimated: heap and table growth over the fixture
	state.counters["heap_per_sub"] = f->heap_bytes / live;
	state.counters["hs_bytes_per_sub"] = (double)st.hs_bytes / live;
	state.counters["hs_patterns"] = (double)st.hs_patterns;
	state.counters["setup_s"] = f->setup_s;
	state.counters["sync_s"] = f->sync_s;
	// the index tables ask for transparent huge pages (util/evr_mem.h):
	// how much of the process got them
	state.counters["huge_MiB"] = (double)evr_mem_huge_bytes() / (1 << 20);
}

// How a match benchmark feeds the matcher. A worker matches events it has
// just decoded: they are in its cache, the index is not. So the burst
// variants stage each burst's events into an event hold first (as the
// worker's decode + hold do) and time the match alone; `unstaged` matches
// straight out of the 4096-event set, whose events are as cold as the
// index (how BM_match measured before the burst API: compare it with old
// builds).
enum class Feed {
	burst,    // EVR_MATCH_BURST_MAX staged events per call, as the worker does
	single,   // one staged event per call (the same events): the burst's gain
	cold,     // bursts, the last-level cache evicted before each (then staged)
	unstaged, // bursts straight from the event set (events cold too)
};

// Reads a buffer larger than the last-level cache (8 MiB here; 32 MiB
// leaves room for bigger hosts) so the next burst finds nothing of the
// index cached: the result then does not depend on what else ran.
void evict_llc()
{
	static std::vector<uint64_t> junk((32u << 20) / sizeof(uint64_t), 1);
	uint64_t acc = 0;
	for (size_t i = 0; i < junk.size(); i += 8) // one read per line
		acc += junk[i]++;
	benchmark::DoNotOptimize(acc);
}

void match_bench(benchmark::State &state, evr_index_kind kind, Feed feed)
{
	uint32_t n = (uint32_t)state.range(0);
	Fixture *f = fixture(kind, n);
	if (!f->error.empty()) {
		state.SkipWithError(f->error.c_str());
		return;
	}
	RcuThread t;
	const uint32_t per = feed == Feed::single ? 1 : EVR_MATCH_BURST_MAX;
	std::vector<const evr_sub *> out(k_out_cap * per);
	const evr_event *evs[EVR_MATCH_BURST_MAX];
	evr_match_burst b{};
	b.subs = out.data();
	b.cap = (uint32_t)out.size();
	b.per_event_cap = k_out_cap;
	evr_ev_hold hold{};
	evr_limits lim;
	evr_limits_default(&lim);
	if (evr_ev_hold_init(&hold, &lim, EVR_MATCH_BURST_MAX) != 0) {
		state.SkipWithError("event hold");
		return;
	}
	evr_match_stats ms{};
	uint64_t i = 0, total = 0;
	{
		RcuOnline on;
		uint64_t now = evr_now_ms();
		for (auto _ : state) {
			if (feed == Feed::cold)
				evict_llc();
			evr_ev_hold_reset(&hold);
			for (uint32_t k = 0; k < per; k++) {
				const evr_event *e = &(*f->events)[(i + k) & (k_events - 1)];
				evs[k] = feed == Feed::unstaged ? e
				                                : evr_ev_hold_add_event(&hold, e, nullptr, 0);
				if (evs[k] == nullptr) { // cannot happen: the set is within limits
					state.SkipWithError("event hold full");
					break;
				}
			}
			uint64_t t0 = now_ns();
			uint32_t got = evr_matcher_match_burst(f->m, (unsigned)f->reader_main, evs,
			                                       per, now, &b, &ms);
			state.SetIterationTime((double)(now_ns() - t0) / 1e9);
			benchmark::DoNotOptimize(got);
			total += got;
			// One quiescent state and clock read per 64 events, as a
			// dataplane loop reports one per burst.
			i += per;
			if ((i & 63) == 0) {
				rcu_quiescent_state();
				now = evr_now_ms();
			}
		}
	}
	evr_ev_hold_fini(&hold);
	state.SetItemsProcessed((int64_t)i);
	state.counters["notif_per_event"] = i ? (double)total / (double)i : 0;
	state.counters["notif_expected"] = f->gen->expected_matches();
	if (kind == EVR_INDEX_HYBRID && i) {
		state.counters["probes_per_event"] = (double)ms.probes / (double)i;
		state.counters["present_per_event"] = (double)ms.probes_present / (double)i;
		state.counters["cand_per_event"] = (double)ms.candidates / (double)i;
	}
	if (ms.overflow)
		state.counters["overflow"] = (double)ms.overflow;
	if (ms.hs_errors)
		state.counters["hs_errors"] = (double)ms.hs_errors;
	add_stats_counters(state, f);
}

void BM_match(benchmark::State &state) { match_bench(state, EVR_INDEX_HYBRID, Feed::burst); }
void BM_match_single(benchmark::State &state)
{
	match_bench(state, EVR_INDEX_HYBRID, Feed::single);
}
void BM_match_cold(benchmark::State &state) { match_bench(state, EVR_INDEX_HYBRID, Feed::cold); }
void BM_match_unstaged(benchmark::State &state)
{
	match_bench(state, EVR_INDEX_HYBRID, Feed::unstaged);
}
void BM_match_naive(benchmark::State &state) { match_bench(state, EVR_INDEX_NAIVE, Feed::burst); }

// A reader thread that matches the fixture's events until stopped, publishing
// how many it did (every 64, with its quiescent state).
class Reader {
public:
	explicit Reader(Fixture *f, const EventSet *probes = nullptr)
		: probes_(probes), f_(f), th_([this] { run(); })
	{
	}
	~Reader()
	{
		stop_.store(true, std::memory_order_relaxed);
		th_.join();
	}
	uint64_t events() const { return done_.load(std::memory_order_relaxed); }
	// Mean duration of one probe match (visibility resolution).
	double probe_match_us() const
	{
		uint64_t n = probe_n_.load(std::memory_order_relaxed);
		uint64_t ns = probe_ns_.load(std::memory_order_relaxed);
		return n ? (double)ns / 1e3 / (double)n : 0;
	}

	// Optional probes (update visibility): while armed >= 0 the reader
	// also matches probes[armed] each turn and records when it first
	// matched.
	std::atomic<int64_t> armed{-1};
	std::atomic<int64_t> seen{-1};
	std::atomic<uint64_t> seen_ns{0};

private:
	void run()
	{
		RcuThread t;
		RcuOnline on;
		std::vector<const evr_sub *> out(k_out_cap);
		evr_match_stats ms{};
		uint64_t i = 0, now = evr_now_ms();
		int64_t last = -1;
		while (!stop_.load(std::memory_order_relaxed)) {
			// While a probe is armed and not yet seen, match only the
			// probe: the visibility resolution is then one probe match,
			// not a turn of the regular stream.
			int64_t a = probes_ ? armed.load(std::memory_order_acquire) : -1;
			if (a >= 0 && a != last) {
				uint64_t t0 = now_ns();
				uint32_t got = evr_matcher_match(f_->m, (unsigned)f_->reader_aux,
				                                 &(*probes_)[(size_t)a], now,
				                                 out.data(), k_out_cap, &ms);
				uint64_t t1 = now_ns();
				probe_ns_.fetch_add(t1 - t0, std::memory_order_relaxed);
				probe_n_.fetch_add(1, std::memory_order_relaxed);
				if (got > 0) {
					seen_ns.store(t1, std::memory_order_relaxed);
					seen.store(a, std::memory_order_release);
					last = a;
				}
			} else {
				const evr_event &ev = (*f_->events)[i & (k_events - 1)];
				evr_matcher_match(f_->m, (unsigned)f_->reader_aux, &ev, now,
				                  out.data(), k_out_cap, &ms);
			}
			if ((++i & 63) == 0) {
				done_.store(i, std::memory_order_relaxed);
				rcu_quiescent_state();
				now = evr_now_ms();
			}
		}
	}

	const EventSet *probes_; // declared (so initialised) before th_ starts
	Fixture *f_;
	std::atomic<bool> stop_{false};
	std::atomic<uint64_t> done_{0};
	std::atomic<uint64_t> probe_ns_{0};
	std::atomic<uint64_t> probe_n_{0};
	std::thread th_;
};

// Events/s of a Reader over a wall-clock window (this thread offline).
double reader_rate(const Reader &r, uint32_t ms)
{
	uint64_t c0 = r.events(), t0 = now_ns();
	usleep(ms * 1000u);
	uint64_t c1 = r.events(), t1 = now_ns();
	return (double)(c1 - c0) * 1e9 / (double)(t1 - t0);
}

void BM_churn(benchmark::State &state)
{
	uint32_t n = (uint32_t)state.range(0);
	Fixture *f = fixture(EVR_INDEX_HYBRID, n);
	if (!f->error.empty()) {
		state.SkipWithError(f->error.c_str());
		return;
	}
	RcuThread t;
	// Churn keeps a window of recent subscriptions: each pair subscribes a
	// new one and removes the oldest of the window, so removals hit
	// compiled Hyperscan databases (tombstones, merges), not only pending
	// deltas, and the live count stays at N + window.
	const uint32_t window = 1024;
	const uint64_t pairs = (uint64_t)state.max_iterations;
	std::vector<SubDef> defs;
	defs.reserve(window + pairs);
	for (uint64_t i = 0; i < window + pairs; i++)
		defs.push_back(f->gen->extra_sub(0x100000000ull + i));
	std::vector<uint64_t> ring(window);
	std::string err;
	{
		RcuOnline on;
		evr_matcher_sync(f->m); // no leftover background work from before
		for (uint32_t i = 0; i < window; i++) {
			if (subscribe_new(f->m, defs[i], i, &ring[i], &err) != 0) {
				state.SkipWithError(err.c_str());
				return;
			}
		}
		evr_matcher_sync(f->m);
	}

	Reader rd(f);
	usleep(200 * 1000); // reader warm-up (caches, scratch)
	const uint32_t idle_ms = (uint32_t)env_long("EVR_BENCH_IDLE_MS", 1000);
	double idle = reader_rate(rd, idle_ms);

	uint64_t c0 = 0, t0 = 0, c1 = 0, t1 = 0, k = 0;
	uint32_t head = 0;
	{
		RcuOnline on;
		c0 = rd.events();
		t0 = now_ns();
		for (auto _ : state) {
			uint64_t id = 0;
			SubDef &d = defs[window + k];
			if (subscribe_new(f->m, d, window + k, &id, &err) != 0) {
				state.SkipWithError(err.c_str());
				break;
			}
			int rc = evr_matcher_unsubscribe(f->m, ring[head]);
			if (rc != 0) {
				err = fmt("unsubscribe(%llu): %s", (unsigned long long)ring[head],
				          strerror(-rc));
				state.SkipWithError(err.c_str());
				break;
			}
			ring[head] = id;
			head = (head + 1) % window;
			k++;
			rcu_quiescent_state();
		}
		c1 = rd.events();
		t1 = now_ns();
		for (uint64_t id : ring)
			evr_matcher_unsubscribe(f->m, id);
	}
	double churn = t1 > t0 ? (double)(c1 - c0) * 1e9 / (double)(t1 - t0) : 0;
	state.SetItemsProcessed((int64_t)k);
	state.counters["reader_rate"] = churn;
	state.counters["reader_rate_idle"] = idle;
	state.counters["reader_loss_pct"] = idle > 0 ? 100.0 * (1.0 - churn / idle) : 0;
	state.counters["pair_us"] = k ? (double)(t1 - t0) / 1e3 / (double)k : 0;
	add_stats_counters(state, f);
}

double percentile(std::vector<double> v, double p)
{
	if (v.empty())
		return 0;
	std::sort(v.begin(), v.end());
	size_t i = (size_t)(p * (double)(v.size() - 1) + 0.5);
	return v[std::min(i, v.size() - 1)];
}

// Latency from evr_matcher_subscribe() returning to a concurrent reader
// matching the new subscription. Exact filters are visible on return, so what
// remains is the reader's own resolution: one probe match (reported as
// probe_match_us). Infix filters wait for the background thread to compile
// and publish a Hyperscan delta. A probe still invisible after
// EVR_BENCH_VISIBLE_WAIT_S (10 s) counts in `timeouts` and is left out of the
// percentiles; after 3 of them the benchmark stops and reports an error.
void update_visible(benchmark::State &state, bool infix)
{
	Fixture *f = fixture(EVR_INDEX_HYBRID, (uint32_t)state.range(0));
	if (!f->error.empty()) {
		state.SkipWithError(f->error.c_str());
		return;
	}
	RcuThread t;
	const uint64_t probes = (uint64_t)state.max_iterations;
	// Each probe has its own AOR, URI and Call-ID, so only its own
	// subscription can match its event.
	std::vector<EventDef> pdefs;
	std::vector<SubDef> psubs;
	Rng r(0x9b0be);
	for (uint64_t i = 0; i < probes; i++) {
		EventDef e = f->gen->event_for("E_UL_CONTACT_INSERT", 0, r);
		std::string aor = fmt("probe%07u@visible.example.net", (unsigned)i);
		for (AttrDef &a : e.attrs) {
			if (a.name == "aor")
				a.value = aor;
			else if (a.name == "uri")
				a.value = "sip:" + aor;
			else if (a.name == "callid")
				a.value = fmt("probe-%llu@visible.example.net", (unsigned long long)i);
		}
		pdefs.push_back(e);
		SubDef s;
		s.event = "E_UL_CONTACT_INSERT";
		// The infix probe has no literal run of 8+ bytes, so the hybrid
		// index cannot take it through its substring (q-gram) hash and
		// must compile it into Hyperscan: that publication path is what
		// this measures (hs_indexed below checks it).
		s.filters.push_back(infix ? fmt("aor=p?obe%03u?%03u@*", (unsigned)(i / 10000 % 1000),
		                                (unsigned)(i % 1000))
		                          : "aor=" + aor);
		s.dest = Gen::dest(7);
		psubs.push_back(s);
	}
	EventSet pev(pdefs);
	{
		// Start from a quiet matcher: Hyperscan work left by an earlier
		// benchmark (churn tombstones, merges) is not this one's latency.
		RcuOnline on;
		evr_matcher_sync(f->m);
	}

	evr_matcher_stats st0{}, st1{};
	{
		RcuOnline on;
		evr_matcher_get_stats(f->m, &st0);
	}
	Reader rd(f, &pev);
	usleep(100 * 1000);
	const uint64_t wait_limit_ns =
	        (uint64_t)env_long("EVR_BENCH_VISIBLE_WAIT_S", 10) * 1000000000ull;
	std::vector<double> lat_us;
	lat_us.reserve(probes);
	uint64_t i = 0, on_return = 0, timeouts = 0;
	std::string err;
	for (auto _ : state) {
		rd.armed.store((int64_t)i, std::memory_order_release);
		uint64_t id = 0, t_ret;
		{
			RcuOnline on;
			if (subscribe_new(f->m, psubs[i], i, &id, &err) != 0) {
				state.SkipWithError(err.c_str());
				break;
			}
			t_ret = now_ns();
			if (i == 0)
				evr_matcher_get_stats(f->m, &st1);
		}
		// Offline while waiting; poll gently so the background compiler
		// (infix) gets a core on this 2-core budget.
		uint64_t spin = 0;
		while (rd.seen.load(std::memory_order_acquire) != (int64_t)i) {
			if (now_ns() - t_ret > wait_limit_ns)
				break;
			if (++spin > 200)
				usleep(20);
		}
		if (rd.seen.load(std::memory_order_acquire) == (int64_t)i) {
			uint64_t seen = rd.seen_ns.load(std::memory_order_relaxed);
			if (seen <= t_ret)
				on_return++;
			lat_us.push_back(seen > t_ret ? (double)(seen - t_ret) / 1e3 : 0.0);
		} else {
			timeouts++;
		}
		{
			RcuOnline on;
			evr_matcher_unsubscribe(f->m, id);
		}
		i++;
		if (timeouts >= 3) {
			err = fmt("%llu of %llu probes (%s) not visible after %llu s",
			          (unsigned long long)timeouts, (unsigned long long)i,
			          psubs[i - 1].filters[0].c_str(),
			          (unsigned long long)(wait_limit_ns / 1000000000ull));
			state.SkipWithError(err.c_str());
			break;
		}
	}
	rd.armed.store(-1, std::memory_order_release);
	if (lat_us.empty())
		return;
	double p50 = percentile(lat_us, 0.50), p99 = percentile(lat_us, 0.99);
	double mx = *std::max_element(lat_us.begin(), lat_us.end());
	if (infix) {
		state.counters["p50_ms"] = p50 / 1e3;
		state.counters["p99_ms"] = p99 / 1e3;
		state.counters["max_ms"] = mx / 1e3;
	} else {
		state.counters["p50_us"] = p50;
		state.counters["p99_us"] = p99;
		state.counters["max_us"] = mx;
	}
	state.counters["timeouts"] = (double)timeouts;
	// 1 when the first probe went to Hyperscan (live hs patterns grew).
	state.counters["hs_indexed"] = (double)st1.hs_patterns - (double)st0.hs_patterns;
	state.counters["probe_match_us"] = rd.probe_match_us();
	state.counters["on_return_pct"] = 100.0 * (double)on_return / (double)lat_us.size();
}

// OpenSIPS' event_subscribe with expire 0 removes a socket's subscription
// to an event (evr_matcher_unsubscribe_dest): the time one call holds the
// writer lock (so stalls the control thread) with N others live. Each
// iteration adds one subscription (untimed) and removes it by event and
// destination (timed).
void BM_unsubscribe_dest(benchmark::State &state)
{
	Fixture *f = fixture(EVR_INDEX_HYBRID, (uint32_t)state.range(0));
	if (!f->error.empty()) {
		state.SkipWithError(f->error.c_str());
		return;
	}
	RcuThread t;
	RcuOnline on;
	std::string err;
	uint32_t k = 0;
	for (auto _ : state) {
		SubDef d;
		d.event = "E_UNSUB_BENCH";
		d.dest = Gen::dest(0x300000u + k++);
		if (subscribe_new(f->m, d, k, nullptr, &err) != 0) {
			state.SkipWithError(err.c_str());
			break;
		}
		uint64_t t0 = now_ns();
		int rc = evr_matcher_unsubscribe_dest(f->m, d.event.c_str(), nullptr, d.dest.c_str());
		uint64_t t1 = now_ns();
		if (rc != 1) {
			err = fmt("unsubscribe_dest(%s): %d", d.dest.c_str(), rc);
			state.SkipWithError(err.c_str());
			break;
		}
		state.SetIterationTime((double)(t1 - t0) / 1e9);
		rcu_quiescent_state();
	}
}

void BM_update_visible_exact(benchmark::State &s) { update_visible(s, false); }
void BM_update_visible_infix(benchmark::State &s) { update_visible(s, true); }

} // namespace

namespace evr_bench {
void release_fixtures() { g_fixtures.clear(); }
} // namespace evr_bench

// Sizes: EVR_BENCH_MAX_N caps N (bench/run.sh quick runs); the naive twin
// stops at 100k, where one event already walks 100k filters.
static void match_sizes(benchmark::internal::Benchmark *b, long cap)
{
	long max_n = env_long("EVR_BENCH_MAX_N", 1000000);
	for (long n : {1000L, 10000L, 100000L, 1000000L})
		if (n <= max_n && n <= cap)
			b->Arg(n);
}

// Manual time throughout: only the match is timed, not the staging of the
// events (decode's job in the worker) nor the cache eviction.
BENCHMARK(BM_match)
	->Apply([](benchmark::internal::Benchmark *b) { match_sizes(b, 1000000); })
	->UseManualTime();
BENCHMARK(BM_match_single)
	->Apply([](benchmark::internal::Benchmark *b) { match_sizes(b, 1000000); })
	->UseManualTime();
BENCHMARK(BM_match_unstaged)
	->Apply([](benchmark::internal::Benchmark *b) { match_sizes(b, 1000000); })
	->UseManualTime();
BENCHMARK(BM_match_cold)
	->Apply([](benchmark::internal::Benchmark *b) {
		for (long n : {100000L, 1000000L})
			if (n <= env_long("EVR_BENCH_MAX_N", 1000000))
				b->Arg(n);
	})
	->UseManualTime();
BENCHMARK(BM_match_naive)
	->Apply([](benchmark::internal::Benchmark *b) { match_sizes(b, 100000); })
	->UseManualTime();
BENCHMARK(BM_unsubscribe_dest)
	->Apply([](benchmark::internal::Benchmark *b) { match_sizes(b, 1000000); })
	->UseManualTime()
	->Unit(benchmark::kMicrosecond);

// Fixed iteration counts: these functions run a reader thread and measure
// around the loop, so they must run exactly once (no iteration sizing).
BENCHMARK(BM_churn)
	->Arg(big_n())
	->Iterations(env_long("EVR_BENCH_CHURN_PAIRS", 20000))
	->UseRealTime()
	->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_update_visible_exact)
	->Name("BM_update_visible/exact")
	->Arg(big_n())
	->Iterations(env_long("EVR_BENCH_VISIBLE_PROBES", 2000))
	->UseRealTime()
	->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_update_visible_infix)
	->Name("BM_update_visible/infix")
	->Arg(big_n())
	->Iterations(env_long("EVR_BENCH_VISIBLE_HS_PROBES", 200))
	->UseRealTime()
	->Unit(benchmark::kMillisecond);
