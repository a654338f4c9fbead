// SPDX-License-Identifier: Apache-2.0
//
// SIP ingest benchmarks on the realistic message mix of
// bench/sip/gen_sip_pcap.py (REGISTER flows with digest challenge, refresh
// and unregister; INVITE dialogs answered / 183 / busy / cancelled; INVITEs
// with SDP ~850-1250 bytes), one thread, no EAL:
//   BM_sip_parse          evr_sip_parse over the whole mix, in capture order
//   BM_sip_parse_invite   evr_sip_parse of the largest INVITE (SDP) alone
//   BM_hep_parse          evr_hep_parse + evr_sip_parse of the payload, the
//                         mix wrapped in HEPv3 (when evr_hep.h is built)
//   BM_sip_state          evr_sip_parse + evr_sip_state_input (dialog and
//                         registration state, event derivation) over the
//                         mix, with counters derived_events/s (when
//                         evr_sip_state.h is built); on the capture's clock,
//                         so every pass starts new dialogs (dup = 0)
//   BM_sip_state_replay   the same under bench/sip/run.sh's conditions:
//                         real clock, linger 5 ms, the table sizes of its
//                         "timers" and "recycle" phases, evr_sip_state_tick at
//                         evrd's cadence (every 100 us; also 10 ms, evrd's
//                         cadence before 9fdd84c); its dup /
//                         events_per_msg counters show whether the timers
//                         keep up with the message rate
// items_per_second is SIP messages; bytes_per_second is SIP bytes.
//
// The capture: $EVR_BENCH_SIP_PCAP when set (any classic pcap of UDP SIP,
// IPv4/IPv6, unfragmented), else the generator is run once into a temporary
// file (python3; found next to the sources: bench/sip/gen_sip_pcap.py) with
// $EVR_BENCH_SIP_REGS registration flows and $EVR_BENCH_SIP_CALLS dialogs
// (defaults 2000 / 1500: ~20k messages, ~13 MB of working set, larger than
// L2 as a mirror port's stream is).
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench_common.h"
#include "sip/evr_sip.h"

#include "sip/evr_hep.h"
#include "sip/state/evr_sip_state.h"

using namespace evr_bench;

namespace {

struct SipMsg {
	uint32_t off, len;
	struct evr_sip_flow flow;
};

// The message mix: payloads back to back in one buffer, capture order.
struct SipMix {
	std::string data;
	std::vector<SipMsg> msgs;
	std::string source; // where it came from (for the error message)
	std::string error;

	const char *p(const SipMsg &m) const { return data.data() + m.off; }
};

bool file_exists(const std::string &p) { return access(p.c_str(), R_OK) == 0; }

std::string dir_of(const std::string &p)
{
	size_t k = p.rfind('/');
	return k == std::string::npos ? std::string(".") : p.substr(0, k);
}

// bench/sip/gen_sip_pcap.py: __FILE__ is relative to the build root when
// meson compiles (ninja runs there) and the binary is <build>/bench/evr_bench;
// also try the working directory (bench/run.sh runs from the source root).
std::string find_generator()
{
	std::vector<std::string> cand;
	std::string here = dir_of(__FILE__);
	if (!here.empty() && here[0] == '/') {
		cand.push_back(here + "/sip/gen_sip_pcap.py");
	} else {
		char exe[4096];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n > 0) {
			exe[n] = 0;
			std::string build = dir_of(dir_of(exe));
			cand.push_back(build + "/" + here + "/sip/gen_sip_pcap.py");
		}
	}
	cand.push_back("bench/sip/gen_sip_pcap.py");
	for (auto &c : cand)
		if (file_exists(c))
			return c;
	return "";
}

uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

// Classic pcap (either byte order, usec or nsec), Ethernet (+ one VLAN tag),
// IPv4 / IPv6 without extension headers, UDP; fragments are skipped.
bool read_pcap(const std::string &path, SipMix &mix, uint16_t only_dport = 0)
{
	FILE *f = fopen(path.c_str(), "rb");
	if (!f) {
		mix.error = "cannot open " + path;
		return false;
	}
	std::unique_ptr<FILE, int (*)(FILE *)> closer(f, fclose);
	uint8_t gh[24];
	if (fread(gh, 1, sizeof(gh), f) != sizeof(gh)) {
		mix.error = path + ": short pcap header";
		return false;
	}
	uint32_t magic;
	memcpy(&magic, gh, 4);
	bool swap;
	bool nsec;
	if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du) {
		swap = false;
		nsec = magic == 0xa1b23c4du;
	} else if (magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u) {
		swap = true;
		nsec = magic == 0x4d3cb2a1u;
	} else {
		mix.error = path + ": not a classic pcap";
		return false;
	}
	auto u32 = [&](const uint8_t *p) {
		uint32_t v;
		memcpy(&v, p, 4);
		return swap ? __builtin_bswap32(v) : v;
	};
	std::vector<uint8_t> fr(262144);
	uint8_t rh[16];
	while (fread(rh, 1, sizeof(rh), f) == sizeof(rh)) {
		uint32_t sec = u32(rh), frac = u32(rh + 4), caplen = u32(rh + 8);
		if (caplen > fr.size() || fread(fr.data(), 1, caplen, f) != caplen) {
			mix.error = path + ": truncated record";
			return false;
		}
		const uint8_t *p = fr.data();
		size_t n = caplen, off = 12;
		if (n < 14)
			continue;
		uint16_t et = rd16(p + off);
		if (et == 0x8100 && n >= 18) {
			off += 4;
			et = rd16(p + off);
		}
		off += 2;
		SipMsg m{};
		const uint8_t *u;
		size_t ulen;
		if (et == 0x0800 && n >= off + 20) {
			const uint8_t *ip = p + off;
			size_t ihl = (ip[0] & 15) * 4u, tot = rd16(ip + 2);
			if (ip[9] != 17 || (rd16(ip + 6) & 0x3fff) || tot > n - off || tot < ihl + 8)
				continue;
			m.flow.family = 4;
			memcpy(m.flow.src, ip + 12, 4);
			memcpy(m.flow.dst, ip + 16, 4);
			u = ip + ihl;
			ulen = tot - ihl;
		} else if (et == 0x86dd && n >= off + 48) {
			const uint8_t *ip = p + off;
			size_t pl = rd16(ip + 4);
			if (ip[6] != 17 || pl > n - off - 40 || pl < 8)
				continue;
			m.flow.family = 6;
			memcpy(m.flow.src, ip + 8, 16);
			memcpy(m.flow.dst, ip + 24, 16);
			u = ip + 40;
			ulen = pl;
		} else {
			continue;
		}
		size_t ul = rd16(u + 4);
		if (ul < 8 || ul > ulen)
			continue;
		m.flow.sport = rd16(u);
		m.flow.dport = rd16(u + 2);
		if (only_dport && m.flow.dport != only_dport)
			continue;
		m.flow.ts_us = (uint64_t)sec * 1000000u + (nsec ? frac / 1000u : frac);
		m.off = (uint32_t)mix.data.size();
		m.len = (uint32_t)(ul - 8);
		mix.data.append((const char *)u + 8, m.len);
		mix.msgs.push_back(m);
	}
	if (mix.msgs.empty()) {
		mix.error = path + ": no UDP datagrams";
		return false;
	}
	mix.source = path;
	return true;
}

// Generate (or read) the capture once per process.
const SipMix &sip_mix()
{
	static SipMix mix = [] {
		SipMix m;
		std::string path;
		const char *env = getenv("EVR_BENCH_SIP_PCAP");
		std::string tmp;
		if (env && *env) {
			path = env;
		} else {
			std::string gen = find_generator();
			if (gen.empty()) {
				m.error = "bench/sip/gen_sip_pcap.py not found (set EVR_BENCH_SIP_PCAP)";
				return m;
			}
			char t[] = "/tmp/evr-bench-sip.XXXXXX";
			int fd = mkstemp(t);
			if (fd < 0) {
				m.error = "mkstemp failed";
				return m;
			}
			close(fd);
			tmp = path = t;
			std::string cmd = "python3 '" + gen + "' --out '" + path + "' --seed 4" +
			                  " --registrations " + std::to_string(env_long("EVR_BENCH_SIP_REGS", 2000)) +
			                  " --calls " + std::to_string(env_long("EVR_BENCH_SIP_CALLS", 1500)) +
			                  " >/dev/null 2>&1";
			if (system(cmd.c_str()) != 0) {
				m.error = "generator failed: " + cmd;
				unlink(tmp.c_str());
				return m;
			}
		}
		read_pcap(path, m);
		if (!tmp.empty())
			unlink(tmp.c_str());
		return m;
	}();
	return mix;
}

bool mix_or_skip(benchmark::State &state, const SipMix &mix)
{
	if (!mix.error.empty()) {
		state.SkipWithError(mix.error.c_str());
		return false;
	}
	return true;
}

// Every message must parse: a benchmark of the refusal path would be a lie.
bool check_parse(benchmark::State &state, const SipMix &mix, struct evr_sip_msg *msg)
{
	for (const SipMsg &m : mix.msgs) {
		enum evr_sip_status st = evr_sip_parse(mix.p(m), m.len, msg);
		if (st != EVR_SIP_OK) {
			std::string e = "message at offset " + std::to_string(m.off) +
			                " does not parse: " + evr_sip_status_name(st);
			state.SkipWithError(e.c_str());
			return false;
		}
	}
	return true;
}

void BM_sip_parse(benchmark::State &state)
{
	const SipMix &mix = sip_mix();
	if (!mix_or_skip(state, mix))
		return;
	auto msg = std::make_unique<struct evr_sip_msg>();
	if (!check_parse(state, mix, msg.get()))
		return;
	size_t i = 0, n = mix.msgs.size();
	int64_t bytes = 0;
	for (auto _ : state) {
		const SipMsg &m = mix.msgs[i];
		enum evr_sip_status st = evr_sip_parse(mix.p(m), m.len, msg.get());
		benchmark::DoNotOptimize(st);
		benchmark::DoNotOptimize(msg->call_id.p);
		bytes += m.len;
		if (++i == n)
			i = 0;
	}
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(bytes);
	state.counters["mix_msgs"] = (double)n;
	state.counters["avg_bytes"] = (double)mix.data.size() / (double)n;
}

void BM_sip_parse_invite(benchmark::State &state)
{
	const SipMix &mix = sip_mix();
	if (!mix_or_skip(state, mix))
		return;
	auto msg = std::make_unique<struct evr_sip_msg>();
	const SipMsg *big = nullptr;
	for (const SipMsg &m : mix.msgs)
		if (m.len > 7 && memcmp(mix.p(m), "INVITE ", 7) == 0 && (!big || m.len > big->len))
			big = &m;
	if (!big) {
		state.SkipWithError("no INVITE in the capture");
		return;
	}
	if (evr_sip_parse(mix.p(*big), big->len, msg.get()) != EVR_SIP_OK) {
		state.SkipWithError("the INVITE does not parse");
		return;
	}
	for (auto _ : state) {
		enum evr_sip_status st = evr_sip_parse(mix.p(*big), big->len, msg.get());
		benchmark::DoNotOptimize(st);
		benchmark::DoNotOptimize(msg->body.p);
	}
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * (int64_t)big->len);
	state.counters["bytes"] = (double)big->len;
	state.counters["headers"] = (double)msg->n_headers;
}

// The mix wrapped in HEPv3 (evr_hep_build, as a capture agent sends it).
void BM_hep_parse(benchmark::State &state)
{
	const SipMix &mix = sip_mix();
	if (!mix_or_skip(state, mix))
		return;
	std::string hep;
	std::vector<std::pair<uint32_t, uint32_t>> pk;
	std::vector<char> buf(70000);
	for (const SipMsg &m : mix.msgs) {
		struct evr_hep h {};
		h.ip_proto = 17;
		h.proto_type = EVR_HEP_PROTO_SIP;
		h.capture_id = 2001;
		h.flow = m.flow;
		h.ts_sec = (uint32_t)(m.flow.ts_us / 1000000u);
		h.ts_usec = (uint32_t)(m.flow.ts_us % 1000000u);
		h.payload.p = mix.p(m);
		h.payload.len = m.len;
		int n = evr_hep_build(&h, buf.data(), buf.size());
		if (n <= 0) {
			state.SkipWithError("evr_hep_build failed");
			return;
		}
		pk.emplace_back((uint32_t)hep.size(), (uint32_t)n);
		hep.append(buf.data(), (size_t)n);
	}
	auto msg = std::make_unique<struct evr_sip_msg>();
	for (auto &x : pk) {
		struct evr_hep h;
		if (evr_hep_parse(hep.data() + x.first, x.second, &h) != EVR_HEP_OK ||
		    evr_sip_parse(h.payload.p, h.payload.len, msg.get()) != EVR_SIP_OK) {
			state.SkipWithError("a HEP packet of the mix does not decode");
			return;
		}
	}
	size_t i = 0, n = pk.size();
	int64_t bytes = 0;
	const bool with_sip = state.range(0) != 0;
	for (auto _ : state) {
		struct evr_hep h;
		enum evr_hep_status st = evr_hep_parse(hep.data() + pk[i].first, pk[i].second, &h);
		benchmark::DoNotOptimize(st);
		if (with_sip) {
			enum evr_sip_status s2 = evr_sip_parse(h.payload.p, h.payload.len, msg.get());
			benchmark::DoNotOptimize(s2);
		}
		benchmark::DoNotOptimize(h.payload.p);
		bytes += pk[i].second;
		if (++i == n)
			i = 0;
	}
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(bytes);
	state.SetLabel(with_sip ? "hep+sip" : "hep only");
}

struct EmitCount {
	uint64_t events = 0;
	uint64_t attrs = 0;
};

void count_event(void *arg, const struct evr_event *ev)
{
	auto *c = static_cast<EmitCount *>(arg);
	c->events++;
	c->attrs += ev->n_attrs;
}

// Parse + state over the mix, in capture order, on the capture's own clock:
// each pass of the mix is shifted by (capture span + linger + 1 s), so the
// previous pass's dialogs and REGISTER transactions have been reaped and
// its Call-IDs start new dialogs, as new calls would. evr_sip_state_tick runs
// whenever that clock crosses a 10 ms boundary (evrd calls it every ~10 ms).
// range(0): 0 = both event families, 1 = OpenSIPS only, 2 = FreeSWITCH only.
void BM_sip_state(benchmark::State &state)
{
	const SipMix &mix = sip_mix();
	if (!mix_or_skip(state, mix))
		return;
	auto msg = std::make_unique<struct evr_sip_msg>();
	if (!check_parse(state, mix, msg.get()))
		return;
	struct evr_sip_state_conf conf;
	evr_sip_state_conf_default(&conf);
	static const uint32_t fam[] = {EVR_SIP_STATE_OPENSIPS | EVR_SIP_STATE_FREESWITCH,
	                               EVR_SIP_STATE_OPENSIPS, EVR_SIP_STATE_FREESWITCH};
	conf.families = fam[state.range(0)];
	struct evr_sip_state *st = evr_sip_state_create(&conf, nullptr);
	if (!st) {
		state.SkipWithError("evr_sip_state_create failed");
		return;
	}
	uint64_t t0 = mix.msgs.front().flow.ts_us, t1 = mix.msgs.back().flow.ts_us;
	uint64_t period_ms = (t1 - t0) / 1000 + conf.linger_ms + 1000;
	EmitCount ec;
	size_t i = 0, n = mix.msgs.size();
	uint64_t pass = 0, next_tick = 10, bytes = 0, ticks = 0;
	struct evr_sip_flow f;
	for (auto _ : state) {
		const SipMsg &m = mix.msgs[i];
		uint64_t now = (m.flow.ts_us - t0) / 1000 + pass * period_ms;
		if (now >= next_tick) {
			evr_sip_state_tick(st, now, t0 + now * 1000, count_event, &ec);
			next_tick = now - now % 10 + 10;
			ticks++;
		}
		enum evr_sip_status s = evr_sip_parse(mix.p(m), m.len, msg.get());
		if (s == EVR_SIP_OK) {
			f = m.flow;
			f.ts_us = t0 + now * 1000;
			evr_sip_state_input(st, msg.get(), &f, now, count_event, &ec);
		}
		bytes += m.len;
		if (++i == n) {
			i = 0;
			pass++;
			// reap the finished pass (the budget bounds one tick call)
			now = pass * period_ms;
			for (int k = 0; k < 256; k++)
				evr_sip_state_tick(st, now, t0 + now * 1000, count_event, &ec);
			next_tick = now + 10;
		}
	}
	const struct evr_sip_state_stats *ss = evr_sip_state_stats(st);
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed((int64_t)bytes);
	state.counters["events_per_s"] =
	        benchmark::Counter((double)ec.events, benchmark::Counter::kIsRate);
	state.counters["events_per_msg"] = (double)ec.events / (double)state.iterations();
	state.counters["attrs_per_event"] = ec.events ? (double)ec.attrs / (double)ec.events : 0;
	state.counters["passes"] = (double)pass;
	state.counters["ticks"] = (double)ticks;
	// Health of the run: a mix the state machine did not follow would
	// make these non-zero (the capture has no retransmissions or strays).
	state.counters["dup"] = (double)(ss->c[EVR_SIP_STATE_DUP_REQUEST] + ss->c[EVR_SIP_STATE_DUP_RESPONSE]);
	state.counters["orphan"] =
	        (double)(ss->c[EVR_SIP_STATE_ORPHAN_REQUEST] + ss->c[EVR_SIP_STATE_ORPHAN_RESPONSE]);
	state.counters["evicted"] = (double)(ss->c[EVR_SIP_STATE_DIALOG_EVICTED] +
	                                     ss->c[EVR_SIP_STATE_CONTACT_EVICTED] +
	                                     ss->c[EVR_SIP_STATE_REG_TXN_EVICTED]);
	static const char *const fam_name[] = {"both", "opensips", "freeswitch"};
	state.SetLabel(fam_name[state.range(0)]);
	evr_sip_state_destroy(st);
}

// The appliance benchmark's conditions in-process: the mix replayed in a
// loop on the real monotonic clock, sip.linger_ms = range(0) ms,
// max_dialogs / max_registrations = range(1) / range(2), and
// evr_sip_state_tick (at most EVR_SIP_STATE_TICK_BUDGET expirations each) called
// every range(3) us, as evrd's worker does (evr_sipio.c TICK_HZ: 100 us
// since 9fdd84c, 10 ms before). Compare its counters with BM_sip_state's
// to see what the timer cadence does to the state.
void BM_sip_state_replay(benchmark::State &state)
{
	const SipMix &mix = sip_mix();
	if (!mix_or_skip(state, mix))
		return;
	auto msg = std::make_unique<struct evr_sip_msg>();
	if (!check_parse(state, mix, msg.get()))
		return;
	struct evr_sip_state_conf conf;
	evr_sip_state_conf_default(&conf);
	conf.linger_ms = (uint32_t)state.range(0);
	conf.max_dialogs = (uint32_t)state.range(1);
	conf.max_registrations = (uint32_t)state.range(2);
	struct evr_sip_state *st = evr_sip_state_create(&conf, nullptr);
	if (!st) {
		state.SkipWithError("evr_sip_state_create failed");
		return;
	}
	EmitCount ec;
	size_t i = 0, n = mix.msgs.size();
	uint64_t bytes = 0, ticks = 0, pass = 0;
	const uint64_t t0 = now_ns(), tick_ns = (uint64_t)state.range(3) * 1000u;
	uint64_t next_tick_ns = t0;
	struct evr_sip_flow f;
	for (auto _ : state) {
		const SipMsg &m = mix.msgs[i];
		uint64_t ns = now_ns(), now = (ns - t0) / 1000000u;
		if (ns >= next_tick_ns) {
			evr_sip_state_tick(st, now, mix.msgs.front().flow.ts_us + now * 1000, count_event, &ec);
			next_tick_ns = ns + tick_ns;
			ticks++;
		}
		if (evr_sip_parse(mix.p(m), m.len, msg.get()) == EVR_SIP_OK) {
			f = m.flow;
			f.ts_us = mix.msgs.front().flow.ts_us + now * 1000;
			evr_sip_state_input(st, msg.get(), &f, now, count_event, &ec);
		}
		bytes += m.len;
		if (++i == n) {
			i = 0;
			pass++;
		}
	}
	const struct evr_sip_state_stats *ss = evr_sip_state_stats(st);
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed((int64_t)bytes);
	state.counters["events_per_s"] =
	        benchmark::Counter((double)ec.events, benchmark::Counter::kIsRate);
	state.counters["events_per_msg"] = (double)ec.events / (double)state.iterations();
	state.counters["passes"] = (double)pass;
	state.counters["ticks"] = (double)ticks;
	state.counters["dup"] = (double)(ss->c[EVR_SIP_STATE_DUP_REQUEST] + ss->c[EVR_SIP_STATE_DUP_RESPONSE]);
	state.counters["orphan"] =
	        (double)(ss->c[EVR_SIP_STATE_ORPHAN_REQUEST] + ss->c[EVR_SIP_STATE_ORPHAN_RESPONSE]);
	state.counters["absorbed"] = (double)ss->c[EVR_SIP_STATE_ABSORBED];
	state.counters["evicted"] = (double)(ss->c[EVR_SIP_STATE_DIALOG_EVICTED] +
	                                     ss->c[EVR_SIP_STATE_CONTACT_EVICTED] +
	                                     ss->c[EVR_SIP_STATE_REG_TXN_EVICTED]);
	state.counters["dialogs"] = (double)ss->dialogs;
	state.counters["contacts"] = (double)ss->registrations;
	evr_sip_state_destroy(st);
}

} // namespace

BENCHMARK(BM_sip_parse);
BENCHMARK(BM_sip_parse_invite);
BENCHMARK(BM_hep_parse)->Arg(0)->Arg(1);
BENCHMARK(BM_sip_state)->Arg(0)->Arg(1)->Arg(2);
BENCHMARK(BM_sip_state_replay)
        ->Args({5, 200000, 200000, 100})   // bench/sip/run.sh "timers" phase
        ->Args({5, 1024, 32768, 100})      // its "recycle" phase
        ->Args({5, 200000, 200000, 10000}) // "timers" with evrd's old 10 ms ticks
        ->MinTime(3);
