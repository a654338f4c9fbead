/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Binding JSON-RPC params, shared by both method families (evr_actions.c:
 * evrd's own, evr_mi.c: OpenSIPS MI's). Control thread only.
 *
 * Params are bound the same way for every method: an object by name, or a
 * positional array in the method's documented order (OpenSIPS MI clients
 * send positional strings, so numbers and booleans are accepted as strings
 * too). Unknown names are refused rather than ignored: a typo such as
 * "filter" for "filters" would otherwise silently create a broader
 * subscription than intended.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "evr_control_internal.h"

int evr_rpc_fail(int *code, int c, char *msg, size_t msglen, int rc, const char *fmt, ...)
{
	va_list ap;

	*code = c;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	return rc;
}

bool evr_rpc_absent(const json_t *v)
{
	return !v || json_is_null(v);
}

/*
 * Bind params to slot[0..n) by name (object) or position (array, at most
 * npos). JSON null counts as absent.
 */
int evr_rpc_bind(json_t *params, const char *const *names, unsigned n,
                       unsigned npos, json_t **slot, int *code, char *msg,
                       size_t msglen)
{
	const char *key;
	json_t *v;

	memset(slot, 0, n * sizeof(*slot));
	if (evr_rpc_absent(params))
		return 0;
	if (json_is_array(params)) {
		size_t k = json_array_size(params);

		if (k > npos) {
			if (!npos)
				return BAD("this method takes no positional parameters");
			return BAD("at most %u positional parameters (%s%s%s%s%s)", npos,
			           names[0], npos > 1 ? ", " : "", npos > 1 ? names[1] : "",
			           npos > 2 ? ", " : "", npos > 2 ? names[2] : "");
		}
		for (size_t i = 0; i < k; i++)
			slot[i] = json_array_get(params, i);
		return 0;
	}
	if (!json_is_object(params))
		return BAD("params must be an object or an array");
	json_object_foreach(params, key, v) {
		unsigned i;

		for (i = 0; i < n; i++)
			if (strcmp(key, names[i]) == 0)
				break;
		if (i == n)
			return BAD("unknown parameter '%.64s'", key);
		slot[i] = v;
	}
	return 0;
}

int evr_rpc_get_str(json_t *v, const char *name, bool required, const char **out,
                   int *code, char *msg, size_t msglen)
{
	if (evr_rpc_absent(v)) {
		if (required)
			return BAD("missing parameter '%s'", name);
		return 0;
	}
	if (!json_is_string(v))
		return BAD("parameter '%s' must be a string", name);
	*out = json_string_value(v);
	return 0;
}

/* Non-negative integer, also as a decimal string; *out untouched if absent. */
int evr_rpc_get_uint(json_t *v, const char *name, uint64_t max, uint64_t *out,
                    int *code, char *msg, size_t msglen)
{
	uint64_t x = 0;

	if (evr_rpc_absent(v))
		return 0;
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i < 0)
			goto bad;
		x = (uint64_t)i;
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t len = strlen(s);

		if (!len || len > 20)
			goto bad;
		for (size_t i = 0; i < len; i++) {
			unsigned d = (unsigned)(s[i] - '0');

			if (d > 9 || x > (UINT64_MAX - d) / 10)
				goto bad;
			x = x * 10 + d;
		}
	} else {
		goto bad;
	}
	if (x > max)
		return BAD("parameter '%s' must be at most %llu", name, (unsigned long long)max);
	*out = x;
	return 0;
bad:
	return BAD("parameter '%s' must be a non-negative integer", name);
}

/* true/false, 0/1, or those as strings ("yes"/"no" too); untouched if absent. */
int evr_rpc_get_bool(json_t *v, const char *name, bool *out, int *code, char *msg,
                    size_t msglen)
{
	if (evr_rpc_absent(v))
		return 0;
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
		*out = json_integer_value(v) == 1;
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);

		if (!strcasecmp(s, "true") || !strcmp(s, "1") || !strcasecmp(s, "yes")) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, "false") || !strcmp(s, "0") || !strcasecmp(s, "no")) {
			*out = false;
			return 0;
		}
	}
	return BAD("parameter '%s' must be a boolean", name);
}

/* Scalar JSON value as text: numbers in their shortest round-trip form. */
int evr_rpc_scalar_text(json_t *v, char *buf, size_t cap)
{
	switch (json_typeof(v)) {
	case JSON_INTEGER:
		return snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL: {
		double d = json_real_value(v);
		int n = 0;

		for (int prec = 1; prec <= 17; prec++) {
			n = snprintf(buf, cap, "%.*g", prec, d);
			if (strtod(buf, NULL) == d)
				break;
		}
		return n;
	}
	case JSON_TRUE:
		return snprintf(buf, cap, "true");
	case JSON_FALSE:
		return snprintf(buf, cap, "false");
	default:
		return -1;
	}
}

bool evr_rpc_sub_live(const struct evr_sub *s, uint64_t now_ms)
{
	return !__atomic_load_n(&s->removed, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&s->fired, __ATOMIC_ACQUIRE) &&
	       __atomic_load_n(&s->expires_ms, __ATOMIC_ACQUIRE) > now_ms;
}
