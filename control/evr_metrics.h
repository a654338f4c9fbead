/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prometheus text exposition (format 0.0.4) of evrd's counters, served at
 * GET /metrics by the HTTP listener (evr_http.c).
 *
 * Naming: every family is "evrouter_" + a name in base units; counters end
 * in "_total"; labels are bounded sets only (worker, port, pool, ring,
 * result, kind, code: never a subscriber, an address or an event name), so
 * the number of series does not grow with traffic. The control library
 * writes the matcher's and the control server's families; the daemon adds
 * the dataplane's through evr_control_hooks.metrics, with the same writer.
 *
 * A writer keeps the exposition's one rule callers could break: the
 * samples of a family are contiguous, after its HELP and TYPE. Callers loop
 * family first, then label sets. Control thread only.
 */
#ifndef EVR_METRICS_H
#define EVR_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct evr_metrics;

enum evr_metric_type { EVR_METRIC_COUNTER, EVR_METRIC_GAUGE };

/* Start a family: name without the "evrouter_" prefix (and, for a counter,
 * without "_total": the writer adds both). */
void evr_metrics_family(struct evr_metrics *m, enum evr_metric_type type, const char *name,
                        const char *help);

/* One sample of the current family. labels: NULL or pairs of name, value,
 * ending with NULL (values are escaped as the format wants). */
void evr_metrics_sample(struct evr_metrics *m, double value, ...);

/* The whole exposition: matcher and control families, then the hook's.
 * Returns a malloc'd NUL-terminated text (its length in *len), or NULL. */
struct evr_control;
char *evr_metrics_render(struct evr_control *c, size_t *len);

#ifdef __cplusplus
}
#endif
#endif /* EVR_METRICS_H */
