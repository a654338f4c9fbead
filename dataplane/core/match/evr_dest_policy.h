/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Destination policy: which destinations a subscription may name, so that
 * whoever can subscribe cannot turn evrd into a reflector (broadcast,
 * multicast, loopback services, evrd itself, hosts off its networks) or a
 * confused deputy (root-run evrd writing into any unix socket).
 *
 * A udp: destination is accepted when its address is inside one of
 * `allow` (default: the on-link subnets of evrd's ports) AND its class is
 * not refused: broadcast (255.255.255.255 and the directed broadcast of an
 * on-link IPv4 subnet), multicast, loopback and evrd's own addresses are
 * refused unless their allow_* flag is set; the unspecified address
 * (0.0.0.0/8, ::) always is. IPv4-mapped IPv6 addresses are judged as
 * IPv4. A unix: destination must be a path below unix_dir (lexically:
 * no "." or ".." components, no "//") and, when it exists already, not a
 * symbolic link. esl: destinations (the control plane's own) pass. A
 * nats: destination (a subject, not an address) needs NATS on (nats.url
 * set) and a subject outside NATS's own namespace: no first token
 * starting with '$' ($JS JetStream API, $SYS, $KV, $O) nor "_INBOX"
 * (request replies), so a subscriber cannot drive the server's APIs.
 * Refusals name the rule, e.g. "loopback address refused
 * (destinations.allow_loopback)".
 *
 * Ownership: the caller owns the struct and its arrays; the matcher keeps
 * a pointer (evr_matcher_set_dest_policy) and reads it on subscribe, on
 * the control thread. Pure C; any thread for evr_dest_policy_check.
 */
#ifndef EVR_DEST_POLICY_H
#define EVR_DEST_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "match/evr_sub.h"
#include "net/evr_cidr.h"

struct evr_dest_policy {
	const struct evr_cidr *allow;   /* where notifications may go */
	uint32_t n_allow;
	const struct evr_cidr *onlink;  /* the ports' subnets (directed broadcast) */
	uint32_t n_onlink;
	const struct evr_cidr *own;     /* evrd's own addresses (host prefixes) */
	uint32_t n_own;
	bool allow_broadcast, allow_multicast, allow_loopback, allow_own;
	const char *unix_dir;           /* absolute, no trailing '/'; NULL/"" = no unix: */
	bool nats_on;                   /* nats.url set: nats: destinations possible */
};

/* 0, or -EACCES with err naming the refused rule. */
EVR_API int evr_dest_policy_check(const struct evr_dest_policy *p, const struct evr_dest *d,
                                  char *err, size_t errlen);

#endif /* EVR_DEST_POLICY_H */
