/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IP reassembly bookkeeping, IPv4 and IPv6 alike: fragments are opaque
 * handles (the dataplane passes mbufs) described by (offset, length, more).
 * The table decides which fragments belong together, detects completion,
 * duplicates, overlaps and inconsistent lengths, and bounds what it holds:
 * at most max_flows incomplete datagrams and max_frags fragments per
 * instance, each datagram for at most `timeout` ticks. When full, the
 * OLDEST incomplete datagram is evicted (never the newcomer refused), so a
 * storm of never-completing fragments cannot deny the datagrams that do
 * complete (issue 8 item 9).
 *
 * Why not librte_ip_frag: Debian builds it with at most 8 fragments per
 * datagram (RTE_LIBRTE_IP_FRAG_MAX_FRAG), its table refuses newcomers when
 * full and it cannot hand a datagram over once its 9th fragment arrives,
 * so one reassembler owns every fragment.
 *
 * Ownership: one instance per worker, used only by that worker's thread
 * (no locks). All memory is allocated by evr_reasm_create(); adding,
 * expiring and completing never allocate. Dropped fragments are given back
 * through the release callback; the fragments of a completed datagram are
 * handed to the caller (evr_reasm_out) and no longer owned by the table.
 * Pure C, no EAL: unit tests and the fuzzer link it directly.
 */
#ifndef EVR_REASM_H
#define EVR_REASM_H

#include <stdbool.h>
#include <stdint.h>

/* Identity of a datagram: RFC 791 (src, dst, protocol, id) and RFC 8200
 * (src, dst, id). IPv4 addresses go in as IPv4-mapped IPv6. `port`
 * keeps datagrams of two ports apart. */
struct evr_reasm_key {
	uint8_t src[16];
	uint8_t dst[16];
	uint32_t id;
	uint16_t port;
	uint8_t proto; /* IPv4 protocol; 0 for IPv6 */
	uint8_t v6;
};

/* Fragments dropped, by reason (cumulative; never reset). */
struct evr_reasm_stats {
	uint64_t invalid;   /* bad length/offset, too big, overlap, inconsistent end */
	uint64_t duplicate; /* exact duplicate of a fragment held (the copy only) */
	uint64_t timeout;   /* datagram incomplete after the timeout */
	uint64_t evicted;   /* oldest datagram dropped to make room */
	uint64_t flows_evicted; /* datagrams evicted (the fragments are in evicted) */
	uint64_t completed; /* datagrams completed */
};

/* Largest reassembled payload: IPv4 total length 65,535 minus the header;
 * IPv6 payload length 65,535 (no jumbograms). The caller passes it. */
#define EVR_REASM_MAX_LEN 65535u

enum evr_reasm_rc {
	EVR_REASM_HELD = 0, /* fragment kept, datagram incomplete */
	EVR_REASM_DONE,     /* datagram complete: see evr_reasm_out */
	EVR_REASM_DROPPED,  /* fragment (and maybe its datagram) dropped: counted */
};

struct evr_reasm_out {
	void **frags;    /* in offset order; frags[0] has offset 0 */
	uint32_t n;
	uint32_t total;  /* payload bytes of the whole datagram */
};

typedef void (*evr_reasm_release_fn)(void *ctx, void *frag);

struct evr_reasm;

/* max_flows >= 1, max_frags >= 1 (fragments held at once), timeout in the
 * caller's time unit (ticks given to add/expire), seed for the flow hash
 * (random: keys are chosen by senders). NULL on allocation failure. */
struct evr_reasm *evr_reasm_create(uint32_t max_flows, uint32_t max_frags,
                                   uint64_t timeout, uint64_t seed,
                                   evr_reasm_release_fn release, void *ctx);
/* Releases every fragment still held. */
void evr_reasm_destroy(struct evr_reasm *r);

/* Add one fragment: payload bytes [off, off+len) of the datagram `k`,
 * `more` = more fragments follow (IPv4 MF, IPv6 M). max_len: largest
 * payload this datagram may reach (see EVR_REASM_MAX_LEN). On DONE, `out`
 * lists the fragments of the whole datagram (valid until the next call);
 * on DROPPED, `frag` has been released. */
enum evr_reasm_rc evr_reasm_add(struct evr_reasm *r, const struct evr_reasm_key *k,
                                uint32_t off, uint32_t len, bool more,
                                uint32_t max_len, void *frag, uint64_t now,
                                struct evr_reasm_out *out);

/* Drop every datagram whose first fragment is older than the timeout. */
void evr_reasm_expire(struct evr_reasm *r, uint64_t now);

const struct evr_reasm_stats *evr_reasm_stats(const struct evr_reasm *r);
uint32_t evr_reasm_flows(const struct evr_reasm *r); /* incomplete datagrams held */
uint32_t evr_reasm_held(const struct evr_reasm *r);  /* fragments held */

#endif /* EVR_REASM_H */
