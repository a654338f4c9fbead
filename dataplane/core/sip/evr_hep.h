/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HEPv3 (Homer Encapsulation Protocol 3) decoder: the format capture agents
 * (Kamailio siptrace, OpenSIPS proto_hep, heplify, captagent) use to send a
 * copy of each SIP message they see, by default over UDP port 9060.
 *
 * Wire format (all integers network byte order):
 *
 *   "HEP3" | total length u16 (whole packet, this 6-byte header included)
 *   then chunks, back to back, to the end of the packet:
 *   vendor id u16 | chunk type u16 | chunk length u16 (6-byte chunk header
 *   included) | value
 *
 * Generic chunks (vendor 0) this decoder reads:
 *   0x01 IP family u8 (2 = IPv4, 10 = IPv6: the Linux AF_ values)
 *   0x02 IP protocol u8 (17 UDP, 6 TCP, ...)
 *   0x03/0x04 IPv4 source/destination (4 bytes)
 *   0x05/0x06 IPv6 source/destination (16 bytes)
 *   0x07/0x08 source/destination port u16
 *   0x09 timestamp seconds u32, 0x0a microseconds u32 (< 1000000)
 *   0x0b protocol type u8 (1 = SIP; 5 RTCP, 100 log... are not SIP)
 *   0x0c capture agent id u32 (u16 from old agents accepted)
 *   0x0e authentication key (octets), 0x0f payload (octets),
 *   0x10 compressed payload (refused: no inflate on the hot path),
 *   0x11 correlation id (octets)
 * Chunks of other vendors, and generic chunk types not listed (keep-alive
 * timer, VLAN, MOS, node name...), are skipped after their length is checked.
 *
 * Ownership: struct evr_hep views (payload, auth_key, correlation_id) point
 * into the caller's buffer and live as long as it does; they are not
 * NUL-terminated. Thread context: any thread; no state, no allocation,
 * locks, syscalls or logging (hot path).
 */
#ifndef EVR_HEP_H
#define EVR_HEP_H

#include <stddef.h>
#include <stdint.h>

#include "evr_sip.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EVR_HEP_PORT 9060u

/* Values of the IP family and protocol type chunks. */
#define EVR_HEP_AF_INET     2u
#define EVR_HEP_AF_INET6    10u
#define EVR_HEP_PROTO_SIP   1u

/*
 * Parse results: X(ENUM_SUFFIX, "counter_name", "human text"). Order is ABI
 * for counters; the dataplane exports them as "hep_<name>". Every value but
 * OK is a drop reason.
 */
#define EVR_HEP_STATUS(X)                                                      \
	X(OK, "ok", "parsed")                                                  \
	X(TOO_SHORT, "too_short", "shorter than the 6-byte HEP3 header")       \
	X(OLD_VERSION, "old_version", "HEPv1/v2 packet (only HEP3 is decoded)") \
	X(BAD_MAGIC, "bad_magic", "does not start with \"HEP3\"")             \
	X(BAD_LENGTH, "bad_length", "total length field differs from the datagram length") \
	X(BAD_CHUNK, "bad_chunk", "chunk length below 6, past the end of the packet, or a trailing partial chunk header") \
	X(BAD_CHUNK_SIZE, "bad_chunk_size", "fixed-size generic chunk (family, address, port, time...) with the wrong length") \
	X(DUPLICATE_CHUNK, "duplicate_chunk", "a generic chunk this decoder reads appears twice") \
	X(UNSUPPORTED_FAMILY, "unsupported_family", "IP family chunk neither 2 (IPv4) nor 10 (IPv6)") \
	X(MISSING_ADDR, "missing_addr", "IP family, source/destination address of that family, or a port chunk missing") \
	X(BAD_TIMESTAMP, "bad_timestamp", "microseconds chunk >= 1000000, or microseconds without seconds") \
	X(NOT_SIP, "not_sip", "protocol type chunk missing or not 1 (SIP)")   \
	X(COMPRESSED, "compressed", "payload only as a compressed chunk (not supported)") \
	X(MISSING_PAYLOAD, "missing_payload", "no payload chunk, or an empty one")

enum evr_hep_status {
#define X(e, n, h) EVR_HEP_##e,
	EVR_HEP_STATUS(X)
#undef X
	EVR_HEP__COUNT
};

/*
 * A decoded HEP3 packet. ip_family is as on the wire (2 or 10); flow.family
 * is 4 or 6 with the addresses, ports and flow.ts_us (ts_sec * 1e6 + ts_usec;
 * 0 when the agent sent no timestamp: the caller substitutes its receive
 * time). Absent octet chunks are { NULL, 0 }.
 */
struct evr_hep {
	uint8_t ip_family;
	uint8_t ip_proto;
	uint8_t proto_type;
	uint32_t capture_id;
	uint32_t ts_sec, ts_usec;
	struct evr_sip_flow flow;
	struct evr_sip_str payload;
	struct evr_sip_str auth_key;
	struct evr_sip_str correlation_id;
};

/*
 * Decode one HEP3 datagram buf[0..len) into h (fully overwritten). The
 * total length field must equal len (one packet per datagram, as every agent
 * sends it). On a status other than OK, h is unspecified. Hot-path safe.
 */
EVR_API enum evr_hep_status evr_hep_parse(const char *buf, size_t len,
                                          struct evr_hep *h);

/* Counter name ("bad_chunk") and human text; "unknown" past the end. */
EVR_API const char *evr_hep_status_name(enum evr_hep_status s);
EVR_API const char *evr_hep_status_text(enum evr_hep_status s);

/*
 * Encode h as HEP3 into out[0..cap) (tests, benchmarks, replay tools). The
 * family comes from h->flow.family (4 or 6; h->ip_family is ignored), then
 * ip_proto, addresses, ports, ts_sec/ts_usec, proto_type, capture_id (u32),
 * auth_key and correlation_id when non-empty, and the payload. Returns the
 * packet length, -ENOSPC if cap is too small, -EINVAL for a family other
 * than 4/6 or a packet longer than 65535 bytes.
 */
EVR_API int evr_hep_build(const struct evr_hep *h, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* EVR_HEP_H */
