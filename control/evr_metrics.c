/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prometheus text exposition: the writer and the control library's own
 * families (matcher, control server). See evr_metrics.h. Control thread.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evr_control_internal.h"
#include "evr_metrics.h"
#include "evr_store.h"

struct evr_metrics {
	FILE *f;
	char family[128]; /* full name of the current family, with any _total */
};

void evr_metrics_family(struct evr_metrics *m, enum evr_metric_type type, const char *name,
                        const char *help)
{
	snprintf(m->family, sizeof(m->family), "evrouter_%s%s", name,
	         type == EVR_METRIC_COUNTER ? "_total" : "");
	fprintf(m->f, "# HELP %s ", m->family);
	/* HELP text escapes: backslash and newline */
	for (const char *p = help; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", m->f);
		else if (*p == '\n')
			fputs("\\n", m->f);
		else
			fputc(*p, m->f);
	}
	fprintf(m->f, "\n# TYPE %s %s\n", m->family,
	        type == EVR_METRIC_COUNTER ? "counter" : "gauge");
}

void evr_metrics_sample(struct evr_metrics *m, double value, ...)
{
	va_list ap;
	const char *k;
	bool first = true;

	fputs(m->family, m->f);
	va_start(ap, value);
	while ((k = va_arg(ap, const char *)) != NULL) {
		const char *v = va_arg(ap, const char *);

		fprintf(m->f, "%s%s=\"", first ? "{" : ",", k);
		first = false;
		/* label value escapes: backslash, double quote, newline */
		for (; *v; v++) {
			if (*v == '\\' || *v == '"')
				fputc('\\', m->f);
			if (*v == '\n')
				fputs("\\n", m->f);
			else
				fputc(*v, m->f);
		}
		fputc('"', m->f);
	}
	va_end(ap);
	if (!first)
		fputc('}', m->f);
	if (value == floor(value) && fabs(value) < 9.007199254740992e15)
		fprintf(m->f, " %.0f\n", value);
	else
		fprintf(m->f, " %.17g\n", value);
}

/* One unlabelled family <prefix><field> with its one sample (the stats
 * structs' X-macros, matcher and store, go through here). */
static void stat_family(struct evr_metrics *m, enum evr_metric_type k, const char *prefix,
                        const char *field, const char *help, double v)
{
	char name[96];

	snprintf(name, sizeof(name), "%s%s", prefix, field);
	evr_metrics_family(m, k, name, help);
	evr_metrics_sample(m, v, NULL);
}

/* Matcher statistics: counters as matcher_<name>_total, gauges as
 * matcher_<name>; the live count is also "subscriptions". */
static void matcher_families(struct evr_metrics *m, struct evr_control *c)
{
	struct evr_matcher_stats s;

	evr_matcher_get_stats(c->m, &s);
	evr_metrics_family(m, EVR_METRIC_GAUGE, "subscriptions", "live subscriptions");
	evr_metrics_sample(m, (double)s.live, NULL);
#define X(f, k, h)                                                                    \
	if (strncmp(#f, "idx_", 4) != 0)                                              \
		stat_family(m, EVR_METRIC_##k, "matcher_", #f, "matcher: " h, (double)s.f);
	EVR_MATCHER_STATS(X)
#undef X
	/* one family for the index kinds, labelled */
	evr_metrics_family(m, EVR_METRIC_GAUGE, "matcher_index_subscriptions",
	                   "live subscriptions by how the index finds them");
#define X(f, k, h)                                                                    \
	if (strncmp(#f, "idx_", 4) == 0)                                              \
		evr_metrics_sample(m, (double)s.f, "kind", &(#f)[4], NULL);
	EVR_MATCHER_STATS(X)
#undef X
}

static void control_families(struct evr_metrics *m, struct evr_control *c)
{
	char name[96];

#define X(f, h)                                                                       \
	snprintf(name, sizeof(name), "control_%s", #f);                                \
	evr_metrics_family(m, EVR_METRIC_COUNTER, name, "control server: " h);         \
	evr_metrics_sample(m, (double)c->cnt.f, NULL);
	EVR_CONTROL_COUNTERS(X)
#undef X
	evr_metrics_family(m, EVR_METRIC_GAUGE, "control_clients",
	                   "control connections open now");
	evr_metrics_sample(m, (double)c->n_clients, NULL);
	evr_metrics_family(m, EVR_METRIC_COUNTER, "control_errors",
	                   "control error responses by JSON-RPC code");
	for (unsigned i = 0; i < EVR_ERRIDX__COUNT; i++) {
		char code[16];

		evr_control_error_name(i, code, sizeof(code));
		evr_metrics_sample(m, (double)c->errors[i], "code", code, NULL);
	}
}

/* The subscription store (evr_store.h), when there is one: store_<name>. */
static void store_families(struct evr_metrics *m, struct evr_control *c)
{
	struct evr_store_stats s;

	if (!c->store)
		return;
	evr_store_get_stats(c->store, &s);
	/* Prometheus wants base units: the commit time goes out in seconds */
#define X(f, k, h)                                                                    \
	if (strcmp(#f, "last_commit_microseconds") != 0)                               \
		stat_family(m, EVR_METRIC_##k, "store_", #f, "subscription store: " h,  \
		            (double)s.f);
	EVR_STORE_STATS(X)
#undef X
	evr_metrics_family(m, EVR_METRIC_GAUGE, "store_last_commit_seconds",
	                   "subscription store: duration of the last commit (write + sync)");
	evr_metrics_sample(m, (double)s.last_commit_microseconds / 1e6, NULL);
}

char *evr_metrics_render(struct evr_control *c, size_t *len)
{
	struct evr_metrics m = {0};
	char *buf = NULL;
	size_t n = 0;
	time_t now = time(NULL);

	m.f = open_memstream(&buf, &n);
	if (!m.f)
		return NULL;
	evr_metrics_family(&m, EVR_METRIC_GAUGE, "build_info",
	                   "evrd's version (the value is always 1)");
	evr_metrics_sample(&m, 1, "version", EVR_VERSION, NULL);
	evr_metrics_family(&m, EVR_METRIC_GAUGE, "start_time_seconds",
	                   "when the control server started (unix time)");
	evr_metrics_sample(&m, (double)c->started, NULL);
	evr_metrics_family(&m, EVR_METRIC_GAUGE, "uptime_seconds",
	                   "seconds since the control server started");
	evr_metrics_sample(&m, (double)(now > c->started ? now - c->started : 0), NULL);
	matcher_families(&m, c);
	control_families(&m, c);
	store_families(&m, c);
	if (c->hooks.metrics)
		c->hooks.metrics(c->hooks.ctx, &m);
	if (fclose(m.f) != 0) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}
