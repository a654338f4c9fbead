/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Error text for the caller's buffer: the core's parsers (glob, filter,
 * subscription requests) report why an input was refused into a
 * (char *err, size_t errlen) pair the caller owns; either may be NULL/0.
 * Header-only; any thread.
 */
#ifndef EVR_ERR_H
#define EVR_ERR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

static inline void evr_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline void evr_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

#endif /* EVR_ERR_H */
