/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NATS connection options from the config's nats group, built once for
 * every NATS client evrd runs: the nats: notification publisher
 * (dataplane/evrd/evr_nats.c) and the shared subscription store
 * (evr_store_nats.c). Each then adds its own callbacks.
 *
 * Thread context: start-up (any one thread); libnats copies what it keeps.
 */
#ifndef EVR_NATS_CONN_H
#define EVR_NATS_CONN_H

#include <nats/nats.h>

#include "evr_store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Servers (comma-separated url), client name, authentication (user and
 * password, token or a creds file), reconnecting forever every
 * reconnect_wait_ms, the reconnect buffer, and 2 s connect/write bounds so
 * a server that stops reading never holds a thread. *out is the caller's
 * (natsOptions_Destroy). */
natsStatus evr_nats_conn_options(natsOptions **out, const struct evr_nats_conn_conf *c);

#ifdef __cplusplus
}
#endif
#endif /* EVR_NATS_CONN_H */
