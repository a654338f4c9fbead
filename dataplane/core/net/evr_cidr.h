/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Address prefixes (CIDRs), IPv4 and IPv6, for access lists: the ESL
 * listener's esl.acl today; source allowlists next. An IPv4-mapped IPv6
 * peer (::ffff:a.b.c.d, what a dual-stack socket reports) matches IPv4
 * prefixes. Pure C, no allocation; any thread.
 */
#ifndef EVR_CIDR_H
#define EVR_CIDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "event/evr_event.h" /* EVR_API */

struct evr_cidr {
	uint8_t family;   /* AF_INET or AF_INET6 */
	uint8_t bits;     /* prefix length */
	uint8_t addr[16]; /* network byte order; IPv4 in the first 4 */
};

/* "198.18.0.0/15", "2001:db8::/32", or a bare address (a host prefix).
 * 0 or -EINVAL. */
EVR_API int evr_cidr_parse(const char *s, struct evr_cidr *out);
/* Is the address (family AF_INET: 4 bytes, AF_INET6: 16) inside c? */
EVR_API bool evr_cidr_contains(const struct evr_cidr *c, int family, const uint8_t *addr);
/* Is the socket address (AF_INET / AF_INET6) inside any of the n? */
EVR_API bool evr_cidr_list_contains(const struct evr_cidr *v, uint32_t n,
                                    const struct sockaddr *sa);

#endif /* EVR_CIDR_H */
