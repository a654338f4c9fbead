/* SPDX-License-Identifier: Apache-2.0 */
/* The configuration as JSON, both ways. See evr_config_json.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "evr_config_json.h"

static json_t *cfg_group_json(const struct evr_setting *tab, const void *base);

static json_t *cfg_value_json(const struct evr_setting *s, const void *base)
{
	const char *p = (const char *)base + s->off;

	switch (s->type) {
	case EVR_CFG_UINT: {
		uint64_t v = s->size == 1 ? *(const uint8_t *)p
		             : s->size == 2 ? *(const uint16_t *)p
		             : s->size == 4 ? *(const uint32_t *)p : *(const uint64_t *)p;

		return json_integer((json_int_t)v);
	}
	case EVR_CFG_BOOL:
		return json_boolean(*(const bool *)p);
	case EVR_CFG_STR:
		if (s->secret) /* set or not, never its text */
			return json_string(*(char *const *)p && **(char *const *)p ? "********" : "");
		return *(char *const *)p ? json_string(*(char *const *)p) : json_null();
	case EVR_CFG_ENUM:
		return json_string(s->names[*(const uint32_t *)p]);
	case EVR_CFG_STRLIST: {
		const struct evr_cfg_strlist *l = (const struct evr_cfg_strlist *)p;
		json_t *a = json_array();

		for (uint32_t i = 0; a && i < l->n; i++)
			json_array_append_new(a, json_string(l->v[i]));
		return a;
	}
	case EVR_CFG_UINTLIST: {
		const struct evr_cfg_uintlist *l = (const struct evr_cfg_uintlist *)p;
		json_t *a = json_array();

		for (uint32_t i = 0; a && i < l->n; i++)
			json_array_append_new(a, json_integer(l->v[i]));
		return a;
	}
	case EVR_CFG_GROUP:
		return cfg_group_json(s->sub, p);
	case EVR_CFG_LIST: {
		const char *arr = *(char *const *)p;
		uint32_t n = *(const uint32_t *)((const char *)base + s->count_off);
		json_t *a = json_array();

		for (uint32_t i = 0; a && arr && i < n; i++)
			json_array_append_new(a, cfg_group_json(s->sub, arr + i * s->size));
		return a;
	}
	}
	return json_null();
}

static json_t *cfg_group_json(const struct evr_setting *tab, const void *base)
{
	json_t *o = json_object();

	for (const struct evr_setting *s = tab; o && s->name; s++)
		json_object_set_new(o, s->name, cfg_value_json(s, base));
	return o;
}

/* A JSON value as a config file writes it (libconfig text), into buf:
 * strings quoted and escaped, numbers, booleans, lists of those. -EINVAL
 * for anything else (objects, null, nested lists). */
static int cfg_text(json_t *v, char *buf, size_t cap, size_t *len, bool top)
{
	char tmp[64];
	const char *p = tmp;
	size_t n;

	if (json_is_string(v)) {
		const char *s = json_string_value(v);

		if (*len + 2 > cap)
			return -EINVAL;
		buf[(*len)++] = '"';
		for (; *s; s++) {
			if (*len + 4 > cap)
				return -EINVAL;
			if (*s == '"' || *s == '\\')
				buf[(*len)++] = '\\';
			buf[(*len)++] = *s;
		}
		buf[(*len)++] = '"';
		buf[*len] = '\0';
		return 0;
	}
	if (json_is_array(v) && top) {
		size_t i;
		json_t *e;

		if (*len + 2 > cap)
			return -EINVAL;
		buf[(*len)++] = '[';
		json_array_foreach(v, i, e) {
			if (i && *len + 1 < cap)
				buf[(*len)++] = ',';
			if (cfg_text(e, buf, cap, len, false))
				return -EINVAL;
		}
		if (*len + 2 > cap)
			return -EINVAL;
		buf[(*len)++] = ']';
		buf[*len] = '\0';
		return 0;
	}
	if (json_is_boolean(v))
		p = json_is_true(v) ? "true" : "false";
	else if (json_is_integer(v)) /* L: libconfig's 64-bit integers */
		snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT "L", json_integer_value(v));
	else
		return -EINVAL;
	n = strlen(p);
	if (*len + n + 1 > cap)
		return -EINVAL;
	memcpy(buf + *len, p, n + 1);
	*len += n;
	return 0;
}

json_t *evr_config_json(const struct evr_config *cfg, const char *path)
{
	json_t *all = cfg_group_json(evr_config_table, cfg), *v = all;

	if (!path || !*path) {
		if (all)
			json_object_set_new(all, "file", json_string(cfg->file ? cfg->file : ""));
		return all;
	}
	char seg[64];

	for (const char *p = path; v && *p;) {
		size_t n = strcspn(p, ".");

		snprintf(seg, sizeof(seg), "%.*s", (int)n, p);
		v = json_object_get(v, seg);
		p += n + (p[n] == '.');
	}
	json_incref(v);
	json_decref(all);
	return v;
}

struct evr_config_change *evr_config_change_prepare_json(const struct evr_config *c,
                                                         const char *name, json_t *value,
                                                         char *err, size_t errlen)
{
	char text[8192];
	size_t len = 0;

	text[0] = '\0';
	if (cfg_text(value, text, sizeof(text), &len, true)) {
		snprintf(err, errlen, "setting %s: value must be a string, an integer, true/"
		         "false or a list of those (at most %zu bytes)", name, sizeof(text));
		errno = EINVAL;
		return NULL;
	}
	return evr_config_change_prepare(c, name, text, err, errlen);
}
