/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Subscription filters ("key=value", OpenSIPS EBR) and destinations
 * ("udp:host:port", "udp:[v6]:port", "unix:/path").
 *
 * Design. A parsed filter keeps its lowercased key, the literal the index
 * looks up and the original text in one block (f->key owns it: key, then
 * lit, then text), so the verify path reads key and literal from one cache
 * line and evr_filter_fini has two frees. The literal is a copy of the
 * glob's, so matching an EXACT/PREFIX/SUFFIX filter never dereferences the
 * glob. Destinations are numeric only: resolving names would block the
 * control thread and make a subscription's meaning change with DNS.
 * Error messages quote the offending input, truncated and with non-printable
 * bytes escaped, since they travel back to the subscriber.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/evr_bytes.h"
#include "util/evr_err.h"
#include "evr_nats_subject.h"
#include "evr_sub.h"

#define FILTER_MAX_KEY 128u /* as the default max_name_len of the decoders */
#define QUOTE_MAX      64u  /* input bytes shown in an error message */

/* Printable form of s for messages: at most QUOTE_MAX bytes, '\xHH' for
 * anything outside printable ASCII, "..." when cut. */
static const char *quote(const char *s, char *buf, size_t cap)
{
	size_t n = 0, i;

	for (i = 0; s[i] && i < QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (n + 5 >= cap)
			break;
		if (c >= 0x20 && c < 0x7f) {
			buf[n++] = (char)c;
		} else {
			buf[n++] = '\\';
			buf[n++] = 'x';
			buf[n++] = evr_hex_digit(c >> 4);
			buf[n++] = evr_hex_digit(c);
		}
	}
	if (s[i] && n + 4 < cap) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

#define QBUF (4 * QUOTE_MAX + 8)

int evr_filter_parse(const char *text, struct evr_filter *f, char *err, size_t errlen)
{
	char q[QBUF], gerr[160];
	const char *eq, *lit;
	size_t key_len, text_len, lit_len;
	struct evr_glob *g;
	char *blk;

	memset(f, 0, sizeof(*f));
	if (!text) {
		evr_seterr(err, errlen, "filter missing");
		return -EINVAL;
	}
	eq = strchr(text, '=');
	if (!eq) {
		evr_seterr(err, errlen, "filter '%s': expected key=value", quote(text, q, sizeof(q)));
		return -EINVAL;
	}
	key_len = (size_t)(eq - text);
	if (!key_len) {
		evr_seterr(err, errlen, "filter '%s': empty key", quote(text, q, sizeof(q)));
		return -EINVAL;
	}
	if (key_len > FILTER_MAX_KEY) {
		evr_seterr(err, errlen, "filter '%s': key longer than %u bytes",
		       quote(text, q, sizeof(q)), FILTER_MAX_KEY);
		return -EINVAL;
	}
	text_len = key_len + 1 + strlen(eq + 1);

	g = evr_glob_compile(eq + 1, text_len - key_len - 1, gerr, sizeof(gerr));
	if (!g) {
		int rc = errno == ENOMEM ? -ENOMEM : -EINVAL;

		evr_seterr(err, errlen, "filter '%s': %s", quote(text, q, sizeof(q)), gerr);
		return rc;
	}
	f->cls = evr_glob_classify(g, &lit, &lit_len);

	blk = malloc(key_len + 1 + lit_len + 1 + text_len + 1);
	if (!blk) {
		evr_glob_free(g);
		evr_seterr(err, errlen, "filter '%s': out of memory", quote(text, q, sizeof(q)));
		return -ENOMEM;
	}
	/* Keys compare case-insensitively (ASCII, as evr_ieq): lowercase once. */
	for (size_t i = 0; i < key_len; i++) {
		unsigned char c = (unsigned char)text[i];

		blk[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	blk[key_len] = '\0';
	f->key = blk;
	f->key_len = (uint32_t)key_len;

	f->lit = blk + key_len + 1;
	if (lit_len)
		memcpy(f->lit, lit, lit_len);
	f->lit[lit_len] = '\0';
	f->lit_len = (uint32_t)lit_len;

	f->text = f->lit + lit_len + 1;
	memcpy(f->text, text, text_len + 1);
	f->glob = g;
	return 0;
}

void evr_filter_fini(struct evr_filter *f)
{
	if (!f)
		return;
	free(f->key); /* also holds lit and text */
	evr_glob_free(f->glob);
	memset(f, 0, sizeof(*f));
}

/* ---- destinations ----------------------------------------------------- */

/* Decimal 1..65535; no sign, no spaces. */
static int parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 5)
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (!i || v < 1 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

static int dest_udp(const char *all, const char *s, struct evr_dest *d, char *err,
                    size_t errlen)
{
	char q[QBUF], host[INET6_ADDRSTRLEN + 1], abuf[INET6_ADDRSTRLEN];
	const char *port_s, *h;
	size_t hlen;
	bool v6 = false;
	uint16_t port;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close) {
			evr_seterr(err, errlen, "destination '%s': missing ']' after IPv6 address",
			       quote(all, q, sizeof(q)));
			return -EINVAL;
		}
		h = s + 1;
		hlen = (size_t)(close - h);
		if (close[1] != ':') {
			evr_seterr(err, errlen, "destination '%s': expected ':port' after ']'",
			       quote(all, q, sizeof(q)));
			return -EINVAL;
		}
		port_s = close + 2;
		v6 = true;
	} else {
		const char *colon = strrchr(s, ':');

		if (!colon) {
			evr_seterr(err, errlen, "destination '%s': missing ':port'",
			       quote(all, q, sizeof(q)));
			return -EINVAL;
		}
		h = s;
		hlen = (size_t)(colon - s);
		if (memchr(h, ':', hlen)) {
			evr_seterr(err, errlen,
			       "destination '%s': host contains ':' (IPv6 addresses go "
			       "in brackets, e.g. udp:[::1]:9000)", quote(all, q, sizeof(q)));
			return -EINVAL;
		}
		port_s = colon + 1;
	}
	if (!hlen) {
		evr_seterr(err, errlen, "destination '%s': missing host", quote(all, q, sizeof(q)));
		return -EINVAL;
	}
	if (parse_port(port_s, &port)) {
		evr_seterr(err, errlen, "destination '%s': port must be a number in 1..65535",
		       quote(all, q, sizeof(q)));
		return -EINVAL;
	}
	if (hlen >= sizeof(host))
		goto bad_host;
	memcpy(host, h, hlen);
	host[hlen] = '\0';

	if (v6) {
		d->addr.v6.sin6_family = AF_INET6;
		d->addr.v6.sin6_port = htons(port);
		if (inet_pton(AF_INET6, host, &d->addr.v6.sin6_addr) != 1)
			goto bad_host;
		d->salen = sizeof(d->addr.v6);
		inet_ntop(AF_INET6, &d->addr.v6.sin6_addr, abuf, sizeof(abuf));
		snprintf(d->text, sizeof(d->text), "udp:[%s]:%u", abuf, port);
	} else {
		d->addr.v4.sin_family = AF_INET;
		d->addr.v4.sin_port = htons(port);
		if (strcasecmp(host, "localhost") == 0)
			d->addr.v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		else if (inet_pton(AF_INET, host, &d->addr.v4.sin_addr) != 1)
			goto bad_host;
		d->salen = sizeof(d->addr.v4);
		inet_ntop(AF_INET, &d->addr.v4.sin_addr, abuf, sizeof(abuf));
		snprintf(d->text, sizeof(d->text), "udp:%s:%u", abuf, port);
	}
	d->kind = EVR_DEST_UDP;
	return 0;

bad_host:
	evr_seterr(err, errlen,
	       v6 ? "destination '%s': not a numeric IPv6 address"
	          : "destination '%s': host must be a numeric IPv4 address or localhost",
	       quote(all, q, sizeof(q)));
	return -EINVAL;
}

static int dest_unix(const char *all, const char *path, struct evr_dest *d, char *err,
                     size_t errlen)
{
	char q[QBUF];
	size_t len = strlen(path);

	if (path[0] != '/') {
		evr_seterr(err, errlen, "destination '%s': unix socket path must be absolute",
		       quote(all, q, sizeof(q)));
		return -EINVAL;
	}
	/* Keep room for the NUL: some kernels' and tools' readers expect it. */
	if (len >= sizeof(d->addr.un.sun_path)) {
		evr_seterr(err, errlen, "destination '%s': unix socket path longer than %zu bytes",
		       quote(all, q, sizeof(q)), sizeof(d->addr.un.sun_path) - 1);
		return -EINVAL;
	}
	d->kind = EVR_DEST_UNIX;
	d->addr.un.sun_family = AF_UNIX;
	memcpy(d->addr.un.sun_path, path, len + 1);
	d->salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	snprintf(d->text, sizeof(d->text), "unix:%s", path);
	return 0;
}

/* "esl:<connection id>": made by the control plane for an ESL connection's
 * interest (control/evr_esl.c); subscribers cannot name one (the user-facing
 * entry points refuse it with evr_dest_is_esl). */
static int dest_esl(const char *all, const char *id, struct evr_dest *d, char *err,
                    size_t errlen)
{
	char q[QBUF], *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(id, &end, 10);
	if (!*id || *end || errno || v == 0 || id[0] == '-' || id[0] == '+') {
		evr_seterr(err, errlen, "destination '%s': esl: takes a connection id",
		           quote(all, q, sizeof(q)));
		return -EINVAL;
	}
	d->kind = EVR_DEST_ESL;
	d->addr.esl_conn = v;
	snprintf(d->text, sizeof(d->text), "esl:%llu", v);
	return 0;
}

/* "nats:<subject template>": the subject's syntax here, whether NATS is on
 * and reserved subjects in the destination policy. */
static int dest_nats(const char *all, const char *subj, struct evr_dest *d, char *err,
                     size_t errlen)
{
	char q[QBUF], why[160];
	size_t len = strlen(subj);
	bool templated;

	if (evr_nats_subject_check(subj, len, &templated, why, sizeof(why)) != 0) {
		evr_seterr(err, errlen, "destination '%s': %s", quote(all, q, sizeof(q)), why);
		return -EINVAL;
	}
	d->kind = EVR_DEST_NATS;
	d->addr.nats.len = (uint16_t)len;
	d->addr.nats.templated = templated;
	snprintf(d->text, sizeof(d->text), "nats:%s", subj);
	return 0;
}

bool evr_dest_is_esl(const char *s)
{
	return s && strncasecmp(s, "esl:", 4) == 0;
}

int evr_dest_parse(const char *s, struct evr_dest *d, char *err, size_t errlen)
{
	char q[QBUF];

	memset(d, 0, sizeof(*d));
	if (!s) {
		evr_seterr(err, errlen, "destination missing");
		return -EINVAL;
	}
	if (strncasecmp(s, "udp:", 4) == 0)
		return dest_udp(s, s + 4, d, err, errlen);
	if (strncasecmp(s, "unix:", 5) == 0)
		return dest_unix(s, s + 5, d, err, errlen);
	if (evr_dest_is_esl(s))
		return dest_esl(s, s + 4, d, err, errlen);
	if (strncasecmp(s, "nats:", 5) == 0)
		return dest_nats(s, s + 5, d, err, errlen);
	evr_seterr(err, errlen, "destination '%s': expected udp:host:port, unix:/path or "
	           "nats:subject",
	       quote(s, q, sizeof(q)));
	return -EINVAL;
}
