/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one table of control methods (STYLE 21): name, OpenSIPS-style alias,
 * parameter help and a one-line summary. evr_actions.c expands it with the
 * handlers into the dispatch table that also answers list_methods; evrctl
 * expands it without handlers for its offline help. Adding a method means
 * adding a line here and its handler rpc_<id> in evr_actions.c.
 *
 * X(id, name, alias or NULL, params help, summary)
 *
 * Depends on nothing, so evrctl can include it without linking the matcher.
 */
#ifndef EVR_METHODS_H
#define EVR_METHODS_H

#define EVR_CONTROL_METHODS(X)                                                  \
	X(subscribe, "event_subscribe", "evi:event_subscribe",                  \
	  "event socket [expire=3600] [filters=[\"k=v\",..]|{k:v}] "           \
	  "[format=jsonrpc|plain|json] [once] [lenient]",                       \
	  "Subscribe socket (udp:host:port, unix:/path) to an event; "          \
	  "expire 0 unsubscribes")                                              \
	X(unsubscribe, "event_unsubscribe", "evi:event_unsubscribe",            \
	  "id | event socket",                                                  \
	  "Remove a subscription by id, or all of an event for a socket")      \
	X(events_list, "events_list", "evi:events_list", "",                    \
	  "Events with live subscriptions and their subscriber counts")        \
	X(subscribers_list, "subscribers_list", "evi:subscribers_list",         \
	  "[after=0] [limit=100] [event]",                                      \
	  "Subscriptions in id order, one page; follow the 'next' cursor")     \
	X(raise_event, "raise_event", "evi:raise_event",                        \
	  "event [params={k:v}|[v,..]]",                                        \
	  "Raise an event and notify every matching subscriber")               \
	X(stats, "stats", NULL, "",                                             \
	  "Counters: matcher, control server, dataplane")                      \
	X(config_get, "config_get", NULL, "[setting]",                          \
	  "Effective configuration (every setting, defaults filled in), or "    \
	  "one setting or group by path: sip, ports[0].mtu")                   \
	X(version, "version", NULL, "", "Daemon name and version")             \
	X(list_methods, "list_methods", NULL, "",                               \
	  "Methods with their parameters (this list)")

#endif /* EVR_METHODS_H */
