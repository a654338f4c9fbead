/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configuration as JSON, both ways, through the settings table: what
 * evrctl config / evr_config_get show (secrets as ********), and a
 * runtime change (evr_config_set) given as a JSON value, which is written
 * as libconfig text and parsed and checked by libconfig and the table
 * exactly as a file is (evr_config_change_prepare): there is one parser.
 *
 * Thread: the one that owns the configuration (evrd's control thread).
 */
#ifndef EVR_CONFIG_JSON_H
#define EVR_CONFIG_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "evr_config.h"

/* The setting at path ("destinations.allow", "mi.http"; groups are
 * objects, lists arrays), or with path NULL/"" the whole configuration
 * plus "file". NULL when there is no such setting. New reference. */
json_t *evr_config_json(const struct evr_config *c, const char *path);

/* evr_config_change_prepare with the value as JSON: a string, an
 * integer, true/false or a list of those. NULL with errno and err set
 * ("setting X: ..."). */
struct evr_config_change *evr_config_change_prepare_json(const struct evr_config *c,
                                                         const char *name, json_t *value,
                                                         char *err, size_t errlen);

#endif /* EVR_CONFIG_JSON_H */
