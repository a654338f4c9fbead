/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one table of control methods (STYLE 21), in two families:
 *  - MI: the OpenSIPS MI commands evrd serves, by their OpenSIPS names,
 *    parameters and result shapes (opensips-cli, python-opensips and other
 *    MI clients work unchanged: event_subscribe answers "OK");
 *  - EVR: evrd's own, prefixed "evr_", with richer answers (subscription
 *    ids, filters, paging cursors); evrctl uses these.
 * evr_actions.c expands it with the handlers into the dispatch table that
 * also answers `which` and evr_list_methods; evrctl expands it without
 * handlers for its offline help; the README's method table is generated
 * from it (tests/unit/test_layout.py checks it is current). Adding a
 * method means adding a line here and its handler rpc_<id>.
 *
 * X(id, family, access, name, alias or NULL, recipes, params help, summary)
 * access: R (read: lists, stats, version) or W (write: changes subscriptions,
 * raises events, resets counters, disconnects); a peer with the read role
 * may call R methods only (control.admin_* / control.read_*).
 * recipes: the parameter sets a call may use, as `which <command>` lists
 * them (OpenSIPS's recipes): names separated by spaces, sets by '|', an
 * empty set as "".
 *
 * Depends on nothing, so evrctl can include it without linking the matcher.
 */
#ifndef EVR_METHODS_H
#define EVR_METHODS_H

#define EVR_CONTROL_METHODS(X)                                                  \
	X(mi_which, MI, R, "which", NULL, "|command", "[command]",                 \
	  "Names of every method; with a command, its parameter sets")         \
	X(mi_subscribe, MI, W, "event_subscribe", NULL,                            \
	  "event socket|event socket expire",                                   \
	  "event socket [expire=3600] (evrd also takes filters, format, once, " \
	  "lenient)",                                                           \
	  "Subscribe socket to an event; result \"OK\"; expire 0 unsubscribes") \
	X(mi_events_list, MI, R, "events_list", NULL, "", "",                      \
	  "Events evrd knows (subscribed or raised) with stable ids: "          \
	  "{\"Events\":[{name,id}]}")                                          \
	X(mi_subscribers_list, MI, R, "subscribers_list", NULL,                    \
	  "|event|event socket", "[event [socket]]",                            \
	  "Subscribers by event: {\"Events\":[{name,id,Subscribers:[{socket,"   \
	  "expire,ttl}]}]}; one event or one subscriber of it")                 \
	X(mi_raise_event, MI, W, "raise_event", NULL, "event|event params",        \
	  "event [params={k:v}|[v,..]|\"{json}\"]",                             \
	  "Raise an event and notify its subscribers; \"OK\", 480 when none "   \
	  "matches")                                                            \
	X(mi_version, MI, R, "version", NULL, "", "",                              \
	  "{\"Server\": \"evrd (VERSION (ARCH/OS))\"}")                        \
	X(mi_uptime, MI, R, "uptime", NULL, "", "",                                \
	  "{\"Now\",\"Up since\",\"Up time\"} as OpenSIPS prints them")         \
	X(mi_get_statistics, MI, R, "get_statistics", NULL, "statistics",          \
	  "statistics=[all | group: | group:name ...]",                         \
	  "Counters as \"group:name\": value (groups matcher, control, "        \
	  "dataplane)")                                                         \
	X(mi_list_statistics, MI, R, "list_statistics", NULL, "|statistics",       \
	  "[statistics=[...]]",                                                 \
	  "Counters and gauges by name: \"incremental\" / \"non-incremental\"") \
	X(mi_reset_statistics, MI, W, "reset_statistics", NULL, "statistics",      \
	  "statistics=[all | group: | group:name ...]",                         \
	  "Reset counters as get_statistics reports them (gauges are kept)")    \
	X(subscribe, EVR, W, "evr_subscribe", NULL,                                \
	  "event socket expire filters format once lenient",                    \
	  "event socket [expire=3600] [filters=[\"k=v\",..]|{k:v}] "           \
	  "[format=jsonrpc|plain|json|xml] [once] [lenient]",                       \
	  "Subscribe; result {id, expire, refreshed}; expire 0 unsubscribes")   \
	X(unsubscribe, EVR, W, "evr_unsubscribe", "event_unsubscribe",             \
	  "id|event socket", "id | event socket",                               \
	  "Remove a subscription by id, or all of an event for a socket")      \
	X(events_list, EVR, R, "evr_events_list", NULL, "after limit",             \
	  "[after=EVENT] [limit=100]",                                          \
	  "Events with live subscriptions and their subscriber counts, paged")  \
	X(subscribers_list, EVR, R, "evr_subscribers_list", NULL,                  \
	  "after limit event", "[after=0] [limit=100] [event]",                 \
	  "Subscriptions in id order, one page; follow the 'next' cursor")     \
	X(raise_event, EVR, W, "evr_raise_event", NULL, "event params",            \
	  "event [params={k:v}|[v,..]]",                                        \
	  "Raise an event; result {matched, notified, failed}")                \
	X(stats, EVR, R, "evr_stats", "stats", "", "",                             \
	  "Counters: matcher, control server, dataplane")                      \
	X(config_get, EVR, R, "evr_config_get", "config_get", "|setting",          \
	  "[setting]",                                                          \
	  "Effective configuration (every setting, defaults filled in), or "    \
	  "one setting or group by path: sip, ports[0].mtu")                   \
	X(config_set, EVR, W, "evr_config_set", "config_set", "setting value",    \
	  "setting value",                                                      \
	  "Change a runtime setting (destinations.allow, allow_*, unix_dir, "   \
	  "rate_*, burst_ms) as the config file would set it; result {setting, " \
	  "value, previous, refused_subscriptions}")                            \
	X(version, EVR, R, "evr_version", NULL, "", "",                            \
	  "Daemon name and version: {name, version}")                          \
	X(list_methods, EVR, R, "evr_list_methods", "list_methods", "", "",        \
	  "Methods of both families with their parameters (this list)")        \
	X(esl_list, EVR, R, "evr_esl_list", NULL, "", "",                          \
	  "ESL event-socket clients: peer, format, events, filters, queued, "   \
	  "sent, lost")                                                         \
	X(esl_kill, EVR, W, "evr_esl_kill", NULL, "id", "id",                      \
	  "Disconnect an ESL client (its id from evr_esl_list)")

#endif /* EVR_METHODS_H */
