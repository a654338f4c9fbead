/* SPDX-License-Identifier: Apache-2.0 */
/* NATS connection options from the nats group (evr_nats_conn.h). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "evr_nats_conn.h"

#define MAX_SERVERS 64

/* "nats://a:4222,nats://b:4222" -> natsOptions_SetServers. */
static natsStatus set_servers(natsOptions *o, const char *url)
{
	char *copy = strdup(url), *save = NULL;
	const char *v[MAX_SERVERS];
	int n = 0;
	natsStatus s;

	if (!copy)
		return NATS_NO_MEMORY;
	for (char *t = strtok_r(copy, ",", &save); t && n < MAX_SERVERS;
	     t = strtok_r(NULL, ",", &save))
		v[n++] = t;
	s = natsOptions_SetServers(o, v, n);
	free(copy);
	return s;
}

static bool set(const char *v)
{
	return v && v[0];
}

/* TLS when asked for by a setting or by a tls:// server URL. */
static bool tls_wanted(const struct evr_nats_conn_conf *c)
{
	return set(c->tls_ca_file) || set(c->tls_cert_file) || set(c->tls_hostname) ||
	       (c->url && strstr(c->url, "tls://"));
}

/* Every connection TLS, the server verified (libnats: against tls_ca_file,
 * else the system's CAs; and its name), a client certificate if given.
 * The files are read now: a bad one is a start-up error. */
static natsStatus set_tls(natsOptions *o, const struct evr_nats_conn_conf *c)
{
	natsStatus s = natsOptions_SetSecure(o, true);

	if (s == NATS_OK && set(c->tls_ca_file))
		s = natsOptions_LoadCATrustedCertificates(o, c->tls_ca_file);
	if (s == NATS_OK && set(c->tls_cert_file))
		s = natsOptions_LoadCertificatesChain(o, c->tls_cert_file, c->tls_key_file);
	if (s == NATS_OK && set(c->tls_hostname))
		s = natsOptions_SetExpectedHostname(o, c->tls_hostname);
	return s;
}

natsStatus evr_nats_conn_options(natsOptions **out, const struct evr_nats_conn_conf *c)
{
	natsOptions *o = NULL;
	natsStatus s = natsOptions_Create(&o);

	if (s == NATS_OK)
		s = set_servers(o, c->url);
	if (s == NATS_OK && c->name && c->name[0])
		s = natsOptions_SetName(o, c->name);
	if (s == NATS_OK && c->user && c->user[0])
		s = natsOptions_SetUserInfo(o, c->user, c->password);
	if (s == NATS_OK && c->token && c->token[0])
		s = natsOptions_SetToken(o, c->token);
	if (s == NATS_OK && c->creds_file && c->creds_file[0])
		s = natsOptions_SetUserCredentialsFromFiles(o, c->creds_file, NULL);
	if (s == NATS_OK && tls_wanted(c))
		s = set_tls(o, c);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(o, -1); /* never give up */
	if (s == NATS_OK && c->reconnect_wait_ms)
		s = natsOptions_SetReconnectWait(o, c->reconnect_wait_ms);
	if (s == NATS_OK && c->max_pending_bytes)
		s = natsOptions_SetReconnectBufSize(o, (int)c->max_pending_bytes);
	/* a server that stops reading must not hold a thread forever */
	if (s == NATS_OK)
		s = natsOptions_SetWriteDeadline(o, 2000);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(o, 2000);
	if (s != NATS_OK) {
		natsOptions_Destroy(o);
		return s;
	}
	*out = o;
	return NATS_OK;
}
