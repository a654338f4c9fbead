/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to sip/state/: the event-construction helpers the platform
 * mappers (evr_sip_opensips.c, evr_sip_freeswitch.c) build their events
 * with, on top of the public builder (event/evr_event_build.h), into the
 * shard's one scratch event. Static inline: each mapper gets them folded
 * into its own code, so a transition costs no extra call per attribute.
 *
 * Thread context: a shard is owned by one worker thread; nothing locks.
 */
#ifndef EVR_SIP_STATE_EV_H
#define EVR_SIP_STATE_EV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "event/evr_event_build.h"
#include "event/evr_fs_std.h"
#include "util/evr_bytes.h"
#include "evr_sip_state_internal.h"


/*
 * Attribute and event names are string literals (or shard strings whose
 * length is kept): the builders take the length, and the always-inline
 * wrappers below take strlen() of a literal, which the compiler folds, so
 * no name is measured at run time (strlen was ~3% of parse + state).
 */
#define ALWAYS_INLINE static inline __attribute__((always_inline))

static inline bool ev_begin_n(struct evr_sip_state *st, uint32_t family, const char *name, size_t nl,
                       const char *subclass, size_t sl)
{
	st->ev_on = false;
	if (!(st->conf.families & family))
		return false;
	if (nl > st->lim.max_name_len) {
		CNT(st, EVENT_DROPPED);
		return false;
	}
	st->ev_on = true;
	evr_ev_begin(&st->ev,
	             family == EVR_SIP_STATE_FREESWITCH ? EVR_FMT_PLAIN : EVR_FMT_JSONRPC);
	st->ev.ev.name = (struct evr_str){ name, (uint32_t)nl, 0 };
	if (subclass)
		st->ev.ev.subclass = (struct evr_str){ subclass, (uint32_t)sl, 0 };
	return true;
}

ALWAYS_INLINE bool ev_begin(struct evr_sip_state *st, uint32_t family, const char *name,
                            const char *subclass)
{
	return ev_begin_n(st, family, name, strlen(name), subclass,
	                  subclass ? strlen(subclass) : 0);
}

/* Append one attribute; vmax bounds the value (max_value_len, or
 * max_name_len for Event-Name/Event-Subclass, which are names). */
static inline void add_lim_n(struct evr_sip_state *st, const char *name, size_t nl, const char *p,
                      size_t n, uint32_t flags, uint32_t vmax)
{
	if (st->ev_on && !evr_ev_add(&st->ev, name, nl, p, n, flags, vmax))
		CNT(st, ATTR_DROPPED);
}

ALWAYS_INLINE void add_lim(struct evr_sip_state *st, const char *name, const char *p, size_t n,
                           uint32_t flags, uint32_t vmax)
{
	add_lim_n(st, name, strlen(name), p, n, flags, vmax);
}

ALWAYS_INLINE void add(struct evr_sip_state *st, const char *name, const char *p, size_t n,
                       uint32_t flags)
{
	add_lim_n(st, name, strlen(name), p, n, flags, st->lim.max_value_len);
}

ALWAYS_INLINE void adds(struct evr_sip_state *st, const char *name, const char *s)
{
	add(st, name, s, strlen(s), 0);
}

ALWAYS_INLINE void addv(struct evr_sip_state *st, const char *name, struct evr_sip_str v)
{
	add(st, name, v.p ? v.p : "", v.len, 0);
}

static inline void addu_n(struct evr_sip_state *st, const char *name, size_t nl, uint64_t v,
                   bool literal)
{
	char tmp[24];

	add_lim_n(st, name, nl, tmp, evr_u64dec(tmp, v), literal ? EVR_STR_LITERAL : 0,
	          st->lim.max_value_len);
}

ALWAYS_INLINE void addu(struct evr_sip_state *st, const char *name, uint64_t v, bool literal)
{
	addu_n(st, name, strlen(name), v, literal);
}

static inline void addi_n(struct evr_sip_state *st, const char *name, size_t nl, int64_t v)
{
	char tmp[24];
	size_t n = 0;

	if (v < 0) {
		tmp[n++] = '-';
		n += evr_u64dec(tmp + n, (uint64_t)0 - (uint64_t)v);
	} else {
		n = evr_u64dec(tmp, (uint64_t)v);
	}
	add_lim_n(st, name, nl, tmp, n, EVR_STR_LITERAL, st->lim.max_value_len);
}

ALWAYS_INLINE void addi(struct evr_sip_state *st, const char *name, int64_t v)
{
	addi_n(st, name, strlen(name), v);
}

#define ADDF(st, name, rec, f) add((st), (name), (rec)->f, (rec)->f##_len, 0)

/* FreeSWITCH events carry these first: Event-Name (and Event-Subclass),
 * then the standard headers of switch_event_prep_for_delivery
 * (event/evr_fs_std.h: run constants shared read-only, dates cached per
 * second in this shard's clock), naming func/line of the raise. */
static inline bool fs_begin_at(struct evr_sip_state *st, const char *name, size_t nl,
                               const char *subclass, size_t sl, const char *file,
                               const char *func, unsigned line)
{
	if (!ev_begin_n(st, EVR_SIP_STATE_FREESWITCH, name, nl, subclass, sl))
		return false;
	add_lim(st, "Event-Name", name, nl, 0, st->lim.max_name_len);
	if (subclass)
		add_lim(st, "Event-Subclass", subclass, sl, 0, st->lim.max_name_len);
	if (!evr_fs_std_add(&st->ev, st->fs_std, &st->fs_clk, st->wall_us, file, func, line))
		CNT(st, ATTR_DROPPED);
	return true;
}

#define fs_begin_n(st, name, nl, subclass, sl)                                                 \
	fs_begin_at((st), (name), (nl), (subclass), (sl), EVR_FILE_NAME, __func__, __LINE__)
#define fs_begin(st, name, subclass)                                                           \
	fs_begin_at((st), (name), strlen(name), (subclass), (subclass) ? strlen(subclass) : 0,  \
	            EVR_FILE_NAME, __func__, __LINE__)

static inline void ev_emit(struct evr_sip_state *st)
{
	if (!st->ev_on)
		return;
	st->ev_on = false;
	st->emit(st->arg, &st->ev.ev);
	st->emitted++;
	CNT(st, EVENTS);
}


#endif /* EVR_SIP_STATE_EV_H */
