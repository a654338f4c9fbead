// SPDX-License-Identifier: Apache-2.0
/*
 * Workload for the appliance benchmark (bench/appliance/run.sh), from the
 * same generator as the matcher benchmarks (bench/bench_gen.h), so the
 * appliance and the matcher are measured on one subscription/event mix.
 *
 *   gen N_SUBS N_EVENTS N_CHURN OUTDIR
 *
 * writes
 *   OUTDIR/subs.jsonl    N_SUBS evr_subscribe requests, one per line
 *                        (JSON-RPC 2.0, ids 1..N), jsonrpc format
 *   OUTDIR/churn.jsonl   N_CHURN more subscriptions of the same mix
 *                        (Gen::extra_sub), params objects only
 *   OUTDIR/events.pcap   N_EVENTS Ethernet/IPv4/UDP frames, each one
 *                        OpenSIPS E_UL_CONTACT_INSERT JSON-RPC event
 *                        (Gen::event_for, user uniform), checksums valid
 *   OUTDIR/gen.json      sizes, expected notifications per event
 *
 * Frames go from 198.19.1.10:5060 (02:00:00:00:00:0a) to the listener
 * 198.19.1.1:8090 (02:00:00:00:00:01), the addresses run.sh configures.
 * Header-only use of bench_gen.h: no evr library is linked.
 */
#include <arpa/inet.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_gen.h"

using evr_bench::EventDef;
using evr_bench::Gen;
using evr_bench::Rng;
using evr_bench::SubDef;

static std::string jstr(const std::string &s)
{
	std::string o = "\"";
	for (unsigned char c : s) {
		if (c == '"' || c == '\\') {
			o += '\\';
			o += (char)c;
		} else if (c < 0x20) {
			char b[8];
			snprintf(b, sizeof(b), "\\u%04x", c);
			o += b;
		} else {
			o += (char)c;
		}
	}
	return o + "\"";
}

static std::string sub_params(const SubDef &d)
{
	std::string o = "{\"event\":" + jstr(d.event) + ",\"socket\":" + jstr(d.dest) +
	                ",\"expire\":86400,\"format\":\"jsonrpc\",\"filters\":[";
	for (size_t i = 0; i < d.filters.size(); i++)
		o += (i ? "," : "") + jstr(d.filters[i]);
	return o + "]}";
}

/* OpenSIPS event_datagram payload: {"jsonrpc","method","params"}, numbers
 * unquoted, compact. */
static std::string event_payload(const EventDef &e)
{
	std::string o = "{\"jsonrpc\":\"2.0\",\"method\":" + jstr(e.name) + ",\"params\":{";
	for (size_t i = 0; i < e.attrs.size(); i++) {
		o += (i ? "," : "") + jstr(e.attrs[i].name) + ":";
		o += e.attrs[i].literal ? e.attrs[i].value : jstr(e.attrs[i].value);
	}
	return o + "}}";
}

static uint16_t csum(const uint8_t *p, size_t n, uint32_t s = 0)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)(p[n - 1] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static std::vector<uint8_t> frame(const std::string &payload)
{
	static const uint8_t dmac[6] = {2, 0, 0, 0, 0, 1}, smac[6] = {2, 0, 0, 0, 0, 0x0a};
	uint32_t src = htonl(0xc613010a), dst = htonl(0xc6130101); /* 198.19.1.10/.1 */
	size_t ulen = 8 + payload.size(), tot = 20 + ulen;
	std::vector<uint8_t> f(14 + tot);
	uint8_t *p = f.data();

	memcpy(p, dmac, 6);
	memcpy(p + 6, smac, 6);
	p[12] = 0x08;
	p[13] = 0x00;
	uint8_t *ip = p + 14;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	uint16_t c = csum(ip, 20);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	uint8_t *u = ip + 20;
	u[0] = 5060 >> 8;
	u[1] = 5060 & 0xff;
	u[2] = 8090 >> 8;
	u[3] = 8090 & 0xff;
	u[4] = (uint8_t)(ulen >> 8);
	u[5] = (uint8_t)ulen;
	memcpy(u + 8, payload.data(), payload.size());
	/* pseudo header sum, then the UDP header + payload */
	uint32_t ps = 0;
	for (int i = 0; i < 8; i += 2)
		ps += (uint32_t)(ip[12 + i] << 8 | ip[13 + i]);
	ps += 17 + (uint32_t)ulen;
	c = csum(u, ulen, ps);
	if (c == 0)
		c = 0xffff;
	u[6] = (uint8_t)(c >> 8);
	u[7] = (uint8_t)c;
	return f;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: gen N_SUBS N_EVENTS N_CHURN OUTDIR\n");
		return 2;
	}
	uint32_t n_subs = (uint32_t)strtoul(argv[1], nullptr, 10);
	uint32_t n_events = (uint32_t)strtoul(argv[2], nullptr, 10);
	uint32_t n_churn = (uint32_t)strtoul(argv[3], nullptr, 10);
	std::string dir = argv[4];
	/* Every event is an E_UL_CONTACT_INSERT, so size the user universe for
	 * ~3 notifications per such event. Gen::shape() gives subscriptions
	 * their event name with P = 0.48 (CONTACT_INSERT), 0.47 (AOR_INSERT),
	 * 0.05 spread over the other three; an event of name e then matches
	 * (share of subs on e) / sum_i(sub share_i * event share_i) times the
	 * mix's expectation. */
	const double sub_share[5] = {0.48, 0.47, 0.05 / 3, 0.05 / 3, 0.05 / 3};
	double mix = 0;
	for (int i = 0; i < 5; i++)
		mix += sub_share[i] * evr_bench::k_event_names[i].events;
	const double ci_factor = sub_share[0] / mix;
	evr_bench::GenConf gc;
	gc.target_matches = 3.0 / ci_factor;
	Gen g(n_subs, gc);

	FILE *f = fopen((dir + "/subs.jsonl").c_str(), "w");
	if (!f)
		return perror("subs.jsonl"), 1;
	for (uint32_t i = 0; i < n_subs; i++)
		fprintf(f, "{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"evr_subscribe\",\"params\":%s}\n",
		        i + 1, sub_params(g.sub(i)).c_str());
	fclose(f);

	f = fopen((dir + "/churn.jsonl").c_str(), "w");
	if (!f)
		return perror("churn.jsonl"), 1;
	for (uint32_t i = 0; i < n_churn; i++)
		fprintf(f, "%s\n", sub_params(g.extra_sub(i)).c_str());
	fclose(f);

	f = fopen((dir + "/events.pcap").c_str(), "wb");
	if (!f)
		return perror("events.pcap"), 1;
	const uint32_t hdr[6] = {0xa1b2c3d4u, 0x00040002u, 0, 0, 65535, 1};
	fwrite(hdr, 4, 6, f);
	Rng r(0xe7e47u);
	size_t bytes = 0;
	for (uint32_t i = 0; i < n_events; i++) {
		EventDef e = g.event_for("E_UL_CONTACT_INSERT", r.below(g.n_users()), r);
		std::string pl = event_payload(e);
		std::vector<uint8_t> fr = frame(pl);
		uint32_t rec[4] = {1700000000u + i / 1000, (i % 1000) * 1000, (uint32_t)fr.size(),
		                   (uint32_t)fr.size()};
		fwrite(rec, 4, 4, f);
		fwrite(fr.data(), 1, fr.size(), f);
		bytes += pl.size();
	}
	fclose(f);

	f = fopen((dir + "/gen.json").c_str(), "w");
	if (!f)
		return perror("gen.json"), 1;
	fprintf(f, "{\"subscriptions\":%u,\"events\":%u,\"churn_pool\":%u,\"users\":%u,"
	           "\"event_payload_avg_bytes\":%.1f,\"expected_matches_mix\":%.3f,"
	           "\"expected_matches_contact_insert\":%.3f}\n",
	        n_subs, n_events, n_churn, g.n_users(), n_events ? (double)bytes / n_events : 0.0,
	        g.expected_matches(), g.expected_matches() * ci_factor);
	fclose(f);
	return 0;
}
