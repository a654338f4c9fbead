/* SPDX-License-Identifier: Apache-2.0 */
/* Destination policy: see evr_dest_policy.h. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "match/evr_dest_policy.h"
#include "match/evr_nats_subject.h"

static int refuse(const struct evr_dest *d, char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "destination '%s': %s", d->text, why);
	return -EACCES;
}

static bool in_list(const struct evr_cidr *v, uint32_t n, int fam, const uint8_t *a)
{
	for (uint32_t i = 0; i < n; i++)
		if (evr_cidr_contains(&v[i], fam, a))
			return true;
	return false;
}

/* The directed broadcast of an on-link IPv4 subnet: host bits all ones. */
static bool directed_bcast(const struct evr_dest_policy *p, const uint8_t *a)
{
	uint32_t x = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];

	for (uint32_t i = 0; i < p->n_onlink; i++) {
		const struct evr_cidr *c = &p->onlink[i];
		uint32_t host = c->bits >= 31 ? 0 : (1u << (32 - c->bits)) - 1;

		if (c->family == AF_INET && host && evr_cidr_contains(c, AF_INET, a) &&
		    (x & host) == host)
			return true;
	}
	return false;
}

static int check_unix(const struct evr_dest_policy *p, const struct evr_dest *d, char *err,
                      size_t errlen)
{
	const char *path = d->addr.un.sun_path, *rest;
	size_t dl = p->unix_dir ? strlen(p->unix_dir) : 0;
	struct stat st;

	if (!dl)
		return refuse(d, err, errlen, "unix: destinations are off "
		              "(destinations.unix_dir is empty)");
	if (strncmp(path, p->unix_dir, dl) || path[dl] != '/' || !path[dl + 1]) {
		char why[200];

		snprintf(why, sizeof(why), "unix: paths must be below %s (destinations.unix_dir)",
		         p->unix_dir);
		return refuse(d, err, errlen, why);
	}
	for (rest = path + dl; *rest; rest++)
		if (rest[0] == '/' && (rest[1] == '/' || (rest[1] == '.' &&
		    (rest[2] == '/' || !rest[2] || (rest[2] == '.' && (rest[3] == '/' || !rest[3]))))))
			return refuse(d, err, errlen, "unix: path with '.', '..' or '//' "
			              "components refused (destinations.unix_dir)");
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		return refuse(d, err, errlen, "unix: path is a symbolic link (destinations.unix_dir)");
	return 0;
}

int evr_dest_policy_check(const struct evr_dest_policy *p, const struct evr_dest *d,
                          char *err, size_t errlen)
{
	const uint8_t *a;
	int fam;

	if (d->kind == EVR_DEST_ESL)
		return 0;
	if (d->kind == EVR_DEST_UNIX)
		return check_unix(p, d, err, errlen);
	if (d->kind == EVR_DEST_NATS) {
		if (!p->nats_on)
			return refuse(d, err, errlen, "nats: destinations are off (nats.url is "
			              "not set)");
		if (evr_nats_subject_reserved(d->text + 5, d->addr.nats.len))
			return refuse(d, err, errlen, "subject in NATS's own namespace refused "
			              "('$'-prefixed: $JS, $SYS, $KV; _INBOX)");
		return 0;
	}
	if (d->addr.sa.sa_family == AF_INET) {
		a = (const uint8_t *)&d->addr.v4.sin_addr;
		fam = AF_INET;
	} else {
		const struct in6_addr *a6 = &d->addr.v6.sin6_addr;

		a = a6->s6_addr;
		fam = AF_INET6;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			a += 12;
			fam = AF_INET;
		}
	}
	if (fam == AF_INET) {
		if (a[0] == 0)
			return refuse(d, err, errlen, "unspecified address (0.0.0.0/8) refused");
		if (a[0] == 127 && !p->allow_loopback)
			return refuse(d, err, errlen, "loopback address refused "
			              "(destinations.allow_loopback)");
		if (a[0] >= 224 && a[0] <= 239 && !p->allow_multicast)
			return refuse(d, err, errlen, "multicast address refused "
			              "(destinations.allow_multicast)");
		if (((a[0] & a[1] & a[2] & a[3]) == 255 || directed_bcast(p, a)) &&
		    !p->allow_broadcast)
			return refuse(d, err, errlen, "broadcast address refused "
			              "(destinations.allow_broadcast)");
	} else {
		const struct in6_addr *a6 = (const struct in6_addr *)a;

		if (IN6_IS_ADDR_UNSPECIFIED(a6))
			return refuse(d, err, errlen, "unspecified address (::) refused");
		if (IN6_IS_ADDR_LOOPBACK(a6) && !p->allow_loopback)
			return refuse(d, err, errlen, "loopback address refused "
			              "(destinations.allow_loopback)");
		if (a[0] == 0xff && !p->allow_multicast)
			return refuse(d, err, errlen, "multicast address refused "
			              "(destinations.allow_multicast)");
	}
	if (!p->allow_own && in_list(p->own, p->n_own, fam, a))
		return refuse(d, err, errlen, "evrd's own address refused (destinations.allow_own)");
	if (!in_list(p->allow, p->n_allow, fam, a))
		return refuse(d, err, errlen, "address outside the allowed networks "
		              "(destinations.allow; default: the ports' on-link subnets)");
	return 0;
}
