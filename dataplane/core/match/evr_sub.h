/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Subscriptions: what a subscriber asks for (evr_sub_spec, control input),
 * parsed pieces (filters, destinations), and the live immutable
 * subscription (struct evr_sub) that dataplane readers see through RCU.
 *
 * Filter semantics (seed 001, OpenSIPS EBR): "key=value", key is an event
 * attribute name compared case-insensitively, value a shell wildcard with
 * exactly fnmatch(3) flags-0 semantics (evr_glob.h). All filters must match.
 * Strict (default): a filter whose key the event lacks does not match.
 * Lenient (per subscription, OpenSIPS EBR's own behaviour): a filter on a
 * missing key passes. When an event carries the same attribute name twice,
 * a filter on it passes if any of them matches.
 */
#ifndef EVR_SUB_H
#define EVR_SUB_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "event/evr_event.h"
#include "evr_glob.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EVR_EXPIRE_DEFAULT 3600u /* seconds, as OpenSIPS event_subscribe */
#define EVR_MAX_FILTERS 32u

/* ---- filters ---------------------------------------------------------- */

struct evr_filter {
	char *key;               /* lowercased attribute name, NUL-terminated */
	uint32_t key_len;
	enum evr_glob_class cls; /* EXACT/PREFIX/SUFFIX/COMPLEX */
	char *lit;               /* unescaped literal for EXACT/PREFIX/SUFFIX */
	uint32_t lit_len;
	struct evr_glob *glob;   /* compiled pattern (all classes) */
	char *text;              /* original "key=value" text */
};

/*
 * Parse "key=value" (first '=' splits; the value may contain '='). Refuses
 * no '=', empty key, key longer than max_name_len-ish (128), and any pattern
 * evr_glob_compile refuses; err then names the filter, e.g.
 * "filter 'aor=[bob': unterminated '[' at offset 0". Control thread.
 * Returns 0 or -EINVAL/-ENOMEM. Free with evr_filter_fini.
 */
EVR_API int evr_filter_parse(const char *text, struct evr_filter *f, char *err,
                             size_t errlen);
EVR_API void evr_filter_fini(struct evr_filter *f);

/* Does the filter accept value v? (no key handling). Any thread. */
static inline bool evr_filter_value_match(const struct evr_filter *f,
                                          const char *v, uint32_t len);

/* ---- destinations ----------------------------------------------------- */

enum evr_dest_kind {
	EVR_DEST_UDP = 0, /* udp:host:port, udp:[v6]:port */
	EVR_DEST_UNIX,    /* unix:/path (datagram socket) */
	EVR_DEST_ESL,     /* esl:<id>: an ESL connection of the control plane */
	EVR_DEST_NATS,    /* nats:<subject template>: published to NATS (evrd's
	                   * publisher thread); the template is text + 5 */
};

struct evr_dest {
	enum evr_dest_kind kind;
	socklen_t salen;
	union {
		struct sockaddr sa;
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
		struct sockaddr_un un;
		uint64_t esl_conn; /* EVR_DEST_ESL: the connection's id */
		struct {           /* EVR_DEST_NATS (match/evr_nats_subject.h) */
			uint16_t len;    /* template bytes (text + 5) */
			bool templated;  /* holds {event} */
		} nats;
	} addr;
	char text[128]; /* canonical "udp:198.18.0.2:9000", "udp:[::1]:9", "unix:/p",
	                 * "nats:evr.{event}" */
};

/* Parse a destination; hosts must be numeric addresses ("localhost" is
 * accepted as 127.0.0.1); a nats: subject is checked as
 * evr_nats_subject_check does. 0 or -EINVAL with a message. Any thread. */
EVR_API int evr_dest_parse(const char *s, struct evr_dest *d, char *err,
                           size_t errlen);
/* An "esl:" destination: the control plane's own, for ESL connections;
 * subscribe requests and config files may not name one. */
EVR_API bool evr_dest_is_esl(const char *s);

/* ---- subscription request --------------------------------------------- */

struct evr_sub_spec {
	const char *event;    /* "E_UL_AOR_INSERT", "CUSTOM", "ALL" (any case);
	                       * "CUSTOM sofia::register" is split as a subclass */
	const char *subclass; /* NULL/"" = any (only meaningful with CUSTOM) */
	const char *const *filters;
	uint32_t n_filters;
	const char *dest;
	enum evr_format format; /* notification format (not AUTO) */
	uint32_t expire;        /* seconds; 0 = unsubscribe the same event+dest+filters;
	                         * EVR_SUB_EXPIRE_NEVER = never expires (static
	                         * subscriptions of the config file) */
	bool once;              /* notified at most once, then removed (wait_for_event) */
	bool lenient;           /* EBR lenient: filters on missing keys pass */
	/* Restore only (a durable store loading at start-up): the id to keep
	 * (0 = assign the next one) and the absolute expiry in evr_now_ms
	 * time (0 = now + expire). Control input leaves both 0. */
	uint64_t restore_id;
	uint64_t restore_expires_ms;
};

/* evr_sub_spec.expire of a subscription that never expires: its expiry
 * time is UINT64_MAX, which no clock reaches, so readers and the reaper
 * need no special case. */
#define EVR_SUB_EXPIRE_NEVER UINT32_MAX

/* Expiry time of a subscription made or refreshed at now_ms. */
static inline uint64_t evr_sub_expires_ms(uint32_t expire, uint64_t now_ms)
{
	return expire == EVR_SUB_EXPIRE_NEVER ? UINT64_MAX
	                                      : now_ms + (uint64_t)expire * 1000u;
}

/* ---- live subscription (immutable once published, but for the atomics) -- */

enum evr_sel_kind {
	EVR_SEL_ALL = 0,  /* every event */
	EVR_SEL_NAME,     /* event name (for CUSTOM without subclass: any subclass) */
	EVR_SEL_SUBCLASS, /* CUSTOM + subclass */
};

/*
 * Field order is the read path's: the first 64 bytes are what the matcher
 * reads of every candidate it verifies (expiry, flags, selector) and what
 * fan-out reads of every match (dest, format); the record that embeds this
 * struct keeps them on one cache line (evr_matcher_internal.h). The rest is
 * for listing and for subscriptions with several filters.
 */
struct evr_sub {
	/* ---- hot: one cache line ---- */
	uint64_t expires_ms;     /* monotonic ms; refreshed in place (atomic) */
	uint64_t ev_hash;        /* hash of lowercased event name (+subclass) */
	char *ev_name;           /* event name as given ("ALL" for ALL); compared
	                          * case-insensitively. Interned per matcher */
	const struct evr_dest *dest; /* interned, shared between subscriptions */
	int fired;               /* once: claimed by a reader (atomic xchg) */
	int removed;             /* set before removal from indexes (atomic) */
	uint32_t n_filters;
	uint32_t idx_filter;     /* filter the index found it by (skipped on verify),
	                          * or UINT32_MAX when indexed by event only */
	uint32_t ev_name_len;
	uint32_t subclass_len;
	uint8_t sel;             /* enum evr_sel_kind */
	uint8_t format;          /* enum evr_format; refreshed in place (atomic) */
	uint8_t once;
	uint8_t lenient;
	uint32_t expire_s;       /* as requested (for listing) */
	/* ---- cold ---- */
	uint64_t id;             /* unique, never reused, > 0 */
	uint64_t created_ms;
	char *subclass;          /* NULL unless EVR_SEL_SUBCLASS (as given);
	                          * interned per matcher */
	struct evr_filter *filters;
};

/* Info returned to the subscriber. */
struct evr_sub_info {
	uint64_t id;
	uint32_t expire_s;
	uint64_t expires_ms;
	bool refreshed; /* an identical subscription existed and was refreshed */
	bool removed;   /* expire == 0: subscription(s) removed */
};

/* ---- inline filter helpers shared by every matcher backend ------------- */

static inline bool evr_filter_value_match(const struct evr_filter *f,
                                          const char *v, uint32_t len)
{
	switch (f->cls) {
	case EVR_GLOB_EXACT:
		return len == f->lit_len && __builtin_memcmp(v, f->lit, len) == 0;
	case EVR_GLOB_PREFIX:
		return len >= f->lit_len && __builtin_memcmp(v, f->lit, f->lit_len) == 0;
	case EVR_GLOB_SUFFIX:
		return len >= f->lit_len &&
		       __builtin_memcmp(v + len - f->lit_len, f->lit, f->lit_len) == 0;
	default:
		return evr_glob_match(f->glob, v, len);
	}
}

#ifdef __cplusplus
}
#endif
#endif /* EVR_SUB_H */
