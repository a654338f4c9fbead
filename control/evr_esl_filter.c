/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ESL header filters of one connection, with mod_event_socket's semantics
 * (FreeSWITCH src/mod/event_handlers/mod_event_socket/mod_event_socket.c,
 * event_handler() and parse_command() "filter"; read, not copied):
 *
 *  - `filter <header> <value>` appends (header, value); `filter add h v` is
 *    the same; `filter delete <header> [<value>]` removes every filter on
 *    that header (case-insensitive), or only those with that exact value;
 *    `filter delete all` removes them all.
 *  - With no filters every event of the connection's interest passes. With
 *    filters, an event passes when some filter accepts it and no negative
 *    filter rejects it, walked in order:
 *      for each filter whose header the event has:
 *        leading '+' / '-' / ' ' in the value set the sign (last one wins,
 *        '+' by default) and are skipped;
 *        a positive filter is skipped once the event already passes;
 *        the value starting with '/' (before any sign) is a PCRE regex
 *        "/re/flags" (flags i = caseless, s = dotall) matched against the
 *        header value, else the value compares case-insensitively;
 *        on a match: positive -> pass; negative -> reject, stop.
 *    So "-/re/" is NOT a regex (FreeSWITCH tests the raw value's first
 *    byte), it compares with the text "/re/"; kept as FreeSWITCH does it.
 *  - Header lookup takes the event's first header of that name
 *    (switch_event_get_header), case-insensitively.
 *
 * Difference, on purpose: FreeSWITCH compiles a regex at every event and
 * logs a bad one (the filter then never matches); here it is compiled once
 * when added, and a bad one is refused at the command with the compiler's
 * message, so the client learns it.
 *
 * Thread context: control thread (ESL server) only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "evr_esl.h"

void evr_esl_filters_clear(struct evr_esl_filters *f)
{
	for (uint32_t i = 0; i < f->n; i++) {
		free(f->v[i].name);
		free(f->v[i].value);
		pcre2_code_free(f->v[i].re);
	}
	f->n = 0;
}

void evr_esl_filters_free(struct evr_esl_filters *f)
{
	evr_esl_filters_clear(f);
	free(f->v);
	pcre2_match_data_free(f->md);
	memset(f, 0, sizeof(*f));
}

int evr_esl_filter_add(struct evr_esl_filters *f, const char *name, const char *value,
                       char *err, size_t errlen)
{
	struct evr_esl_filter nf = { 0 };

	if (f->n >= EVR_ESL_MAX_FILTERS) {
		snprintf(err, errlen, "too many filters (%u)", EVR_ESL_MAX_FILTERS);
		return -ENOSPC;
	}
	if (value[0] == '/') {
		const char *close = strrchr(value + 1, '/');
		uint32_t flags = 0;
		int ec;
		PCRE2_SIZE eo;

		if (!close) {
			snprintf(err, errlen, "regex %s: missing the ending '/'", value);
			return -EINVAL;
		}
		if (strchr(close + 1, 'i'))
			flags |= PCRE2_CASELESS;
		if (strchr(close + 1, 's'))
			flags |= PCRE2_DOTALL;
		nf.re = pcre2_compile((PCRE2_SPTR)(value + 1), (PCRE2_SIZE)(close - value - 1),
		                      flags, &ec, &eo, NULL);
		if (!nf.re) {
			PCRE2_UCHAR msg[128];

			pcre2_get_error_message(ec, msg, sizeof(msg));
			snprintf(err, errlen, "regex %s: %s at offset %zu", value, (char *)msg,
			         (size_t)eo);
			return -EINVAL;
		}
		if (!f->md && !(f->md = pcre2_match_data_create(16, NULL)))
			goto nomem;
	}
	if (f->n == f->cap) {
		uint32_t cap = f->cap ? f->cap * 2 : 4;
		struct evr_esl_filter *v = realloc(f->v, cap * sizeof(*v));

		if (!v)
			goto nomem;
		f->v = v;
		f->cap = cap;
	}
	nf.name = strdup(name);
	nf.value = strdup(value);
	if (!nf.name || !nf.value)
		goto nomem;
	f->v[f->n++] = nf;
	return 0;
nomem:
	free(nf.name);
	free(nf.value);
	pcre2_code_free(nf.re);
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

uint32_t evr_esl_filter_del(struct evr_esl_filters *f, const char *name, const char *value)
{
	uint32_t w = 0, n = f->n;

	for (uint32_t i = 0; i < n; i++) {
		struct evr_esl_filter *x = &f->v[i];

		if (!strcasecmp(x->name, name) && (!value || !strcmp(x->value, value))) {
			free(x->name);
			free(x->value);
			pcre2_code_free(x->re);
			continue;
		}
		f->v[w++] = *x;
	}
	f->n = w;
	return n - w;
}

bool evr_esl_filters_pass(const struct evr_esl_filters *f, const struct evr_event *ev)
{
	bool send = false;

	if (!f->n)
		return true;
	for (uint32_t i = 0; i < f->n; i++) {
		const struct evr_esl_filter *x = &f->v[i];
		const struct evr_attr *a = evr_event_find(ev, x->name, strlen(x->name));
		const char *cmp = x->value;
		bool pos = true, hit;

		if (!a)
			continue;
		for (; *cmp; cmp++) {
			if (*cmp == '+')
				pos = true;
			else if (*cmp == '-')
				pos = false;
			else if (*cmp != ' ')
				break;
		}
		if (send && pos)
			continue;
		if (x->re)
			hit = pcre2_match(x->re, (PCRE2_SPTR)a->value.p, a->value.len, 0, 0, f->md,
			                  NULL) > 0;
		else
			hit = strlen(cmp) == a->value.len && !strncasecmp(a->value.p, cmp, a->value.len);
		if (!hit)
			continue;
		if (!pos)
			return false;
		send = true;
	}
	return send;
}
