/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ESL server's parts inside the control library (not installed): the
 * per-connection header filters (evr_esl_filter.c) and the server hooks
 * the control loop calls (evr_esl.c). The public side is
 * evr_control_esl_open / evr_control_esl_deliver in evr_control.h.
 *
 * Thread context: control thread only.
 */
#ifndef EVR_ESL_H
#define EVR_ESL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "event/evr_event.h"

/* ---- filters (evr_esl_filter.c) ------------------------------------------- */

#define EVR_ESL_MAX_FILTERS 256u

struct evr_esl_filter {
	char *name;
	char *value;   /* as given, sign prefix included */
	pcre2_code *re; /* value "/re/flags" */
};

struct evr_esl_filters {
	struct evr_esl_filter *v;
	uint32_t n, cap;
	pcre2_match_data *md; /* shared by the regexes of this list */
};

/* 0, or -EINVAL (bad regex) / -ENOSPC / -ENOMEM with err set. */
int evr_esl_filter_add(struct evr_esl_filters *f, const char *name, const char *value,
                       char *err, size_t errlen);
/* Remove filters on name (with exactly value, unless NULL); how many. */
uint32_t evr_esl_filter_del(struct evr_esl_filters *f, const char *name, const char *value);
void evr_esl_filters_clear(struct evr_esl_filters *f);
void evr_esl_filters_free(struct evr_esl_filters *f);
/* Does ev get through (mod_event_socket's walk, see evr_esl_filter.c)? */
bool evr_esl_filters_pass(const struct evr_esl_filters *f, const struct evr_event *ev);

/* ---- server hooks (evr_esl.c) ------------------------------------------ */

struct evr_control;
struct evr_esl;

/* pollfd entries (listener + connections) into fds (at most cap); returns
 * how many are needed and lowers *timeout_ms to the next deadline. */
unsigned evr_esl_pollfds(struct evr_esl *e, struct pollfd *fds, unsigned cap,
                         int *timeout_ms);
/* Handle the entries filled by evr_esl_pollfds. Commands run count one each. */
int evr_esl_process(struct evr_esl *e, const struct pollfd *fds, unsigned n);
/* Most pollfd entries it may ask for. */
unsigned evr_esl_max_fds(const struct evr_esl *e);
void evr_esl_free(struct evr_esl *e);

#endif /* EVR_ESL_H */
