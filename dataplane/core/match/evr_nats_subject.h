/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NATS subjects of nats: destinations: the template a subscription names
 * ("nats:evr.{event}") and its rendering for one event.
 *
 * Template syntax (checked at subscribe, evr_nats_subject_check):
 * 1..EVR_NATS_TEMPLATE_MAX bytes of printable ASCII (0x21..0x7e), tokens
 * separated by '.', none empty; no wildcard ('*', '>'); '{' only as the
 * placeholder "{event}" (any number of times, anywhere in a token), '}'
 * only closing it. Subjects are case-sensitive and kept as given.
 *
 * Rendering (evr_nats_subject_render, hot path: no allocation, no locks):
 * "{event}" becomes the event's name, and for an event with a subclass
 * (FreeSWITCH CUSTOM) the name, a space and the subclass, with every byte
 * a NATS subject token cannot hold mapped to '_': 0x00..0x20 (controls and
 * the space), 0x7f..0xff (DEL and every non-ASCII byte), '.', '*', '>';
 * a '$' that would be the first byte of the subject becomes '_' too (a
 * subject starting with '$' is the server's: $JS, $SYS, $KV). An empty
 * name renders as "_". So "evr.{event}" gives "evr.E_UL_AOR_INSERT" and
 * "evr.CUSTOM_sofia::register" (':' is legal in a token). The rendered
 * subject is at most EVR_NATS_SUBJECT_MAX bytes; a longer one is refused
 * (the caller drops and counts the notification).
 *
 * Pure C, any thread.
 */
#ifndef EVR_NATS_SUBJECT_H
#define EVR_NATS_SUBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/evr_event.h"

/* Longest template: a destination's text is "nats:" + template in 128. */
#define EVR_NATS_TEMPLATE_MAX 122u
/* Longest rendered subject (it travels NUL-terminated in a header mbuf's
 * 256-byte data room). */
#define EVR_NATS_SUBJECT_MAX 255u

/* Is t[0..len) a valid template? 0, or -EINVAL with err saying why
 * (without the destination: the caller prefixes it). *templated tells
 * whether it holds "{event}" (may be NULL). */
EVR_API int evr_nats_subject_check(const char *t, size_t len, bool *templated, char *err,
                                   size_t errlen);

/* Does the template's first token name NATS's own namespace: '$'-prefixed
 * ($JS JetStream API, $SYS, $KV, $O) or "_INBOX" (request replies)? */
EVR_API bool evr_nats_subject_reserved(const char *t, size_t len);

/* Render template t[0..tlen) for an event named name[0..nlen) with
 * subclass sub[0..slen) (slen 0: none) into out (cap bytes), NUL-terminated.
 * templated false copies t. Returns the subject's length, or -1 when it
 * (and its NUL) does not fit cap or EVR_NATS_SUBJECT_MAX. */
EVR_API int evr_nats_subject_render(const char *t, uint32_t tlen, bool templated,
                                    const char *name, uint32_t nlen, const char *sub,
                                    uint32_t slen, char *out, uint32_t cap);

#endif /* EVR_NATS_SUBJECT_H */
