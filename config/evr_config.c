/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DOC: evrd configuration loader.
 *
 * Design: the settings table below is the only description of the config.
 * Loading walks it twice over a fresh struct: once to apply every default,
 * once against the libconfig tree (which libconfig parsed: no hand-written
 * parser here). Each value is type-checked, bound-checked and passed to its
 * validator where it sits, so an error carries the line of the offending
 * value; list elements get an element validator for checks spanning several
 * fields (a gateway inside the port's subnet); a last pass checks things
 * that span the whole file (unique listener ports) and reports the line of
 * the second occurrence. Unknown names are errors: a typo must not silently
 * become a default. Nothing here is committed anywhere: the caller gets a
 * complete validated struct or an error (STYLE 20).
 */
#include "evr_config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "match/evr_matcher.h"
#include "match/evr_sub.h"
#include "net/evr_cidr.h"

#define STRLIST_ELEM_MAX 1024u /* longest string in a string list */

/* ---- value parsers shared with evrd ------------------------------------ */

int evr_cfg_parse_ip4(const char *s, uint32_t *addr_be)
{
	struct in_addr a;

	if (s == NULL || inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*addr_be = a.s_addr;
	return 0;
}

int evr_cfg_parse_ip6(const char *s, uint8_t addr[16])
{
	struct in6_addr a;

	if (s == NULL || inet_pton(AF_INET6, s, &a) != 1)
		return -EINVAL;
	memcpy(addr, a.s6_addr, 16);
	return 0;
}

static int split_prefix(const char *s, char *host, size_t hostlen,
                        unsigned maxlen, uint8_t *plen)
{
	const char *slash;
	char *end;
	unsigned long l;

	if (s == NULL)
		return -EINVAL;
	slash = strchr(s, '/');
	if (slash == NULL || (size_t)(slash - s) >= hostlen || slash[1] == '\0')
		return -EINVAL;
	memcpy(host, s, (size_t)(slash - s));
	host[slash - s] = '\0';
	errno = 0;
	l = strtoul(slash + 1, &end, 10);
	if (errno || *end != '\0' || !isdigit((unsigned char)slash[1]) || l > maxlen)
		return -EINVAL;
	*plen = (uint8_t)l;
	return 0;
}

int evr_cfg_parse_prefix4(const char *s, uint32_t *addr_be, uint8_t *plen)
{
	char host[INET_ADDRSTRLEN];

	if (split_prefix(s, host, sizeof(host), 32, plen) != 0)
		return -EINVAL;
	return evr_cfg_parse_ip4(host, addr_be);
}

int evr_cfg_parse_prefix6(const char *s, uint8_t addr[16], uint8_t *plen)
{
	char host[INET6_ADDRSTRLEN];

	if (split_prefix(s, host, sizeof(host), 128, plen) != 0)
		return -EINVAL;
	return evr_cfg_parse_ip6(host, addr);
}

int evr_cfg_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;

	if (s == NULL ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
	           &v[4], &v[5], &tail) != 6 || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

int evr_cfg_parse_mode(const char *s, uint32_t *mode)
{
	char *end;
	unsigned long m;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	errno = 0;
	m = strtoul(s, &end, 8);
	if (errno || *end != '\0' || m > 07777)
		return -EINVAL;
	*mode = (uint32_t)m;
	return 0;
}

/* ---- validators (messages are completed with file:line: setting:) ------ */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int check_ip4(const void *v, char *err, size_t errlen)
{
	uint32_t a;

	if (evr_cfg_parse_ip4(v, &a) == 0)
		return 0;
	seterr(err, errlen, "'%s' is not an IPv4 address", (const char *)v);
	return -EINVAL;
}

static int check_ip6(const void *v, char *err, size_t errlen)
{
	uint8_t a[16];

	if (evr_cfg_parse_ip6(v, a) == 0)
		return 0;
	seterr(err, errlen, "'%s' is not an IPv6 address", (const char *)v);
	return -EINVAL;
}

static int check_ip(const void *v, char *err, size_t errlen)
{
	uint32_t a4;
	uint8_t a6[16];

	if (evr_cfg_parse_ip4(v, &a4) == 0 || evr_cfg_parse_ip6(v, a6) == 0)
		return 0;
	seterr(err, errlen, "'%s' is not an IPv4 or IPv6 address", (const char *)v);
	return -EINVAL;
}

static int check_prefix4(const void *v, char *err, size_t errlen)
{
	uint32_t a;
	uint8_t l;

	if (evr_cfg_parse_prefix4(v, &a, &l) == 0) {
		if (l == 0 || l == 32)
			goto bad_len;
		return 0;
	}
	seterr(err, errlen, "'%s' is not an IPv4 address/prefix-length "
	       "(e.g. 198.18.0.1/15)", (const char *)v);
	return -EINVAL;
bad_len:
	seterr(err, errlen, "'%s': prefix length must be 1..31", (const char *)v);
	return -EINVAL;
}

static int check_prefix6(const void *v, char *err, size_t errlen)
{
	uint8_t a[16];
	uint8_t l;

	if (evr_cfg_parse_prefix6(v, a, &l) == 0) {
		if (l == 0 || l == 128) {
			seterr(err, errlen, "'%s': prefix length must be 1..127",
			       (const char *)v);
			return -EINVAL;
		}
		if (a[0] == 0xff) {
			seterr(err, errlen, "'%s' is a multicast address", (const char *)v);
			return -EINVAL;
		}
		return 0;
	}
	seterr(err, errlen, "'%s' is not an IPv6 address/prefix-length "
	       "(e.g. 2001:db8::1/64)", (const char *)v);
	return -EINVAL;
}

/* "" or a multicast group: IPv4 224.0.0.0/4, or IPv6 ff00::/8 beyond
 * interface-local scope (a group on the wire). */
static int check_opt_mcast(const void *v, char *err, size_t errlen)
{
	const char *s = v;
	uint32_t a;
	uint8_t a6[16];

	if (!*s)
		return 0;
	if (evr_cfg_parse_ip4(s, &a) == 0 && (ntohl(a) >> 28) == 0xe)
		return 0;
	if (inet_pton(AF_INET6, s, a6) == 1 && a6[0] == 0xff && (a6[1] & 0x0f) >= 2)
		return 0;
	seterr(err, errlen, "'%s' is not a multicast group (IPv4 224.0.0.0/4 or IPv6 ff00::/8 of "
	       "link scope or wider)", s);
	return -EINVAL;
}

static int check_cidr(const void *v, char *err, size_t errlen)
{
	struct evr_cidr c;

	if (evr_cidr_parse(v, &c) == 0)
		return 0;
	seterr(err, errlen, "'%s' is not an address or address/prefix-length "
	       "(e.g. 198.18.0.0/15, ::1)", (const char *)v);
	return -EINVAL;
}

static int check_mac(const void *v, char *err, size_t errlen)
{
	uint8_t m[6];

	if (evr_cfg_parse_mac(v, m) != 0) {
		seterr(err, errlen, "'%s' is not a MAC address (xx:xx:xx:xx:xx:xx)",
		       (const char *)v);
		return -EINVAL;
	}
	if (m[0] & 1) {
		seterr(err, errlen, "'%s' is a multicast MAC address", (const char *)v);
		return -EINVAL;
	}
	return 0;
}

static int check_mode(const void *v, char *err, size_t errlen)
{
	uint32_t m;

	if (evr_cfg_parse_mode(v, &m) == 0)
		return 0;
	seterr(err, errlen, "'%s' is not an octal file mode (e.g. \"0660\")",
	       (const char *)v);
	return -EINVAL;
}

static int check_pow2(const void *v, char *err, size_t errlen)
{
	uint64_t x = *(const uint64_t *)v;

	if (x && (x & (x - 1)) == 0)
		return 0;
	seterr(err, errlen, "%" PRIu64 " is not a power of two", x);
	return -EINVAL;
}

static int check_socket_path(const void *v, char *err, size_t errlen)
{
	const char *s = v;

	if (*s != '/') {
		seterr(err, errlen, "'%s' is not an absolute path", s);
		return -EINVAL;
	}
	if (strlen(s) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		seterr(err, errlen, "'%s' is longer than a unix socket path may be", s);
		return -EINVAL;
	}
	return 0;
}

/* Optional settings: "" means off. */
static int check_opt_socket_path(const void *v, char *err, size_t errlen)
{
	return *(const char *)v ? check_socket_path(v, err, errlen) : 0;
}

static int check_opt_abs_path(const void *v, char *err, size_t errlen)
{
	const char *s = v;

	if (*s && *s != '/') {
		seterr(err, errlen, "'%s' is not an absolute path", s);
		return -EINVAL;
	}
	return 0;
}

/* A JetStream KV bucket name: what nats-server accepts ([A-Za-z0-9_-]+). */
static int check_kv_bucket(const void *v, char *err, size_t errlen)
{
	const char *s = v;

	if (!*s || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                     "0123456789-_") != strlen(s)) {
		seterr(err, errlen, "'%s' is not a KV bucket name (letters, digits, - and _)", s);
		return -EINVAL;
	}
	return 0;
}

/* "IPv4:port" or "[IPv6]:port", port 1..65535; "" = off. */
static int check_opt_udp(const void *v, char *err, size_t errlen)
{
	const char *s = v, *colon;
	char host[64];
	uint32_t a4;
	uint8_t a6[16];
	size_t hl;
	bool v6 = s[0] == '[';

	if (!*s)
		return 0;
	colon = strrchr(s, ':');
	if (!colon || (v6 && colon[-1] != ']'))
		goto bad;
	hl = (size_t)(colon - s) - (v6 ? 2 : 0);
	if (!hl || hl >= sizeof(host))
		goto bad;
	memcpy(host, s + v6, hl);
	host[hl] = '\0';
	char *end;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (!isdigit((unsigned char)colon[1]) || *end || port < 1 || port > 65535)
		goto bad;
	if (v6 ? evr_cfg_parse_ip6(host, a6) == 0 : evr_cfg_parse_ip4(host, &a4) == 0)
		return 0;
bad:
	seterr(err, errlen, "'%s' is not IPv4:port or [IPv6]:port", s);
	return -EINVAL;
}

static int check_filter(const void *v, char *err, size_t errlen)
{
	struct evr_filter f;
	int rc = evr_filter_parse(v, &f, err, errlen);

	if (rc == 0)
		evr_filter_fini(&f);
	return rc;
}

static int check_dest(const void *v, char *err, size_t errlen)
{
	struct evr_dest d;

	if (evr_dest_is_esl(v)) {
		snprintf(err, errlen, "esl: destinations belong to ESL connections "
		         "(their event command), not to subscriptions");
		return -EINVAL;
	}
	return evr_dest_parse(v, &d, err, errlen);
}

static int check_neigh(const void *v, char *err, size_t errlen)
{
	(void)v;
	(void)err;
	(void)errlen;
	return 0; /* fields checked one by one; family vs port in check_port */
}

static bool in_subnet4(uint32_t a, uint32_t net, uint8_t plen)
{
	uint32_t mask = plen ? htonl(~0u << (32 - plen)) : 0;

	return (a & mask) == (net & mask);
}

static bool in_subnet6(const uint8_t *a, const uint8_t *net, uint8_t plen)
{
	for (unsigned i = 0; i < 16 && plen; i++) {
		unsigned bits = plen >= 8 ? 8 : plen;
		uint8_t mask = (uint8_t)(0xff00u >> bits);

		if ((a[i] & mask) != (net[i] & mask))
			return false;
		plen -= (uint8_t)bits;
	}
	return true;
}

static int check_port(const void *v, char *err, size_t errlen)
{
	const struct evr_cfg_port *p = v;
	uint32_t a4 = 0, g4;
	uint8_t a6[16], g6[16], l4 = 0, l6 = 0;

	if (p->ipv4 == NULL && p->ipv6 == NULL && !p->mirror) {
		seterr(err, errlen, "port '%s' has neither ipv4 nor ipv6", p->name);
		return -EINVAL;
	}
	if (p->ipv4)
		evr_cfg_parse_prefix4(p->ipv4, &a4, &l4);
	if (p->ipv6) {
		evr_cfg_parse_prefix6(p->ipv6, a6, &l6);
		if (p->mtu < 1280) {
			seterr(err, errlen, "port '%s': mtu %u is below the IPv6 "
			       "minimum 1280", p->name, p->mtu);
			return -EINVAL;
		}
	}
	if (p->gateway) {
		if (p->ipv4 == NULL) {
			seterr(err, errlen, "port '%s': gateway without ipv4", p->name);
			return -EINVAL;
		}
		evr_cfg_parse_ip4(p->gateway, &g4);
		if (!in_subnet4(g4, a4, l4) || g4 == a4) {
			seterr(err, errlen, "port '%s': gateway %s is not a neighbour on %s",
			       p->name, p->gateway, p->ipv4);
			return -EINVAL;
		}
	}
	if (p->gateway6) {
		if (p->ipv6 == NULL) {
			seterr(err, errlen, "port '%s': gateway6 without ipv6", p->name);
			return -EINVAL;
		}
		evr_cfg_parse_ip6(p->gateway6, g6);
		/* A link-local gateway is on-link by definition. */
		if (!(g6[0] == 0xfe && (g6[1] & 0xc0) == 0x80) && !in_subnet6(g6, a6, l6)) {
			seterr(err, errlen, "port '%s': gateway6 %s is not on %s",
			       p->name, p->gateway6, p->ipv6);
			return -EINVAL;
		}
	}
	for (uint32_t i = 0; i < p->n_neighbours; i++) {
		const char *ip = p->neighbours[i].ip;
		bool v4 = strchr(ip, ':') == NULL;

		if ((v4 && p->ipv4 == NULL) || (!v4 && p->ipv6 == NULL)) {
			seterr(err, errlen, "port '%s': neighbour %s has no %s address "
			       "on this port", p->name, ip, v4 ? "IPv4" : "IPv6");
			return -EINVAL;
		}
	}
	return 0;
}

static int check_sub(const void *v, char *err, size_t errlen)
{
	const struct evr_cfg_sub *s = v;

	if (s->event == NULL || s->event[0] == '\0') {
		seterr(err, errlen, "subscription without event");
		return -EINVAL;
	}
	if (s->expire == EVR_CFG_EXPIRE_NEVER) {
		seterr(err, errlen, "expire %u is reserved; use 0 for never",
		       s->expire);
		return -EINVAL;
	}
	return 0;
}

/* ---- the table ---------------------------------------------------------- */

/* Listener kinds: the event formats (enum evr_format order), then the SIP
 * endpoint and the HEP collector (EVR_CFG_LISTEN_*). */
static const char *const fmt_in_names[] = {"jsonrpc", "plain", "json", "xml", "auto",
                                           "sip", "hep", "fs_multicast", NULL};
_Static_assert(EVR_FMT_XML == 3 && EVR_FMT_AUTO == 4 && EVR_FMT__COUNT == 5 &&
               EVR_CFG_LISTEN_SIP == 5 && EVR_CFG_LISTEN_HEP == 6 &&
               EVR_CFG_LISTEN_FS_MULTICAST == 7 && EVR_CFG_LISTEN__COUNT == 8,
               "fmt_in_names follows enum evr_format then EVR_CFG_LISTEN_*");
static const char *const sip_events_names[] = {"opensips", "freeswitch", "both", NULL};
static const char *const fmt_out_names[] = {"jsonrpc", "plain", "json", "xml", NULL};
static const char *const index_names[] = {"hybrid", "naive", NULL};
static const char *const store_kind_names[] = {"embedded", "nats", "none", NULL};
_Static_assert(EVR_CFG_STORE_EMBEDDED == 0 && EVR_CFG_STORE_NATS == 1 &&
               EVR_CFG_STORE_NONE == 2, "store_kind_names follows EVR_CFG_STORE_*");
static const char *const mi_udp_role_names[] = {"read", "admin", "none", NULL};
_Static_assert(EVR_CFG_MI_UDP_READ == 0 && EVR_CFG_MI_UDP_ADMIN == 1 &&
               EVR_CFG_MI_UDP_NONE == 2, "mi_udp_role_names follows EVR_CFG_MI_UDP_*");

#define FSIZE(T, f) sizeof(((T *)0)->f)
#define U(T, f, lo, hi, d, rt, h)                                              \
	{.name = #f, .type = EVR_CFG_UINT, .off = offsetof(T, f),              \
	 .size = FSIZE(T, f), .min = (lo), .max = (hi), .def = (d),            \
	 .runtime = (rt), .help = (h)}
#define UC(T, f, lo, hi, d, c, ct, h)                                          \
	{.name = #f, .type = EVR_CFG_UINT, .off = offsetof(T, f),              \
	 .size = FSIZE(T, f), .min = (lo), .max = (hi), .def = (d),            \
	 .check = (c), .check_text = (ct), .help = (h)}
#define B(T, f, d, h)                                                          \
	{.name = #f, .type = EVR_CFG_BOOL, .off = offsetof(T, f), .def = (d),  \
	 .help = (h)}
#define S_FIELDS(T, f, maxlen, d, req, c, ct, h)                               \
	.name = #f, .type = EVR_CFG_STR, .off = offsetof(T, f),                \
	.max = (maxlen), .def = (d), .required = (req), .check = (c),          \
	.check_text = (ct), .help = (h)
#define S(T, f, maxlen, d, req, c, ct, h) {S_FIELDS(T, f, maxlen, d, req, c, ct, h)}
/* A secret string, "" by default: config_get shows ******** */
#define SSEC(T, f, maxlen, c, ct, h)                                           \
	{S_FIELDS(T, f, maxlen, "", false, c, ct, h), .secret = true}
#define E(T, f, nm, d, h)                                                      \
	{.name = #f, .type = EVR_CFG_ENUM, .off = offsetof(T, f), .def = (d),  \
	 .names = (nm), .help = (h)}
#define SL(T, f, maxn, c, ct, h)                                               \
	{.name = #f, .type = EVR_CFG_STRLIST, .off = offsetof(T, f),           \
	 .max = (maxn), .check = (c), .check_text = (ct), .help = (h)}
#define G(T, f, tab, h)                                                        \
	{.name = #f, .type = EVR_CFG_GROUP, .off = offsetof(T, f), .sub = (tab), \
	 .help = (h)}
#define L(T, f, cnt, ET, maxn, req, tab, c, h)                                 \
	{.name = #f, .type = EVR_CFG_LIST, .off = offsetof(T, f),              \
	 .size = sizeof(ET), .count_off = offsetof(T, cnt), .max = (maxn),     \
	 .required = (req), .sub = (tab), .check = (c), .help = (h)}
#define UL(T, f, lo, hi, d, h)                                                 \
	{.name = #f, .type = EVR_CFG_UINTLIST, .off = offsetof(T, f),          \
	 .min = (lo), .max = (hi), .def = (d), .help = (h)}
/* Runtime-changeable (config_set) variants. */
#define B_RT(T, f, d, h)                                                       \
	{.name = #f, .type = EVR_CFG_BOOL, .off = offsetof(T, f), .def = (d),  \
	 .runtime = true, .help = (h)}
#define S_RT(T, f, maxlen, d, c, ct, h)                                        \
	{.name = #f, .type = EVR_CFG_STR, .off = offsetof(T, f),               \
	 .max = (maxlen), .def = (d), .check = (c), .check_text = (ct),        \
	 .runtime = true, .help = (h)}
#define SL_RT(T, f, maxn, c, ct, h)                                            \
	{.name = #f, .type = EVR_CFG_STRLIST, .off = offsetof(T, f),           \
	 .max = (maxn), .check = (c), .check_text = (ct), .runtime = true,     \
	 .help = (h)}
#define END {.name = NULL}
#define UINTLIST_MAX 64

static const struct evr_setting eal_tab[] = {
	S(struct evr_cfg_eal, lcores, 255, "0-1", false, NULL, NULL,
	  "EAL --lcores: a list (\"0-2\") or lcore@cpu map (\"0@0,1@1,2@1\"). "
	  "The first lcore runs the control thread, the others run workers."),
	U(struct evr_cfg_eal, memory_mb, 0, 1u << 20, "512", false,
	  "EAL memory in MiB (-m); 0 leaves it to EAL."),
	B(struct evr_cfg_eal, no_huge, "false",
	  "Run without hugepages (--no-huge), e.g. on a test VM."),
	B(struct evr_cfg_eal, in_memory, "false",
	  "No shared runtime files (--in-memory)."),
	B(struct evr_cfg_eal, no_pci, "false",
	  "Do not scan the PCI bus (--no-pci): vdev-only appliances."),
	S(struct evr_cfg_eal, file_prefix, 63, "evrd", false, NULL, NULL,
	  "EAL --file-prefix, so several DPDK processes can coexist."),
	S(struct evr_cfg_eal, log_level, 255, NULL, false, NULL, NULL,
	  "EAL --log-level, e.g. \"notice\" or \"evr.*:debug\"."),
	SL(struct evr_cfg_eal, devices, 64, NULL, NULL,
	   "PCI devices to use (-a), e.g. [\"0000:03:00.0\"]."),
	SL(struct evr_cfg_eal, vdevs, 64, NULL, NULL,
	   "Virtual devices (--vdev), e.g. [\"net_af_packet0,iface=veth0\"]."),
	SL(struct evr_cfg_eal, plugin_dirs, 16, NULL, NULL,
	   "Extra PMD plugin paths (-d) for a shared DPDK build."),
	SL(struct evr_cfg_eal, extra_args, 64, NULL, NULL,
	   "Further EAL arguments, appended verbatim."),
	END,
};

static const struct evr_setting neigh_tab[] = {
	S(struct evr_cfg_neigh, ip, 63, NULL, true, check_ip, "IPv4 or IPv6 address",
	  "Neighbour address."),
	S(struct evr_cfg_neigh, mac, 17, NULL, true, check_mac, "unicast MAC",
	  "Its MAC address; never expires, never re-resolved."),
	END,
};

static const struct evr_setting port_tab[] = {
	S(struct evr_cfg_port, name, 31, NULL, true, NULL, NULL,
	  "Port label in logs and stats."),
	S(struct evr_cfg_port, device, 255, NULL, true, NULL, NULL,
	  "DPDK device name: a vdev name (\"net_pcap0\") or a PCI address."),
	S(struct evr_cfg_port, mac, 17, NULL, false, check_mac, "unicast MAC",
	  "Set the port MAC address (default: the device's own)."),
	S(struct evr_cfg_port, ipv4, 63, NULL, false, check_prefix4, "addr/len",
	  "IPv4 address and prefix length, e.g. \"198.18.0.1/15\"."),
	S(struct evr_cfg_port, gateway, 63, NULL, false, check_ip4, "IPv4 in the subnet",
	  "IPv4 next hop for destinations outside the subnet."),
	S(struct evr_cfg_port, ipv6, 63, NULL, false, check_prefix6, "addr/len",
	  "Optional IPv6 address and prefix length."),
	S(struct evr_cfg_port, gateway6, 63, NULL, false, check_ip6, "IPv6 on-link",
	  "IPv6 next hop for destinations outside the prefix."),
	U(struct evr_cfg_port, mtu, 576, 9000, "1500", false,
	  "IP MTU; larger notifications are fragmented."),
	U(struct evr_cfg_port, rx_desc, 64, 16384, "1024", false,
	  "RX descriptors per queue."),
	U(struct evr_cfg_port, tx_desc, 64, 16384, "1024", false,
	  "TX descriptors per queue."),
	B(struct evr_cfg_port, rss, "true",
	  "Spread UDP flows over the worker queues by RSS when the PMD can."),
	B(struct evr_cfg_port, promiscuous, "false",
	  "Promiscuous mode (frames for other MACs are still dropped, counted)."),
	B(struct evr_cfg_port, verify_udp_checksum, "true",
	  "Drop event datagrams with a wrong UDP checksum. Turn off for "
	  "net_af_packet on a veth whose peer offloads checksums (the frames "
	  "carry partial checksums), or run `ethtool -K PEER tx off`."),
	B(struct evr_cfg_port, mirror, "false",
	  "SIP mirror port (a switch SPAN/mirror or tc mirred copy): promiscuous; "
	  "frames for other hosts whose UDP source or destination port is in "
	  "sip.mirror_ports are followed as SIP and never answered. Addresses "
	  "are optional on a mirror port."),
	L(struct evr_cfg_port, neighbours, n_neighbours, struct evr_cfg_neigh, 256,
	  false, neigh_tab, check_neigh, "Static neighbours (ARP/ND entries)."),
	END,
};

static const struct evr_setting workers_tab[] = {
	U(struct evr_cfg_workers, count, 0, EVR_CFG_MAX_WORKERS, "0", false,
	  "Worker lcores; 0 = every EAL lcore but the first. One RX queue per "
	  "worker on every port."),
	U(struct evr_cfg_workers, burst, 1, 512, "32", false,
	  "RX burst size."),
	U(struct evr_cfg_workers, idle_polls, 0, 1000000, "256", false,
	  "Empty loop turns before a worker starts sleeping."),
	U(struct evr_cfg_workers, idle_sleep_us, 0, 100000, "100", false,
	  "Sleep per idle turn (RCU offline); 0 polls at full speed always."),
	U(struct evr_cfg_workers, tx_drain_us, 1, 100000, "100", false,
	  "Longest time a buffered notification waits for a full TX burst."),
	END,
};

static const struct evr_setting listener_tab[] = {
	{.name = "port", .type = EVR_CFG_UINT,
	 .off = offsetof(struct evr_cfg_listener, port),
	 .size = FSIZE(struct evr_cfg_listener, port), .min = 1, .max = 65535,
	 .required = true, .help = "UDP destination port events arrive on."},
	E(struct evr_cfg_listener, format, fmt_in_names, "auto",
	  "Ingress format of datagrams to this port: an event format (not \"xml\"), \"sip\" "
	  "(SIP endpoint: PUBLISH/NOTIFY/MESSAGE become events, stateless "
	  "replies), \"hep\" (HEPv3 capture copies, followed like mirrored SIP) or "
	  "\"fs_multicast\" (FreeSWITCH mod_event_multicast datagrams: trailer checked, "
	  "PSK decrypted, plain decoded)."),
	S(struct evr_cfg_listener, group, 45, "", false, check_opt_mcast,
	  "IPv4 or IPv6 multicast address or \"\"",
	  "fs_multicast: the group mod_event_multicast sends to (its \"address\", "
	  "default 225.1.1.1; an IPv6 group such as ff15::1 works too); the port receives it "
	  "(allmulticast) and joins it with IGMPv2 or MLDv2 reports, leaving at stop. "
	  "\"\": unicast only."),
	{.name = "psk", .type = EVR_CFG_STR, .off = offsetof(struct evr_cfg_listener, psk),
	 .max = 56, .def = "", .secret = true,
	 .help = "fs_multicast: mod_event_multicast's psk (Blowfish-CBC); \"\" = plain "
	 "datagrams. Shown as ********."},
	SL(struct evr_cfg_listener, allow, 64, check_cidr, "address or address/prefix",
	   "Sources this listener takes datagrams from (IPv4/IPv6 CIDRs); empty = the "
	   "on-link subnets of the port a datagram arrives on. Others are dropped, counted "
	   "per listener (rx_source_refused). [\"0.0.0.0/0\", \"::/0\"] takes any source."),
	END,
};

static const struct evr_setting control_tab[] = {
	B(struct evr_cfg_control, enabled, "true",
	  "Serve the JSON-RPC control socket (evrctl)."),
	S(struct evr_cfg_control, socket, 107, "/run/evrd/evrd.sock", false,
	  check_socket_path, "absolute path", "Unix stream socket path."),
	S(struct evr_cfg_control, mode, 5, "0660", false, check_mode, "octal",
	  "Socket file mode."),
	U(struct evr_cfg_control, max_clients, 1, 4096, "64", false,
	  "Concurrent control connections."),
	U(struct evr_cfg_control, poll_ms, 1, 1000, "5", false,
	  "Control loop period: bounds unix: notification latency."),
	U(struct evr_cfg_control, max_batch, 1, 65536, "100", false,
	  "Requests in one JSON-RPC batch line; a longer batch is refused "
	  "whole (-32600). Results are answered while they fit max_output "
	  "(16 MiB per client), the rest of the batch gets 503 errors."),
	U(struct evr_cfg_control, max_per_uid, 1, 4096, "16", false,
	  "Connections one non-root peer uid (SO_PEERCRED) may hold; the next "
	  "gets a 503 error line and is closed. Root is exempt, and the last of "
	  "max_clients slots is kept for root."),
	U(struct evr_cfg_control, idle_timeout_ms, 100, 86400000, "60000", false,
	  "Close a connection that sent no request for this long."),
	U(struct evr_cfg_control, request_timeout_ms, 100, 3600000, "10000", false,
	  "Close a connection whose request line stays incomplete this long "
	  "(slowloris)."),
	UL(struct evr_cfg_control, admin_uids, 0, UINT32_MAX - 1, NULL,
	   "Peers (SO_PEERCRED uid) with the admin role: every method. Root always "
	   "has it."),
	UL(struct evr_cfg_control, admin_gids, 0, UINT32_MAX - 1, NULL,
	   "Groups (primary or supplementary) whose members have the admin role."),
	UL(struct evr_cfg_control, read_uids, 0, UINT32_MAX - 1, NULL,
	   "Peers with the read role: read methods only (lists, stats, version); "
	   "write methods answer 403. With read_uids and read_gids both empty every "
	   "other peer the socket's mode lets in reads; else the rest are refused."),
	UL(struct evr_cfg_control, read_gids, 0, UINT32_MAX - 1, NULL,
	   "Groups whose members have the read role."),
	END,
};

static const struct evr_setting heartbeat_tab[] = {
	U(struct evr_cfg_heartbeat, interval_s, 0, 86400, "20", false,
	  "Seconds between the HEARTBEAT events evrd raises (FreeSWITCH's "
	  "liveness event, with Up-Time and the router's figures); 0 = off. "
	  "Raised through the control library, so only when control.enabled."),
	END,
};

/* Off by default: each is one more way in. The stream socket (evrctl) is
 * what evrd needs; these exist so unmodified OpenSIPS MI clients work. */
static const struct evr_setting mi_http_tab[] = {
	S(struct evr_cfg_mi_http, listen, 63, "", false, check_opt_udp,
	  "IPv4:port, [IPv6]:port or \"\"",
	  "HTTP listener: OpenSIPS mi_http JSON-RPC at POST /mi (opensips-cli's "
	  "url http://ADDRESS:PORT/mi) and Prometheus metrics at GET /metrics, e.g. "
	  "\"127.0.0.1:8888\". Off by default. Without a token file every request is "
	  "admin and only a loopback address is accepted; with one, requests need "
	  "Authorization: Bearer <token> (401 otherwise)."),
	SSEC(struct evr_cfg_mi_http, admin_token_file, 107, check_opt_abs_path,
	     "absolute path or \"\"",
	     "File holding the admin bearer token (first line, 16..1024 printable "
	     "characters; the file not readable by others): requests carrying it may "
	     "call every method. Read at start. Shown as ********."),
	SSEC(struct evr_cfg_mi_http, read_token_file, 107, check_opt_abs_path,
	     "absolute path or \"\"",
	     "File holding the read bearer token: read methods and GET /metrics "
	     "(Prometheus bearer_token_file); writes answer 403. Read at start. Shown "
	     "as ********."),
	END,
};

static const struct evr_setting mi_tab[] = {
	S(struct evr_cfg_mi, datagram_socket, 107, "", false, check_opt_socket_path,
	  "absolute path or \"\"",
	  "OpenSIPS mi_datagram unix socket (one JSON-RPC request per datagram, the "
	  "reply to the sender's bound path), e.g. \"/run/evrd/evrd_mi.sock\"; file "
	  "mode control.mode. Senders get the control socket's roles by their "
	  "credentials (SCM_CREDENTIALS). Off by default: evrctl uses control.socket."),
	S(struct evr_cfg_mi, datagram_udp, 63, "", false, check_opt_udp,
	  "IPv4:port, [IPv6]:port or \"\"",
	  "OpenSIPS mi_datagram UDP socket for opensips-cli's datagram mode, e.g. "
	  "\"127.0.0.1:8080\". Off by default and keep it on loopback: UDP has no "
	  "peer identity, every sender gets datagram_udp_role."),
	E(struct evr_cfg_mi, datagram_udp_role, mi_udp_role_names, "read",
	  "Role of every MI UDP sender: \"read\" (lists, stats; writes answer 403), "
	  "\"admin\" (any local user, or host off loopback, may subscribe and raise) "
	  "or \"none\" (every request refused)."),
	S(struct evr_cfg_mi, fifo, 107, "", false, check_opt_abs_path,
	  "absolute path or \"\"",
	  "OpenSIPS mi_fifo request FIFO (\":reply_name:{json}\"), e.g. "
	  "\"/run/evrd/evrd_fifo\"; file mode fifo_mode. Whoever may write it is "
	  "admin. Off by default; not in a sticky directory such as /tmp "
	  "(fs.protected_fifos)."),
	S(struct evr_cfg_mi, fifo_mode, 5, "0600", false, check_mode, "octal",
	  "Request FIFO file mode (owner root, evrd's user): the FIFO has no peer "
	  "identity, its mode is its access control."),
	S(struct evr_cfg_mi, fifo_reply_dir, 107, "/tmp/", false, check_opt_abs_path,
	  "absolute path",
	  "Directory of the clients' reply FIFOs (opensips-cli fifo_reply_dir); a "
	  "reply name is a bare file name in it."),
	G(struct evr_cfg_mi, http, mi_http_tab, "OpenSIPS mi_http and Prometheus metrics."),
	END,
};

static int check_unix_dir(const void *v, char *err, size_t errlen)
{
	const char *s = v;
	size_t n = strlen(s);

	if (!n)
		return 0;
	if (s[0] != '/' || n >= 100 || (n > 1 && s[n - 1] == '/') || strstr(s, "/.") ||
	    strstr(s, "//")) {
		seterr(err, errlen, "'%s' is not an absolute directory path (no trailing '/', "
		       "no '.' components)", s);
		return -EINVAL;
	}
	return 0;
}

/* Secure by default: a subscriber reaches hosts on evrd's own networks and
 * nothing else (no broadcast, multicast, loopback, evrd itself) unless the
 * operator widens it here. */
static const struct evr_setting destinations_tab[] = {
	SL_RT(struct evr_cfg_destinations, allow, 256, check_cidr, "address or address/prefix",
	   "Networks udp: destinations may be in (IPv4/IPv6 CIDRs); empty = the on-link "
	   "subnets of the ports (ports[].ipv4/ipv6). Applies to every subscribe "
	   "(control socket, MI, static subscriptions) at subscribe time."),
	B_RT(struct evr_cfg_destinations, allow_broadcast, "false",
	  "Allow 255.255.255.255 and the directed broadcast of an on-link subnet."),
	B_RT(struct evr_cfg_destinations, allow_multicast, "false",
	  "Allow multicast destinations (224.0.0.0/4, ff00::/8)."),
	B_RT(struct evr_cfg_destinations, allow_loopback, "false",
	  "Allow loopback destinations (127.0.0.0/8, ::1): evrd's own host."),
	B_RT(struct evr_cfg_destinations, allow_own, "false",
	  "Allow evrd's own port addresses as destinations."),
	S_RT(struct evr_cfg_destinations, unix_dir, 99, "/run/evrd/notify", check_unix_dir,
	  "absolute directory or \"\"",
	  "unix: destinations must be sockets below this directory (not symbolic "
	  "links); \"\" refuses unix: destinations. evrd runs as root: keep it a "
	  "directory only trusted users can write."),
	U(struct evr_cfg_destinations, rate_notifications, 0, 1000000000, "100000", true,
	  "Notifications per second one destination (address and port) may receive, "
	  "whatever the number of subscriptions pointing at it (RFC 8085 3.1); the "
	  "excess is dropped and counted (dest_rate_limited). Enforced per worker "
	  "with an equal share each. 0 = unlimited."),
	U(struct evr_cfg_destinations, rate_bytes, 0, 100000000000ull, "100000000", true,
	  "Payload bytes per second one destination may receive (format conversion "
	  "included; dest_bytes_limited). 0 = unlimited."),
	U(struct evr_cfg_destinations, burst_ms, 1, 60000, "100", true,
	  "Depth of the per-destination and egress buckets, in milliseconds of their "
	  "rate (a burst beyond it is limited)."),
	U(struct evr_cfg_destinations, limit_slots, 8, 1u << 24, "65536", false,
	  "Destinations each worker tracks for the limits (128 bytes each); when full "
	  "the least recently used one is forgotten (dest_limit_evicted)."),
	U(struct evr_cfg_destinations, egress_notifications, 0, 1000000000, "0", false,
	  "Notifications per second the whole router sends (egress_capped); "
	  "0 = no cap."),
	U(struct evr_cfg_destinations, egress_bytes, 0, 1000000000000ull, "0", false,
	  "Payload bytes per second the whole router sends; 0 = no cap."),
	END,
};

/* ESL clients may subscribe to everything and inject events (sendevent):
 * off by default, and with a password and an acl when on. */
static const struct evr_setting esl_tab[] = {
	S(struct evr_cfg_esl, listen, 63, "", false, check_opt_udp,
	  "IPv4:port, [IPv6]:port or \"\"",
	  "FreeSWITCH event socket (inbound ESL, as mod_event_socket serves it) for "
	  "event consumers: modesl, greenswitch, python ESL, fs_cli-style clients; "
	  "e.g. \"127.0.0.1:8021\". Off by default."),
	{.name = "password", .type = EVR_CFG_STR,
	 .off = offsetof(struct evr_cfg_esl, password), .max = 255, .def = "",
	 .secret = true, .help = "auth <password> (required when listen is set); "
	 "config_get shows it as ********."},
	SL(struct evr_cfg_esl, acl, 64, check_cidr, "address or address/prefix",
	   "Networks clients may connect from (IPv4 or IPv6 CIDRs); empty = any. "
	   "Others get FreeSWITCH's text/rude-rejection."),
	U(struct evr_cfg_esl, max_clients, 1, 65535, "64", false,
	  "ESL connections at once; the next gets \"Too many connections\"."),
	U(struct evr_cfg_esl, queue_max, 1, 10000000, "100000", false,
	  "Events queued per connection (FreeSWITCH's MAX_QUEUE_LEN): a client "
	  "that does not read loses the rest, counted, and is disconnected after "
	  "500 lost in a row."),
	END,
};

/* "" or a comma-separated list of nats://host:port; credentials have
 * settings of their own (the URL is shown by config_get). */
static int check_nats_url(const void *v, char *err, size_t errlen)
{
	const char *s = v;

	if (!*s)
		return 0;
	for (const char *u = s; ; ) {
		const char *end = strchr(u, ',');
		size_t n = end ? (size_t)(end - u) : strlen(u);

		if (n <= 7 || (strncmp(u, "nats://", 7) != 0 && strncmp(u, "tls://", 6) != 0)) {
			seterr(err, errlen, "'%.*s' is not nats://host:port or tls://host:port",
			       (int)n, u);
			return -EINVAL;
		}
		for (size_t i = 7; i < n; i++) {
			if (u[i] == '@') {
				seterr(err, errlen, "credentials in the URL are refused (it is "
				       "shown by evrctl config): use nats.user/password, token "
				       "or creds_file");
				return -EINVAL;
			}
			if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f) {
				seterr(err, errlen, "'%.*s': spaces or control bytes in a URL",
				       (int)n, u);
				return -EINVAL;
			}
		}
		if (!end)
			return 0;
		u = end + 1;
	}
}

/* Off by default. Workers never talk to NATS: they queue descriptors to
 * the publisher thread (dataplane/evrd/evr_nats.c), which publishes. */
static const struct evr_setting nats_tab[] = {
	S(struct evr_cfg_nats, url, 1023, "", false, check_nats_url,
	  "nats://host:port[,...], tls://host:port[,...] or \"\"",
	  "NATS server(s) nats: destinations publish to (core NATS; a JetStream "
	  "stream bound to the subjects keeps them), e.g. \"nats://127.0.0.1:4222\". "
	  "\"\" = off: nats: subscriptions are refused. Several URLs, comma-separated, "
	  "are tried in turn on reconnect. tls:// (or any nats.tls_*): TLS."),
	S(struct evr_cfg_nats, name, 63, "evrd", false, NULL, NULL,
	  "Client name the server shows (connz)."),
	S(struct evr_cfg_nats, user, 255, "", false, NULL, NULL,
	  "User for user/password authentication (with password)."),
	SSEC(struct evr_cfg_nats, password, 255, NULL, NULL,
	     "Password of user. Shown as ********."),
	SSEC(struct evr_cfg_nats, token, 255, NULL, NULL,
	     "Token authentication (instead of user/password). Shown as ********."),
	S(struct evr_cfg_nats, creds_file, 107, "", false, check_opt_abs_path,
	  "absolute path or \"\"",
	  "Credentials file (user JWT and NKey seed, nsc/nats CLI .creds) for "
	  "decentralised authentication (instead of user/password or token); read "
	  "at each connect, keep it readable by evrd only."),
	S(struct evr_cfg_nats, tls_ca_file, 107, "", false, check_opt_abs_path,
	  "absolute path or \"\"",
	  "TLS: CA certificates (PEM) the NATS servers' certificates must chain "
	  "to. Setting any tls_* (or a tls:// URL) makes every connection TLS, "
	  "server verified (without tls_ca_file: the system's CAs); a server "
	  "that does not offer TLS or fails verification is not used."),
	S(struct evr_cfg_nats, tls_cert_file, 107, "", false, check_opt_abs_path,
	  "absolute path or \"\"",
	  "TLS: this client's certificate chain (PEM), for servers that verify "
	  "clients (nats-server tls { verify: true }); with tls_key_file."),
	S(struct evr_cfg_nats, tls_key_file, 107, "", false, check_opt_abs_path,
	  "absolute path or \"\"",
	  "TLS: the private key (PEM) of tls_cert_file; keep it readable by "
	  "evrd only."),
	S(struct evr_cfg_nats, tls_hostname, 255, "", false, NULL, NULL,
	  "TLS: the name the servers' certificates must carry, when it is not "
	  "the host of the URL (servers reached by address). \"\" = the URL's host."),
	U(struct evr_cfg_nats, ring, 64, 1u << 20, "4096", false,
	  "Notifications queued from the workers to the NATS publisher thread; when "
	  "full they are dropped and counted (nats_ring_full). The header and payload "
	  "pools grow by as many mbufs."),
	U(struct evr_cfg_nats, max_pending_bytes, 1024, 1u << 30, "8388608", false,
	  "Bytes libnats buffers while reconnecting (published once connected again); "
	  "beyond, notifications are dropped and counted (nats_buffer_full)."),
	U(struct evr_cfg_nats, reconnect_wait_ms, 10, 600000, "500", false,
	  "Wait between reconnect attempts to the same server (libnats adds jitter); "
	  "reconnects never stop."),
	END,
};

/* Runtime subscriptions survive restarts: a store writer thread commits
 * every acknowledged change (control/evr_store.c); workers never see it. */
static const struct evr_setting store_tab[] = {
	E(struct evr_cfg_store, kind, store_kind_names, "embedded",
	  "Where runtime subscriptions are kept across restarts: embedded (LMDB "
	  "under store.path, no server), nats (a JetStream KV bucket that several "
	  "appliances share: a subscription made on one matches on all; needs "
	  "nats.url and store.node_id), none (they die with evrd). Static "
	  "subscriptions of this file are never stored."),
	S(struct evr_cfg_store, path, 107, "/var/lib/evrd", false, check_opt_abs_path,
	  "absolute path",
	  "State directory of the embedded store (created 0700 if missing; "
	  "data.mdb, lock.mdb, evrd.lock). One evrd per directory. evrd --store-path "
	  "DIR overrides it; evrd --store-reset starts with an empty store."),
	U(struct evr_cfg_store, map_mb, 1, 1u << 20, "4096", false,
	  "Most megabytes the store file may grow to (LMDB map size; address "
	  "space, not memory): about 300 bytes per subscription. Beyond, changes "
	  "are not durable and are counted (store.errors_full)."),
	S(struct evr_cfg_store, bucket, 63, "evr_subscriptions", false, check_kv_bucket,
	  "letters, digits, - and _",
	  "store.kind nats: the JetStream KV bucket holding the subscriptions "
	  "(created with store.replicas if missing). Every appliance of one "
	  "cluster names the same bucket."),
	U(struct evr_cfg_store, replicas, 1, 5, "1", false,
	  "store.kind nats: replicas of the bucket when evrd creates it (3 for a "
	  "3-node NATS cluster: the set survives one server lost)."),
	U(struct evr_cfg_store, claim_replicas, 1, 5, "1", false,
	  "store.kind nats: replicas of <bucket>_claims, where a fired once "
	  "subscription is claimed by one appliance before it is notified. 1 "
	  "(the default) is what makes the claim exclusive on nats-server before "
	  "2.9.21 (Debian 12 ships 2.9.10: its replicated streams can accept two "
	  "concurrent creates, nats-server issue #4320); then once notifications "
	  "need that one server up. With nats-server 2.9.21 or later, 3."),
	U(struct evr_cfg_store, node_id, 0, 4095, "0", false,
	  "store.kind nats: this appliance's number, unique in the cluster "
	  "(1..4095). Ids it gives are node_id * 2^40 + n, so two appliances "
	  "never give the same id; 0 is refused with kind nats. Taken, not "
	  "trusted: evrd refuses to start while another appliance (another "
	  "host or control socket) holds it; a clean stop frees it at once, a "
	  "crash after 30 s."),
	U(struct evr_cfg_store, timeout_ms, 100, 600000, "5000", false,
	  "store.kind nats: how long a change waits for JetStream's "
	  "acknowledgement (then its reply says durable: false with store_error, "
	  "and a resync undoes it here), and the start-up load for the whole "
	  "bucket."),
	END,
};

static const struct evr_setting rings_tab[] = {
	U(struct evr_cfg_rings, egress_size, 64, 1u << 20, "4096", false,
	  "Per-worker egress ring (notification descriptors)."),
	U(struct evr_cfg_rings, unix_size, 64, 1u << 20, "1024", false,
	  "Ring of unix: notifications to the control thread."),
	U(struct evr_cfg_rings, ctrl_size, 64, 1u << 20, "1024", false,
	  "Ring of raise_event notifications from the control thread."),
	U(struct evr_cfg_rings, rx_pool, 1024, 1u << 24, "8192", false,
	  "RX mbufs per port, at least: raised to what the RX queues and the workers may hold (dataplane/evrd/README.md, RX pool)."),
	U(struct evr_cfg_rings, payload_pool, 1024, 1u << 24, "8192", false,
	  "Payload mbufs (one per event and format)."),
	U(struct evr_cfg_rings, hdr_pool, 1024, 1u << 24, "16384", false,
	  "Header mbufs (one per notification and fragment)."),
	U(struct evr_cfg_rings, indirect_pool, 1024, 1u << 24, "8192", false,
	  "Indirect mbufs for IPv4/IPv6 fragmentation."),
	U(struct evr_cfg_rings, pool_cache, 0, 512, "256", false,
	  "Per-lcore mempool cache."),
	END,
};

static const struct evr_setting limits_tab[] = {
	U(struct evr_cfg_limits, max_attrs, 1, EVR_LIMITS_HARD_MAX_ATTRS, "64", false,
	  "Attributes per event."),
	U(struct evr_cfg_limits, max_name_len, 1, EVR_UDP_MAX_PAYLOAD, "128", false,
	  "Event/attribute name bytes."),
	U(struct evr_cfg_limits, max_value_len, 1, EVR_UDP_MAX_PAYLOAD, "4096", false,
	  "Attribute value bytes (unescaped)."),
	U(struct evr_cfg_limits, max_datagram, 1, EVR_UDP_MAX_PAYLOAD, "65507", false,
	  "Largest event datagram accepted."),
	U(struct evr_cfg_limits, max_fanout, 1, 65534, "1024", false,
	  "Subscribers notified per event; more are dropped and counted "
	  "(bounded by the mbuf reference count)."),
	U(struct evr_cfg_limits, reassembly_flows, 0, 1u << 20, "1024", false,
	  "Per worker: incomplete fragmented datagrams held at once (when "
	  "full, the oldest is dropped); 0 drops fragments."),
	U(struct evr_cfg_limits, reassembly_fragments, 16, 1u << 20, "2048", false,
	  "Per worker: fragments (RX mbufs) held for reassembly at once; when "
	  "full, the oldest datagrams are dropped. The RX pool is sized for it."),
	U(struct evr_cfg_limits, reassembly_timeout_ms, 10, 60000, "2000", false,
	  "Fragments of an incomplete datagram are dropped after this."),
	END,
};

static const struct evr_setting matcher_tab[] = {
	E(struct evr_cfg_matcher, index, index_names, "hybrid",
	  "Matcher index: hybrid (hash + Hyperscan) or naive (reference)."),
	U(struct evr_cfg_matcher, max_subs, 1, 1u << 30, "4194304", false,
	  "Subscriptions accepted before refusing."),
	U(struct evr_cfg_matcher, hs_delta_max, 1, 1u << 20, "512", false,
	  "Patterns per Hyperscan delta database before a merge."),
	U(struct evr_cfg_matcher, hs_max_deltas, 1, 1024, "8", false,
	  "Delta databases per key before a merge."),
	U(struct evr_cfg_matcher, reap_interval_ms, 1, 60000, "200", false,
	  "Period of reaping expired subscriptions."),
	END,
};

static const struct evr_setting arp_tab[] = {
	UC(struct evr_cfg_neighcfg, table_size, 16, 1u << 20, "1024", check_pow2,
	   "power of two", "Neighbour (ARP/ND) table entries, shared by workers."),
	U(struct evr_cfg_neighcfg, reachable_s, 1, 86400, "300", false,
	  "Lifetime of a learned entry before it is refreshed."),
	U(struct evr_cfg_neighcfg, retry_ms, 10, 60000, "1000", false,
	  "Interval between ARP requests / neighbour solicitations."),
	U(struct evr_cfg_neighcfg, max_retries, 1, 100, "3", false,
	  "Requests before a destination is unresolved (waiting "
	  "notifications dropped, counted)."),
	U(struct evr_cfg_neighcfg, pending_max, 1, 1u << 20, "1024", false,
	  "Per-worker notifications waiting for resolution."),
	END,
};

static const struct evr_setting sip_tab[] = {
	UL(struct evr_cfg_sip, mirror_ports, 1, 65535, "5060",
	   "UDP ports (source or destination) followed as SIP on mirror ports."),
	E(struct evr_cfg_sip, events, sip_events_names, "both",
	  "Event families derived from SIP: OpenSIPS (E_UL_*, "
	  "E_DLG_STATE_CHANGED), FreeSWITCH (sofia::*, CHANNEL_*) or both."),
	S(struct evr_cfg_sip, profile, 63, "internal", false, NULL, NULL,
	  "FreeSWITCH profile-name in derived events (sofia/<profile>/...)."),
	S(struct evr_cfg_sip, hostname, 63, "evrd", false, NULL, NULL,
	  "FreeSWITCH-Hostname in derived events."),
	U(struct evr_cfg_sip, max_dialogs, 1, 1u << 26, "100000", false,
	  "INVITE dialogs followed at once (whole router, split over workers); "
	  "beyond, the oldest is evicted and counted."),
	U(struct evr_cfg_sip, max_registrations, 1, 1u << 26, "100000", false,
	  "Registered contacts followed at once (whole router, split over "
	  "workers); beyond, the oldest is evicted and counted."),
	U(struct evr_cfg_sip, originate_timeout_s, 1, 3600, "60", false,
	  "An INVITE without a final answer after this ends with a timeout "
	  "hangup (FreeSWITCH default originate timeout)."),
	U(struct evr_cfg_sip, max_dialog_s, 1, 7u * 86400, "14400", false,
	  "An answered dialog never seen to end is dropped after this (counted)."),
	U(struct evr_cfg_sip, linger_ms, 1, 600000, "32000", false,
	  "Ended transactions and dialogs are kept this long to absorb "
	  "retransmissions (64*T1)."),
	U(struct evr_cfg_sip, default_expires, 1, 1u << 30, "3600", false,
	  "Contact lifetime of a REGISTER that states none."),
	U(struct evr_cfg_sip, pn_refresh_s, 0, 1u << 30, "0", false,
	  "RFC 8599 push contacts (pn-provider in the Contact URI): raise "
	  "E_UL_CONTACT_REFRESH this many seconds before one expires without "
	  "re-registering, as OpenSIPS usrloc contact_refresh_timer with the "
	  "registrar's pn_trigger_interval (e.g. 120). 0 = off (OpenSIPS's default)."),
	UC(struct evr_cfg_sip, handoff_ring, 64, 1u << 20, "4096", check_pow2,
	   "power of two", "Per worker: SIP messages handed over by other "
	   "workers (the worker owning a Call-ID follows its dialog)."),
	U(struct evr_cfg_sip, reorder_ms, 0, 10000, "200", false,
	  "A response (or ACK/BYE) whose request this worker has not seen yet "
	  "is held up to this long for it: with several workers the request "
	  "may still be in another worker's hand-off ring or behind its idle "
	  "sleep, or a capture agent sent the HEP copies out of order. 0 = "
	  "never hold (orphans counted at once)."),
	U(struct evr_cfg_sip, reorder_max, 0, 1u << 20, "1024", false,
	  "Per worker: messages held for their request at once; beyond, they "
	  "are applied at once (counted sip_held_full)."),
	U(struct evr_cfg_sip, endpoint_dedup, 16, 1u << 22, "4096", false,
	  "Per worker: requests remembered by the SIP endpoint to absorb "
	  "retransmissions."),
	S(struct evr_cfg_sip, server, 127, "evrouter", false, NULL, NULL,
	  "Server header of the SIP endpoint's replies."),
	{.name = "hep_password", .type = EVR_CFG_STR,
	 .off = offsetof(struct evr_cfg_sip, hep_password), .max = 255, .def = "",
	 .secret = true, .help = "HEP listeners accept only packets whose auth-key chunk "
	 "(0x0e) holds this password (heplify's -hp, Kamailio siptrace's auth_key); "
	 "others are dropped and counted (hep_auth_failed). \"\" = not checked."},
	U(struct evr_cfg_sip, endpoint_rate_requests, 0, 1000000, "30", false,
	  "SIP endpoint, per source IP (as OpenSIPS pike): datagrams allowed per "
	  "endpoint_rate_window_ms; the rest are dropped unanswered and counted "
	  "(sip_endpoint rate_limited), so spoofed requests cannot make evrd "
	  "reflect. Enforced per worker (a source RSS spreads over k workers gets "
	  "k times it). 0 = off."),
	U(struct evr_cfg_sip, endpoint_rate_window_ms, 1, 3600000, "2000", false,
	  "The rate limit's window (pike's sampling_time_unit)."),
	U(struct evr_cfg_sip, endpoint_rate_sources, 8, 1u << 24, "16384", false,
	  "Per worker: sources the rate limiter remembers (32 bytes each); when "
	  "full the source whose window started first is forgotten (rate_evicted)."),
	END,
};

static const struct evr_setting sub_tab[] = {
	S(struct evr_cfg_sub, event, 255, NULL, true, NULL, NULL,
	  "Event name (\"E_UL_AOR_INSERT\", \"CUSTOM sofia::register\", \"ALL\")."),
	S(struct evr_cfg_sub, socket, 255, NULL, true, check_dest,
	  "udp:host:port, unix:/path or nats:subject", "Destination."),
	SL(struct evr_cfg_sub, filters, EVR_MAX_FILTERS, check_filter,
	   "key=glob", "Filters, all must match (OpenSIPS EBR semantics)."),
	E(struct evr_cfg_sub, format, fmt_out_names, "jsonrpc",
	  "Notification format."),
	U(struct evr_cfg_sub, expire, 0, UINT32_MAX - 1, "0", false,
	  "Seconds; 0 = never expires."),
	B(struct evr_cfg_sub, lenient, "false",
	  "Filters on attributes the event lacks pass (EBR lenient)."),
	END,
};

const struct evr_setting evr_config_table[] = {
	G(struct evr_config, eal, eal_tab, "DPDK EAL."),
	L(struct evr_config, ports, n_ports, struct evr_cfg_port, EVR_CFG_MAX_PORTS,
	  true, port_tab, check_port, "Ports (DPDK ethdevs) and their addresses."),
	G(struct evr_config, workers, workers_tab, "Worker lcores."),
	L(struct evr_config, listeners, n_listeners, struct evr_cfg_listener, 256,
	  false, listener_tab, NULL, "UDP ports events arrive on (required "
	  "unless a port is a SIP mirror port)."),
	G(struct evr_config, control, control_tab, "Control socket."),
	G(struct evr_config, mi, mi_tab, "OpenSIPS MI datagram, FIFO and HTTP transports "
	  "and Prometheus metrics (served with the control socket, so only when "
	  "control.enabled)."),
	G(struct evr_config, heartbeat, heartbeat_tab, "HEARTBEAT events evrd raises itself."),
	G(struct evr_config, destinations, destinations_tab, "Destination policy: where "
	  "subscriptions may send notifications."),
	G(struct evr_config, esl, esl_tab, "FreeSWITCH event socket for event consumers "
	  "(served with the control socket, so only when control.enabled)."),
	G(struct evr_config, nats, nats_tab, "NATS as a notification transport "
	  "(nats:<subject> destinations)."),
	G(struct evr_config, store, store_tab, "Durable runtime subscriptions."),
	G(struct evr_config, rings, rings_tab, "Ring and mempool sizes."),
	G(struct evr_config, limits, limits_tab, "Decoder limits and fan-out."),
	G(struct evr_config, matcher, matcher_tab, "Subscription matcher."),
	G(struct evr_config, arp, arp_tab, "Neighbour resolution (ARP, IPv6 ND)."),
	G(struct evr_config, sip, sip_tab, "SIP ingest: mirror ports, HEP, endpoint."),
	L(struct evr_config, subscriptions, n_subscriptions, struct evr_cfg_sub,
	  1u << 20, false, sub_tab, check_sub,
	  "Static subscriptions loaded at start-up (OpenSIPS subscribe_event "
	  "in startup_route)."),
	END,
};

/* ---- loading ------------------------------------------------------------ */

struct load_ctx {
	const char *file;
	char *err;
	size_t errlen;
};

static int fail(struct load_ctx *lc, const config_setting_t *at, const char *path,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(struct load_ctx *lc, const config_setting_t *at, const char *path,
                const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int line = at ? config_setting_source_line(at) : 0;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!lc->file) /* a runtime change (config_set): no file, no line */
		seterr(lc->err, lc->errlen, "setting %s: %s", path, msg);
	else if (line > 0)
		seterr(lc->err, lc->errlen, "%s:%d: %s: %s", lc->file, line, path, msg);
	else
		seterr(lc->err, lc->errlen, "%s: %s: %s", lc->file, path, msg);
	return -EINVAL;
}

/* Defaults of UINTLIST settings: "5060" or "5060,5080" (table text). */
static int uintlist_from_text(struct evr_cfg_uintlist *l, const char *t)
{
	uint32_t n = 1;

	for (const char *q = t; *q; q++)
		n += *q == ',';
	l->v = calloc(n, sizeof(*l->v));
	if (l->v == NULL)
		return -ENOMEM;
	l->n = 0;
	for (const char *q = t; *q;) {
		char *e;

		l->v[l->n++] = (uint32_t)strtoul(q, &e, 10);
		q = *e == ',' ? e + 1 : e + strlen(e);
	}
	return 0;
}

static void store_uint(void *p, size_t size, uint64_t v)
{
	switch (size) {
	case 1: *(uint8_t *)p = (uint8_t)v; break;
	case 2: *(uint16_t *)p = (uint16_t)v; break;
	case 4: *(uint32_t *)p = (uint32_t)v; break;
	default: *(uint64_t *)p = v; break;
	}
}

static int enum_index(const char *const *names, const char *s)
{
	for (int i = 0; names[i]; i++)
		if (strcasecmp(names[i], s) == 0)
			return i;
	return -1;
}

static void free_group(const struct evr_setting *tab, void *base);

static void free_setting(const struct evr_setting *s, void *base)
{
	char *p = (char *)base + s->off;

	switch (s->type) {
	case EVR_CFG_STR:
		free(*(char **)p);
		*(char **)p = NULL;
		break;
	case EVR_CFG_STRLIST: {
		struct evr_cfg_strlist *l = (struct evr_cfg_strlist *)p;

		for (uint32_t i = 0; i < l->n; i++)
			free(l->v[i]);
		free(l->v);
		l->v = NULL;
		l->n = 0;
		break;
	}
	case EVR_CFG_UINTLIST: {
		struct evr_cfg_uintlist *l = (struct evr_cfg_uintlist *)p;

		free(l->v);
		l->v = NULL;
		l->n = 0;
		break;
	}
	case EVR_CFG_GROUP:
		free_group(s->sub, p);
		break;
	case EVR_CFG_LIST: {
		char *arr = *(char **)p;
		uint32_t *n = (uint32_t *)((char *)base + s->count_off);

		for (uint32_t i = 0; arr && i < *n; i++)
			free_group(s->sub, arr + i * s->size);
		free(arr);
		*(char **)p = NULL;
		*n = 0;
		break;
	}
	default:
		break;
	}
}

static void free_group(const struct evr_setting *tab, void *base)
{
	for (const struct evr_setting *s = tab; s->name; s++)
		free_setting(s, base);
}

/* Defaults come from the same text the reference prints, so the two
 * cannot disagree. */
static int apply_defaults(const struct evr_setting *tab, void *base)
{
	for (const struct evr_setting *s = tab; s->name; s++) {
		char *p = (char *)base + s->off;

		switch (s->type) {
		case EVR_CFG_UINT:
			store_uint(p, s->size, s->def ? strtoull(s->def, NULL, 0) : 0);
			break;
		case EVR_CFG_BOOL:
			*(bool *)p = s->def && strcmp(s->def, "true") == 0;
			break;
		case EVR_CFG_STR:
			if (s->def && (*(char **)p = strdup(s->def)) == NULL)
				return -ENOMEM;
			break;
		case EVR_CFG_ENUM:
			*(uint32_t *)p = s->def ? (uint32_t)enum_index(s->names, s->def) : 0;
			break;
		case EVR_CFG_GROUP:
			if (apply_defaults(s->sub, p) != 0)
				return -ENOMEM;
			break;
		case EVR_CFG_UINTLIST:
			if (s->def && uintlist_from_text((struct evr_cfg_uintlist *)p,
			                                 s->def) != 0)
				return -ENOMEM;
			break;
		default:
			break;
		}
	}
	return 0;
}

static int load_group(struct load_ctx *lc, const struct evr_setting *tab,
                      void *base, const config_setting_t *grp, const char *path);

static void child_path(char *out, size_t len, const char *path, const char *name)
{
	if (path[0])
		snprintf(out, len, "%s.%s", path, name);
	else
		snprintf(out, len, "%s", name);
}

/* Paths are short in practice; a cut one only shortens a message. */
static void index_path(char *out, size_t len, const char *path, int i)
{
	if (snprintf(out, len, "%s[%d]", path, i) >= (int)len)
		out[len - 1] = '\0';
}

static int load_string(struct load_ctx *lc, const struct evr_setting *s,
                       const config_setting_t *cs, const char *path,
                       uint64_t maxlen, char **out)
{
	const char *v;
	char msg[384];

	if (config_setting_type(cs) != CONFIG_TYPE_STRING)
		return fail(lc, cs, path, "expected a string (in double quotes)");
	v = config_setting_get_string(cs);
	if (strlen(v) > maxlen)
		return fail(lc, cs, path, "longer than %" PRIu64 " characters", maxlen);
	if (s->check && s->type != EVR_CFG_LIST && s->check(v, msg, sizeof(msg)) != 0)
		return fail(lc, cs, path, "%s", msg);
	free(*out);
	*out = strdup(v);
	return *out ? 0 : -ENOMEM;
}

static int load_setting(struct load_ctx *lc, const struct evr_setting *s,
                        void *base, const config_setting_t *cs, const char *path)
{
	char *p = (char *)base + s->off;
	char msg[384];

	switch (s->type) {
	case EVR_CFG_UINT: {
		long long v;
		uint64_t u;

		if (config_setting_type(cs) != CONFIG_TYPE_INT &&
		    config_setting_type(cs) != CONFIG_TYPE_INT64)
			return fail(lc, cs, path, "expected an integer");
		v = config_setting_get_int64(cs);
		if (v < 0 || (uint64_t)v < s->min || (uint64_t)v > s->max)
			return fail(lc, cs, path, "%lld is out of range %" PRIu64
			            "..%" PRIu64, v, s->min, s->max);
		u = (uint64_t)v;
		if (s->check && s->check(&u, msg, sizeof(msg)) != 0)
			return fail(lc, cs, path, "%s", msg);
		store_uint(p, s->size, u);
		return 0;
	}
	case EVR_CFG_BOOL:
		if (config_setting_type(cs) != CONFIG_TYPE_BOOL)
			return fail(lc, cs, path, "expected true or false");
		*(bool *)p = config_setting_get_bool(cs);
		return 0;
	case EVR_CFG_STR:
		return load_string(lc, s, cs, path, s->max, (char **)p);
	case EVR_CFG_ENUM: {
		int i;
		char choices[256] = "";

		if (config_setting_type(cs) == CONFIG_TYPE_STRING &&
		    (i = enum_index(s->names, config_setting_get_string(cs))) >= 0) {
			*(uint32_t *)p = (uint32_t)i;
			return 0;
		}
		for (int k = 0; s->names[k]; k++) {
			size_t l = strlen(choices);
			snprintf(choices + l, sizeof(choices) - l, "%s\"%s\"",
			         k ? ", " : "", s->names[k]);
		}
		return fail(lc, cs, path, "expected one of %s", choices);
	}
	case EVR_CFG_STRLIST: {
		struct evr_cfg_strlist *l = (struct evr_cfg_strlist *)p;
		int n;

		if (config_setting_type(cs) != CONFIG_TYPE_ARRAY &&
		    config_setting_type(cs) != CONFIG_TYPE_LIST)
			return fail(lc, cs, path, "expected a list of strings "
			            "[\"a\", \"b\"]");
		n = config_setting_length(cs);
		if ((uint64_t)n > s->max)
			return fail(lc, cs, path, "%d entries, at most %" PRIu64
			            " allowed", n, s->max);
		l->v = calloc((size_t)n + 1, sizeof(char *));
		if (l->v == NULL)
			return -ENOMEM;
		for (int i = 0; i < n; i++) {
			char ep[300];
			int rc;

			index_path(ep, sizeof(ep), path, i);
			rc = load_string(lc, s, config_setting_get_elem(cs, (unsigned)i),
			                 ep, STRLIST_ELEM_MAX, &l->v[i]);
			if (rc != 0)
				return rc;
			l->n++;
		}
		return 0;
	}
	case EVR_CFG_UINTLIST: {
		struct evr_cfg_uintlist *l = (struct evr_cfg_uintlist *)p;
		int n;

		if (config_setting_type(cs) != CONFIG_TYPE_ARRAY &&
		    config_setting_type(cs) != CONFIG_TYPE_LIST)
			return fail(lc, cs, path, "expected a list of integers [1, 2]");
		n = config_setting_length(cs);
		if (n > UINTLIST_MAX)
			return fail(lc, cs, path, "%d entries, at most %d allowed", n,
			            UINTLIST_MAX);
		free(l->v);
		l->n = 0;
		l->v = calloc((size_t)n + 1, sizeof(*l->v));
		if (l->v == NULL)
			return -ENOMEM;
		for (int i = 0; i < n; i++) {
			const config_setting_t *e = config_setting_get_elem(cs, (unsigned)i);
			char ep[300];
			long long v;

			index_path(ep, sizeof(ep), path, i);
			if (config_setting_type(e) != CONFIG_TYPE_INT &&
			    config_setting_type(e) != CONFIG_TYPE_INT64)
				return fail(lc, e, ep, "expected an integer");
			v = config_setting_get_int64(e);
			if (v < 0 || (uint64_t)v < s->min || (uint64_t)v > s->max)
				return fail(lc, e, ep, "%lld is out of range %" PRIu64
				            "..%" PRIu64, v, s->min, s->max);
			l->v[l->n++] = (uint32_t)v;
		}
		return 0;
	}
	case EVR_CFG_GROUP:
		if (config_setting_type(cs) != CONFIG_TYPE_GROUP)
			return fail(lc, cs, path, "expected a group { ... }");
		return load_group(lc, s->sub, p, cs, path);
	case EVR_CFG_LIST: {
		uint32_t *cnt = (uint32_t *)((char *)base + s->count_off);
		char *arr;
		int n;

		if (config_setting_type(cs) != CONFIG_TYPE_LIST &&
		    !(config_setting_type(cs) == CONFIG_TYPE_ARRAY &&
		      config_setting_length(cs) == 0))
			return fail(lc, cs, path, "expected a list of groups "
			            "( { ... }, { ... } )");
		n = config_setting_length(cs);
		if ((uint64_t)n > s->max)
			return fail(lc, cs, path, "%d entries, at most %" PRIu64
			            " allowed", n, s->max);
		arr = calloc((size_t)n + 1, s->size);
		if (arr == NULL)
			return -ENOMEM;
		*(char **)p = arr;
		for (int i = 0; i < n; i++) {
			const config_setting_t *e = config_setting_get_elem(cs, (unsigned)i);
			void *elem = arr + (size_t)i * s->size;
			char ep[300];
			int rc;

			index_path(ep, sizeof(ep), path, i);
			if (config_setting_type(e) != CONFIG_TYPE_GROUP)
				return fail(lc, e, ep, "expected a group { ... }");
			(*cnt)++; /* counted before filling: free_group sees it */
			if (apply_defaults(s->sub, elem) != 0)
				return -ENOMEM;
			rc = load_group(lc, s->sub, elem, e, ep);
			if (rc != 0)
				return rc;
			if (s->check && s->check(elem, msg, sizeof(msg)) != 0)
				return fail(lc, e, ep, "%s", msg);
		}
		return 0;
	}
	}
	return -EINVAL;
}

static int load_group(struct load_ctx *lc, const struct evr_setting *tab,
                      void *base, const config_setting_t *grp, const char *path)
{
	char cp[300];
	int n = grp ? config_setting_length(grp) : 0;

	/* Unknown names first: a misspelt setting must not pass as a default. */
	for (int i = 0; i < n; i++) {
		const config_setting_t *c = config_setting_get_elem(grp, (unsigned)i);
		const char *name = config_setting_name(c);
		const struct evr_setting *s;

		for (s = tab; s->name; s++)
			if (name && strcmp(s->name, name) == 0)
				break;
		if (s->name == NULL) {
			child_path(cp, sizeof(cp), path, name ? name : "?");
			return fail(lc, c, cp, "unknown setting");
		}
	}
	for (const struct evr_setting *s = tab; s->name; s++) {
		const config_setting_t *c = grp ? config_setting_get_member(grp, s->name)
		                                : NULL;
		int rc;

		child_path(cp, sizeof(cp), path, s->name);
		if (c == NULL) {
			if (s->required)
				return fail(lc, grp, cp, "required setting missing");
			continue;
		}
		rc = load_setting(lc, s, base, c, cp);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Checks that span the file. `root` gives lines for the messages. */
/*
 * The destination policy of c: its settings plus, from the ports, evrd's
 * own addresses (host prefixes) and on-link subnets (the default allow
 * list, and where directed broadcasts are). One array holds the three.
 */
int evr_config_dest_policy(const struct evr_config *c, struct evr_dest_policy *p,
                           struct evr_cidr **cidrs)
{
	const struct evr_cfg_destinations *d = &c->destinations;
	uint32_t n_on = 0, n_allow = d->allow.n ? d->allow.n : 0, k = 0;
	struct evr_cidr *v;

	for (uint32_t i = 0; i < c->n_ports; i++)
		n_on += (c->ports[i].ipv4 != NULL) + (c->ports[i].ipv6 != NULL);
	v = calloc((size_t)n_allow + 2u * n_on + 1u, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint32_t i = 0; i < d->allow.n; i++)
		evr_cidr_parse(d->allow.v[i], &v[k++]); /* checked by check_cidr */
	/* on-link subnets, then own addresses */
	for (uint32_t i = 0; i < c->n_ports; i++) {
		const char *pfx[2] = { c->ports[i].ipv4, c->ports[i].ipv6 };

		for (int f = 0; f < 2; f++)
			if (pfx[f])
				evr_cidr_parse(pfx[f], &v[k++]);
	}
	for (uint32_t i = 0; i < n_on; i++) {
		v[k + i] = v[n_allow + i];
		v[k + i].bits = v[k + i].family == AF_INET ? 32 : 128;
	}
	*cidrs = v;
	*p = (struct evr_dest_policy){
		.allow = d->allow.n ? v : v + n_allow,
		.n_allow = d->allow.n ? n_allow : n_on,
		.onlink = v + n_allow,
		.n_onlink = n_on,
		.own = v + n_allow + n_on,
		.n_own = n_on,
		.allow_broadcast = d->allow_broadcast,
		.allow_multicast = d->allow_multicast,
		.allow_loopback = d->allow_loopback,
		.allow_own = d->allow_own,
		.unix_dir = d->unix_dir,
		.nats_on = c->nats.url && c->nats.url[0],
	};
	return 0;
}

static int check_global(struct load_ctx *lc, struct evr_config *c,
                        const config_setting_t *root)
{
	const config_setting_t *ls = config_setting_get_member(root, "listeners");
	const config_setting_t *ps = config_setting_get_member(root, "ports");
	char path[64], msg[256];
	struct evr_limits lim;

	if (c->n_ports == 0)
		return fail(lc, ps, "ports", "at least one port is required");
	bool mirror = false;

	for (uint32_t i = 0; i < c->n_ports; i++)
		mirror |= c->ports[i].mirror;
	/* A pure SIP mirror appliance needs no listener: its input is what it
	 * observes. */
	if (c->n_listeners == 0 && !mirror)
		return fail(lc, ls ? ls : root, "listeners",
		            "at least one listener (or a mirror port) is required");
	if (mirror && c->sip.mirror_ports.n == 0)
		return fail(lc, config_setting_get_member(root, "sip"), "sip.mirror_ports",
		            "a mirror port needs at least one SIP port to follow");
	for (uint32_t i = 0; i < c->n_ports; i++)
		for (uint32_t j = 0; j < i; j++) {
			snprintf(path, sizeof(path), "ports[%u]", i);
			if (strcmp(c->ports[i].name, c->ports[j].name) == 0)
				return fail(lc, config_setting_get_elem(ps, i), path,
				            "port name '%s' used twice", c->ports[i].name);
			if (strcmp(c->ports[i].device, c->ports[j].device) == 0)
				return fail(lc, config_setting_get_elem(ps, i), path,
				            "device '%s' used by two ports",
				            c->ports[i].device);
		}
	for (uint32_t i = 0; i < c->n_listeners; i++) {
		if (c->listeners[i].format == EVR_FMT_XML) {
			snprintf(path, sizeof(path), "listeners[%u].format", i);
			return fail(lc, config_setting_get_elem(ls, i), path,
			            "\"xml\" is a notification format only: no "
			            "FreeSWITCH source sends XML events over UDP");
		}
		if (c->listeners[i].format != EVR_CFG_LISTEN_FS_MULTICAST &&
		    (c->listeners[i].group[0] || c->listeners[i].psk[0])) {
			snprintf(path, sizeof(path), "listeners[%u].group", i);
			return fail(lc, config_setting_get_elem(ls, i), path,
			            "group and psk belong to format \"fs_multicast\" listeners");
		}
		for (uint32_t j = 0; j < i; j++)
			if (c->listeners[i].port == c->listeners[j].port) {
				snprintf(path, sizeof(path), "listeners[%u].port", i);
				return fail(lc, config_setting_get_elem(ls, i), path,
				            "UDP port %u has two listeners",
				            c->listeners[i].port);
			}
	}
	if (c->esl.listen[0] && !c->esl.password[0])
		return fail(lc, config_setting_get_member(root, "esl"), "esl.password",
		            "required with esl.listen: every ESL client authenticates "
		            "(auth <password>)");
	{
		const config_setting_t *ng = config_setting_get_member(root, "nats");
		const struct evr_cfg_nats *n = &c->nats;
		unsigned ways = (n->user[0] || n->password[0]) + !!n->token[0] +
		                !!n->creds_file[0];

		if (n->password[0] && !n->user[0])
			return fail(lc, ng, "nats.password", "needs nats.user");
		if (n->user[0] && !n->password[0])
			return fail(lc, ng, "nats.user", "needs nats.password");
		if (ways > 1)
			return fail(lc, ng, n->token[0] ? "nats.token" : "nats.creds_file",
			            "give one of user/password, token or creds_file");
		if (!n->tls_cert_file[0] != !n->tls_key_file[0])
			return fail(lc, ng, n->tls_cert_file[0] ? "nats.tls_cert_file" :
			            "nats.tls_key_file", "give both tls_cert_file and tls_key_file");
		for (uint32_t i = 0; i < c->n_subscriptions && !n->url[0]; i++)
			if (strncasecmp(c->subscriptions[i].socket, "nats:", 5) == 0) {
				snprintf(path, sizeof(path), "subscriptions[%u].socket", i);
				return fail(lc, config_setting_get_elem(config_setting_get_member(
				                    root, "subscriptions"), i), path,
				            "nats: destinations need nats.url");
			}
	}
	if (c->store.kind == EVR_CFG_STORE_NATS && !c->nats.url[0])
		return fail(lc, config_setting_get_member(root, "store"), "store.kind",
		            "\"nats\" needs nats.url (the JetStream servers)");
	if (c->store.kind == EVR_CFG_STORE_NATS && !c->store.node_id)
		return fail(lc, config_setting_get_member(root, "store"), "store.node_id",
		            "required with store.kind \"nats\": a number 1..4095, "
		            "unique among the appliances sharing store.bucket");
	if (c->eal.in_memory && c->eal.no_huge)
		return fail(lc, config_setting_get_member(root, "eal"), "eal.in_memory",
		            "EAL refuses --in-memory with --no-huge; drop in_memory "
		            "(no hugepage files exist) and use a unique file_prefix");
	evr_config_limits(c, &lim);
	if (evr_limits_validate(&lim, msg, sizeof(msg)) != 0)
		return fail(lc, config_setting_get_member(root, "limits"), "limits",
		            "%s", msg);
	if (evr_config_dest_policy(c, &c->dest_policy, &c->dp_cidrs) != 0)
		return fail(lc, root, "destinations", "out of memory");
	return 0;
}

static struct evr_config *load(config_t *cfg, const char *name, int parse_ok,
                               char *err, size_t errlen)
{
	struct load_ctx lc = {.file = name, .err = err, .errlen = errlen};
	struct evr_config *c;
	const config_setting_t *root;

	if (!parse_ok) {
		const char *f = config_error_file(cfg);

		if (config_error_type(cfg) == CONFIG_ERR_FILE_IO)
			seterr(err, errlen, "%s: cannot read: %s", name, strerror(errno));
		else
			seterr(err, errlen, "%s:%d: syntax error: %s", f ? f : name,
			       config_error_line(cfg), config_error_text(cfg));
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		goto nomem;
	if ((c->file = strdup(name)) == NULL || apply_defaults(evr_config_table, c) != 0)
		goto free_c;
	root = config_root_setting(cfg);
	if (load_group(&lc, evr_config_table, c, root, "") != 0 ||
	    check_global(&lc, c, root) != 0) {
		evr_config_free(c);
		errno = EINVAL;
		return NULL;
	}
	return c;

free_c:
	evr_config_free(c);
nomem:
	seterr(err, errlen, "%s: out of memory", name);
	errno = ENOMEM;
	return NULL;
}

struct evr_config *evr_config_load_file(const char *path, char *err, size_t errlen)
{
	config_t cfg;
	struct evr_config *c;
	int ok;

	config_init(&cfg);
	ok = config_read_file(&cfg, path) == CONFIG_TRUE;
	c = load(&cfg, path, ok, err, errlen);
	config_destroy(&cfg);
	return c;
}

struct evr_config *evr_config_load_string(const char *text, const char *name,
                                          char *err, size_t errlen)
{
	config_t cfg;
	struct evr_config *c;
	int ok;

	config_init(&cfg);
	ok = config_read_string(&cfg, text) == CONFIG_TRUE;
	c = load(&cfg, name, ok, err, errlen);
	config_destroy(&cfg);
	return c;
}

void evr_config_free(struct evr_config *c)
{
	if (c == NULL)
		return;
	free_group(evr_config_table, c);
	free(c->dp_cidrs);
	free(c->file);
	free(c);
}

/* ---- conversions -------------------------------------------------------- */

void evr_config_limits(const struct evr_config *c, struct evr_limits *l)
{
	l->max_attrs = c->limits.max_attrs;
	l->max_name_len = c->limits.max_name_len;
	l->max_value_len = c->limits.max_value_len;
	l->max_datagram = c->limits.max_datagram;
}

void evr_config_matcher_conf(const struct evr_config *c, struct evr_matcher_conf *mc)
{
	evr_matcher_conf_default(mc);
	mc->index = (enum evr_index_kind)c->matcher.index;
	mc->max_subs = c->matcher.max_subs;
	mc->hs_delta_max = c->matcher.hs_delta_max;
	mc->hs_max_deltas = c->matcher.hs_max_deltas;
	mc->reap_interval_ms = c->matcher.reap_interval_ms;
}

void evr_config_sub_spec(const struct evr_cfg_sub *sc, struct evr_sub_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->event = sc->event;
	spec->filters = (const char *const *)sc->filters.v;
	spec->n_filters = sc->filters.n;
	spec->dest = sc->socket;
	spec->format = (enum evr_format)sc->format;
	spec->expire = sc->expire ? sc->expire : EVR_CFG_EXPIRE_NEVER;
	spec->lenient = sc->lenient;
}

/* ---- reference ---------------------------------------------------------- */

/* ---- runtime changes ---------------------------------------------------- */

struct evr_config_change {
	const struct evr_setting *s;
	struct evr_setting at0; /* *s with offset 0: loads and frees ch->v */
	size_t off; /* of the value in struct evr_config */
	size_t size;
	union {     /* the value: new before commit, old after */
		uint64_t u;
		bool b;
		char *str;
		struct evr_cfg_strlist sl;
		struct evr_cfg_uintlist ul;
	} v;
};

static size_t value_size(const struct evr_setting *s)
{
	switch (s->type) {
	case EVR_CFG_UINT: return s->size;
	case EVR_CFG_BOOL: return sizeof(bool);
	case EVR_CFG_STR: return sizeof(char *);
	case EVR_CFG_ENUM: return sizeof(uint32_t);
	case EVR_CFG_STRLIST: return sizeof(struct evr_cfg_strlist);
	case EVR_CFG_UINTLIST: return sizeof(struct evr_cfg_uintlist);
	default: return 0; /* groups and lists are not values */
	}
}

/* A setting by path through groups ("destinations.allow"); its offset in
 * struct evr_config in *off. NULL if there is none. */
static const struct evr_setting *find_setting(const char *name, size_t *off)
{
	const struct evr_setting *tab = evr_config_table, *s = NULL;
	const char *p = name;

	*off = 0;
	while (tab) {
		size_t n = strcspn(p, ".");

		for (s = tab; s->name; s++)
			if (strlen(s->name) == n && strncmp(s->name, p, n) == 0)
				break;
		if (!s->name)
			return NULL;
		*off += s->off;
		if (!p[n])
			return s;
		if (s->type != EVR_CFG_GROUP)
			return NULL;
		tab = s->sub;
		p += n + 1;
	}
	return NULL;
}

struct evr_config_change *evr_config_change_prepare(const struct evr_config *c,
                                                    const char *name, const char *value,
                                                    char *err, size_t errlen)
{
	struct load_ctx lc = {.file = NULL, .err = err, .errlen = errlen};
	struct evr_config_change *ch;
	const config_setting_t *cs;
	config_t cfg;
	size_t off, n;
	char *text;
	int rc;

	(void)c; /* no cross-setting checks apply to the runtime settings yet */
	const struct evr_setting *s = find_setting(name, &off);
	if (!s) {
		seterr(err, errlen, "setting %s: unknown setting", name);
		errno = ENOENT;
		return NULL;
	}
	if (!s->runtime || !value_size(s)) {
		seterr(err, errlen, "setting %s: not changeable at runtime (set it in the "
		       "config file and restart evrd)", name);
		errno = EPERM;
		return NULL;
	}
	n = strlen(value) + 8;
	ch = calloc(1, sizeof(*ch));
	text = malloc(n);
	if (!ch || !text) {
		free(ch);
		free(text);
		seterr(err, errlen, "setting %s: out of memory", name);
		errno = ENOMEM;
		return NULL;
	}
	snprintf(text, n, "v = %s;", value);
	config_init(&cfg);
	if (config_read_string(&cfg, text) != CONFIG_TRUE ||
	    !(cs = config_lookup(&cfg, "v"))) {
		seterr(err, errlen, "setting %s: not a value as a config file writes it "
		       "(%s)", name, config_error_text(&cfg) ? config_error_text(&cfg) : "?");
		rc = -EINVAL;
	} else {
		ch->s = s;
		ch->at0 = *s;
		ch->at0.off = 0;
		ch->off = off;
		ch->size = value_size(s);
		rc = load_setting(&lc, &ch->at0, &ch->v, cs, name);
	}
	config_destroy(&cfg);
	free(text);
	if (rc) {
		if (ch->s)
			free_setting(&ch->at0, &ch->v);
		free(ch);
		errno = -rc;
		return NULL;
	}
	return ch;
}

void evr_config_change_commit(struct evr_config *c, struct evr_config_change *ch)
{
	unsigned char tmp[sizeof(ch->v)];
	char *at = (char *)c + ch->off;

	memcpy(tmp, at, ch->size);
	memcpy(at, &ch->v, ch->size);
	memcpy(&ch->v, tmp, ch->size);
}

void evr_config_change_free(struct evr_config_change *ch)
{
	if (!ch)
		return;
	free_setting(&ch->at0, &ch->v);
	free(ch);
}

const struct evr_setting *evr_config_change_setting(const struct evr_config_change *ch)
{
	return ch->s;
}

static void md_escape(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '|')
			fputs("\\|", out);
		else
			fputc(*s, out);
	}
}

static void print_tab(FILE *out, const struct evr_setting *tab, const char *prefix)
{
	for (const struct evr_setting *s = tab; s->name; s++) {
		char name[256], bounds[128] = "", type[160];

		snprintf(name, sizeof(name), "%s%s", prefix, s->name);
		switch (s->type) {
		case EVR_CFG_UINT:
			snprintf(type, sizeof(type), "integer");
			snprintf(bounds, sizeof(bounds), "%" PRIu64 "..%" PRIu64, s->min, s->max);
			break;
		case EVR_CFG_BOOL:
			snprintf(type, sizeof(type), "bool");
			break;
		case EVR_CFG_STR:
			snprintf(type, sizeof(type), "string");
			snprintf(bounds, sizeof(bounds), "<= %" PRIu64 " chars", s->max);
			break;
		case EVR_CFG_ENUM: {
			size_t l;

			snprintf(type, sizeof(type), "enum");
			for (int k = 0; s->names[k]; k++) {
				l = strlen(bounds);
				snprintf(bounds + l, sizeof(bounds) - l, "%s%s",
				         k ? ", " : "", s->names[k]);
			}
			break;
		}
		case EVR_CFG_STRLIST:
			snprintf(type, sizeof(type), "list of strings");
			snprintf(bounds, sizeof(bounds), "<= %" PRIu64 " entries", s->max);
			break;
		case EVR_CFG_UINTLIST:
			snprintf(type, sizeof(type), "list of integers");
			snprintf(bounds, sizeof(bounds), "%" PRIu64 "..%" PRIu64
			         "; <= %d entries", s->min, s->max, UINTLIST_MAX);
			break;
		case EVR_CFG_GROUP:
			snprintf(type, sizeof(type), "group");
			break;
		case EVR_CFG_LIST:
			snprintf(type, sizeof(type), "list of groups");
			snprintf(bounds, sizeof(bounds), "<= %" PRIu64 " entries", s->max);
			break;
		}
		if (s->check_text) {
			size_t l = strlen(bounds);
			snprintf(bounds + l, sizeof(bounds) - l, "%s%s", l ? "; " : "",
			         s->check_text);
		}
		fprintf(out, "| `%s` | %s | %s%s%s | ", name, type,
		        s->def ? "`" : "", s->required ? "required" : s->def ? s->def : "-",
		        s->def ? "`" : "");
		md_escape(out, bounds);
		fprintf(out, " | %s | ", s->runtime ? "yes" : "no");
		md_escape(out, s->help);
		fputs(" |\n", out);
		if (s->type == EVR_CFG_GROUP) {
			snprintf(name, sizeof(name), "%s%s.", prefix, s->name);
			print_tab(out, s->sub, name);
		} else if (s->type == EVR_CFG_LIST) {
			snprintf(name, sizeof(name), "%s%s[].", prefix, s->name);
			print_tab(out, s->sub, name);
		}
	}
}

void evr_config_print_reference(FILE *out)
{
	fputs("| Setting | Type | Default | Bounds | Runtime | Description |\n"
	      "| --- | --- | --- | --- | --- | --- |\n", out);
	print_tab(out, evr_config_table, "");
}
