// SPDX-License-Identifier: Apache-2.0
//
// Codec benchmarks on the realistic event of bench_gen.h (an OpenSIPS
// E_UL_CONTACT_INSERT-like event, 10 attributes):
//   BM_decode_{jsonrpc,plain,json}  wire bytes -> struct evr_event
//   BM_encode_{jsonrpc,plain,json}  struct evr_event -> notification bytes
// bytes_per_second counts input bytes for decoders and output bytes for
// encoders; items_per_second is events.
//
// The wire input is rendered by bench_gen.h, not by the encoders under test,
// so a decoder benchmark does not depend on the encoder being right.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench_common.h"
#include "bench_gen.h"
#include "codec/evr_decode.h"
#include "codec/evr_encode.h"

using namespace evr_bench;

namespace {

EventDef realistic_event()
{
	Gen g(1000);
	Rng r(42);
	return g.event_for("E_UL_CONTACT_INSERT", 1234 % g.n_users(), r);
}

typedef enum evr_decode_status (*decode_fn)(const char *, size_t, struct evr_scratch *);

void decode_bench(benchmark::State &state, decode_fn fn, const std::string &wire)
{
	evr_limits lim;
	evr_limits_default(&lim);
	evr_scratch s;
	int rc = evr_scratch_init(&s, &lim);
	if (rc != 0) {
		state.SkipWithError("evr_scratch_init failed");
		return;
	}
	// Decode once outside the loop so a decoder that refuses the input is
	// reported instead of benchmarked.
	enum evr_decode_status st = fn(wire.data(), wire.size(), &s);
	if (st != EVR_DEC_OK) {
		std::string e = std::string("decode failed: ") + evr_decode_status_name(st);
		state.SkipWithError(e.c_str());
		evr_scratch_fini(&s);
		return;
	}
	state.counters["attrs"] = (double)s.ev.n_attrs;
	for (auto _ : state) {
		st = fn(wire.data(), wire.size(), &s);
		benchmark::DoNotOptimize(st);
		benchmark::DoNotOptimize(s.ev.attrs);
	}
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * (int64_t)wire.size());
	state.counters["bytes"] = (double)wire.size();
	evr_scratch_fini(&s);
}

void BM_decode_jsonrpc(benchmark::State &state)
{
	decode_bench(state, evr_decode_jsonrpc, render_jsonrpc(realistic_event()));
}
void BM_decode_plain(benchmark::State &state)
{
	decode_bench(state, evr_decode_plain, render_plain(realistic_event()));
}
void BM_decode_json(benchmark::State &state)
{
	decode_bench(state, evr_decode_json, render_json(realistic_event()));
}

void encode_bench(benchmark::State &state, enum evr_format fmt)
{
	std::vector<EventDef> defs{realistic_event()};
	EventSet evs(defs);
	std::vector<char> out(EVR_UDP_MAX_PAYLOAD);
	uint64_t seq = 1;
	int n = evr_encode(fmt, &evs[0], seq, out.data(), out.size());
	if (n <= 0) {
		state.SkipWithError("encode failed");
		return;
	}
	int64_t bytes = 0;
	for (auto _ : state) {
		n = evr_encode(fmt, &evs[0], ++seq, out.data(), out.size());
		benchmark::DoNotOptimize(n);
		benchmark::ClobberMemory();
		bytes += n;
	}
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(bytes);
	state.counters["bytes"] = (double)n;
}

void BM_encode_jsonrpc(benchmark::State &state) { encode_bench(state, EVR_FMT_JSONRPC); }
void BM_encode_plain(benchmark::State &state) { encode_bench(state, EVR_FMT_PLAIN); }
void BM_encode_json(benchmark::State &state) { encode_bench(state, EVR_FMT_JSON); }

} // namespace

BENCHMARK(BM_decode_jsonrpc);
BENCHMARK(BM_decode_plain);
BENCHMARK(BM_decode_json);
BENCHMARK(BM_encode_jsonrpc);
BENCHMARK(BM_encode_plain);
BENCHMARK(BM_encode_json);
