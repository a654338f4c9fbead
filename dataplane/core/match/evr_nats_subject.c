/* SPDX-License-Identifier: Apache-2.0 */
/* NATS subject templates: see evr_nats_subject.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "match/evr_nats_subject.h"

#define PH "{event}"
#define PH_LEN 7u

int evr_nats_subject_check(const char *t, size_t len, bool *templated, char *err,
                           size_t errlen)
{
	bool tpl = false;
	size_t tok = 0; /* bytes in the current token */

	if (templated)
		*templated = false;
	if (len == 0) {
		snprintf(err, errlen, "empty NATS subject");
		return -EINVAL;
	}
	if (len > EVR_NATS_TEMPLATE_MAX) {
		snprintf(err, errlen, "NATS subject longer than %u bytes", EVR_NATS_TEMPLATE_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)t[i];

		if (c < 0x21 || c > 0x7e) {
			snprintf(err, errlen, "NATS subject byte 0x%02x at offset %zu: only "
			         "printable ASCII without spaces", c, i);
			return -EINVAL;
		}
		if (c == '*' || c == '>') {
			snprintf(err, errlen, "NATS subject wildcard '%c' at offset %zu: "
			         "notifications are published to one subject", c, i);
			return -EINVAL;
		}
		if (c == '.') {
			if (tok == 0) {
				snprintf(err, errlen, "empty NATS subject token at offset %zu", i);
				return -EINVAL;
			}
			tok = 0;
			continue;
		}
		if (c == '{') {
			if (len - i < PH_LEN || memcmp(t + i, PH, PH_LEN) != 0) {
				snprintf(err, errlen, "unknown placeholder at offset %zu (only "
				         "{event})", i);
				return -EINVAL;
			}
			tpl = true;
			i += PH_LEN - 1;
			tok += PH_LEN;
			continue;
		}
		if (c == '}') {
			snprintf(err, errlen, "'}' at offset %zu without '{event'", i);
			return -EINVAL;
		}
		tok++;
	}
	if (tok == 0) {
		snprintf(err, errlen, "empty NATS subject token at the end");
		return -EINVAL;
	}
	if (templated)
		*templated = tpl;
	return 0;
}

bool evr_nats_subject_reserved(const char *t, size_t len)
{
	const char *dot = memchr(t, '.', len);
	size_t first = dot ? (size_t)(dot - t) : len;

	return (len && t[0] == '$') || (first == 6 && memcmp(t, "_INBOX", 6) == 0);
}

/* Bytes a subject token cannot hold. */
static inline char map(unsigned char c)
{
	return c <= 0x20 || c >= 0x7f || c == '.' || c == '*' || c == '>' ? '_' : (char)c;
}

static inline uint32_t put_name(char *o, const char *s, uint32_t n, bool first)
{
	for (uint32_t i = 0; i < n; i++)
		o[i] = map((unsigned char)s[i]);
	if (first && n && o[0] == '$')
		o[0] = '_';
	return n;
}

int evr_nats_subject_render(const char *t, uint32_t tlen, bool templated, const char *name,
                            uint32_t nlen, const char *sub, uint32_t slen, char *out,
                            uint32_t cap)
{
	uint32_t lim = cap < EVR_NATS_SUBJECT_MAX + 1 ? cap : EVR_NATS_SUBJECT_MAX + 1;
	uint32_t o = 0, ev = nlen + (slen ? slen + 1 : 0);

	if (!templated) {
		if (tlen + 1 > lim)
			return -1;
		memcpy(out, t, tlen);
		out[tlen] = '\0';
		return (int)tlen;
	}
	if (ev == 0)
		ev = 1; /* "_" */
	for (uint32_t i = 0; i < tlen;) {
		const char *ph = memchr(t + i, '{', tlen - i);
		uint32_t lit = ph ? (uint32_t)(ph - (t + i)) : tlen - i;

		if (o + lit + 1 > lim)
			return -1;
		memcpy(out + o, t + i, lit);
		o += lit;
		i += lit;
		if (!ph)
			break;
		/* a checked template: '{' always opens "{event}" */
		if (o + ev + 1 > lim)
			return -1;
		if (nlen + slen == 0) {
			out[o++] = '_';
		} else {
			o += put_name(out + o, name, nlen, o == 0);
			if (slen) {
				out[o++] = '_'; /* the space between name and subclass */
				o += put_name(out + o, sub, slen, false);
			}
		}
		i += PH_LEN;
	}
	out[o] = '\0';
	return (int)o;
}
