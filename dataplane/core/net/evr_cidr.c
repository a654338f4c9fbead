/* SPDX-License-Identifier: Apache-2.0 */
/* Address prefixes: see evr_cidr.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "net/evr_cidr.h"

int evr_cidr_parse(const char *s, struct evr_cidr *out)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	unsigned max;

	if (!hl || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, host, out->addr) == 1)
		out->family = AF_INET, max = 32;
	else if (inet_pton(AF_INET6, host, out->addr) == 1)
		out->family = AF_INET6, max = 128;
	else
		return -EINVAL;
	out->bits = (uint8_t)max;
	if (slash) {
		char *end;
		unsigned long b;

		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		b = strtoul(slash + 1, &end, 10);
		if (*end || b > max)
			return -EINVAL;
		out->bits = (uint8_t)b;
	}
	return 0;
}

bool evr_cidr_contains(const struct evr_cidr *c, int family, const uint8_t *addr)
{
	unsigned full = c->bits / 8u, rest = c->bits % 8u;

	if (c->family != family || memcmp(addr, c->addr, full))
		return false;
	return !rest || !((addr[full] ^ c->addr[full]) & (uint8_t)(0xffu << (8u - rest)));
}

bool evr_cidr_list_contains(const struct evr_cidr *v, uint32_t n, const struct sockaddr *sa)
{
	const uint8_t *a;
	int fam = sa->sa_family;

	if (fam == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (fam == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

		a = a6->s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			a += 12;
			fam = AF_INET;
		}
	} else {
		return false;
	}
	for (uint32_t i = 0; i < n; i++)
		if (evr_cidr_contains(&v[i], fam, a))
			return true;
	return false;
}
