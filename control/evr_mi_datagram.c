/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenSIPS MI datagram transport (mi_datagram) for the control plane: a
 * unix datagram socket (mi.datagram_socket) and a UDP socket
 * (mi.datagram_udp), so opensips-cli's "datagram" communication type and any
 * mi_datagram client reach evrd unchanged.
 *
 * Protocol, as OpenSIPS 3.x modules/mi_datagram/datagram_fnc.c serves it:
 *  - One JSON-RPC request per datagram, no newline or other framing
 *    (opensips-cli opensipscli/communication/datagram.py sends
 *    json.dumps({"jsonrpc","id","method","params"}) with sendto()).
 *  - The answer is ONE datagram sent to the sender's address (recvfrom):
 *    OpenSIPS never splits a reply. Its buffer is DATAGRAM_SOCK_BUF_SIZE =
 *    65457 bytes for requests and replies; a reply that does not fit is
 *    not sent in pieces (print_mi_response fails and a bare "500 Internal
 *    error" string goes out instead). We keep the single-datagram rule and
 *    the limit, but answer an oversized result with a JSON-RPC error
 *    carrying the request's id (503 "result larger than the output
 *    limit"), which a JSON-RPC client can parse. Note opensips-cli's UDP
 *    client reads with recv(1024): longer replies are cut by the client
 *    itself, as with OpenSIPS.
 *  - A request over 65457 bytes is detected with MSG_TRUNC (OpenSIPS
 *    silently parses the truncated bytes) and answered with -32600 "request
 *    too large"; garbage gets -32700. Both count control.mi_bad.
 *  - Unix datagram replies go out from the bound server socket to the
 *    sender's bound path; a sender that did not bind its socket has no
 *    address to answer (its request still runs): counted
 *    control.mi_send_failed, as is any reply the kernel refuses (EAGAIN on
 *    a full receiver, ECONNREFUSED when the sender is gone). Nothing is
 *    retried: the control thread never waits on a datagram peer.
 *
 * Limits: one request per datagram, 65457 bytes each way; each poll turn
 * reads at most DGRAM_BURST datagrams per socket so the stream clients are
 * not starved.
 *
 * Thread context: control thread only (the caller of evr_control_poll);
 * every socket is non-blocking.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "evr_control_internal.h"

#define DGRAM_MAX 65457u /* OpenSIPS DATAGRAM_SOCK_BUF_SIZE */
#define DGRAM_BURST 32u  /* datagrams read per socket per poll turn */

struct evr_mi_dgram {
	int fd;
	int kind;        /* EVR_MI_DGRAM_UNIX / _UDP */
	char *path;      /* unix: the socket file, unlinked at free if ours */
	dev_t dev;
	ino_t ino;
	char *buf;       /* DGRAM_MAX + 1 bytes: one more shows truncation */
};

static const char *const setting_name[2] = { "mi.datagram_socket", "mi.datagram_udp" };

void evr_mi_dgram_free(struct evr_mi_dgram *d)
{
	if (!d)
		return;
	if (d->fd >= 0)
		close(d->fd);
	evr_control_unlink_ours(d->path, d->dev, d->ino);
	free(d->path);
	free(d->buf);
	free(d);
}

int evr_mi_dgram_open(struct evr_control *c, int kind, const char *where, mode_t mode,
                      char *err, size_t errlen)
{
	const char *name = setting_name[kind];
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_un *su = (struct sockaddr_un *)&ss;
	socklen_t sl = 0;
	struct evr_mi_dgram *d;
	struct stat st;
	int rc;

	if (kind == EVR_MI_DGRAM_UNIX) {
		if (where[0] != '/' || strlen(where) >= sizeof(su->sun_path)) {
			evr_control_seterr(err, errlen, "%s %s: must be an absolute path of at "
			                   "most %zu bytes", name, where, sizeof(su->sun_path) - 1);
			return -EINVAL;
		}
		su->sun_family = AF_UNIX;
		memcpy(su->sun_path, where, strlen(where) + 1);
		sl = sizeof(*su);
	} else if (evr_control_parse_hostport(where, SOCK_DGRAM, &ss, &sl) < 0) {
		evr_control_seterr(err, errlen, "%s %s: not IPv4:port or [IPv6]:port", name,
		                   where);
		return -EINVAL;
	}
	d = calloc(1, sizeof(*d));
	if (!d || !(d->buf = malloc(DGRAM_MAX + 1u))) {
		free(d);
		evr_control_seterr(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	d->kind = kind;
	d->fd = -1;
	if (kind == EVR_MI_DGRAM_UNIX) {
		rc = evr_control_clear_stale(name, where, SOCK_DGRAM, err, errlen);
		if (rc)
			goto fail;
	}
	d->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->fd < 0) {
		rc = -errno;
		evr_control_seterr(err, errlen, "%s: socket(): %s", name, strerror(-rc));
		goto fail;
	}
	if (bind(d->fd, (struct sockaddr *)&ss, sl) < 0) {
		rc = -errno;
		evr_control_seterr(err, errlen, "%s %s: bind: %s", name, where, strerror(-rc));
		goto fail;
	}
	if (kind == EVR_MI_DGRAM_UNIX) {
		d->path = strdup(where);
		if (!d->path || stat(where, &st) < 0) {
			rc = -ENOMEM;
			evr_control_seterr(err, errlen, "%s: out of memory", name);
			unlink(where);
			goto fail;
		}
		d->dev = st.st_dev;
		d->ino = st.st_ino;
		if (mode && chmod(where, mode) < 0) {
			rc = -errno;
			evr_control_seterr(err, errlen, "%s %s: chmod %o: %s", name, where,
			                   (unsigned)mode, strerror(-rc));
			goto fail;
		}
	}
	c->mi_dgram[kind] = d;
	return 0;
fail:
	evr_mi_dgram_free(d);
	return rc;
}

unsigned evr_mi_dgram_pollfds(struct evr_mi_dgram *d, struct pollfd *fds, unsigned cap)
{
	if (cap)
		fds[0] = (struct pollfd){ .fd = d->fd, .events = POLLIN };
	return 1;
}

/* Send one reply datagram back to the sender; count it either way. */
static void reply(struct evr_control *c, struct evr_mi_dgram *d, const char *p, size_t n,
                  const struct sockaddr_storage *to, socklen_t tolen)
{
	/* An unbound unix sender shows only its family: no way back. */
	if (tolen <= sizeof(sa_family_t) ||
	    sendto(d->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL, (const struct sockaddr *)to,
	           tolen) < 0) {
		c->cnt.mi_send_failed++;
		return;
	}
	c->cnt.mi_replies++;
}

/* A request we refuse before executing it (too large): a JSON-RPC error
 * with id null, through the same error path as the stream socket. */
static void reply_refused(struct evr_control *c, struct evr_mi_dgram *d,
                          const struct sockaddr_storage *to, socklen_t tolen)
{
	char text[160];
	int n = snprintf(text, sizeof(text),
	                 "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":%d,\"message\":"
	                 "\"request too large\",\"data\":\"datagram longer than %u bytes\"},"
	                 "\"id\":null}",
	                 EVR_RPC_INVALID_REQUEST, DGRAM_MAX);

	evr_control_count_error(c, EVR_RPC_INVALID_REQUEST);
	reply(c, d, text, (size_t)n, to, tolen);
}

int evr_mi_dgram_process(struct evr_control *c, struct evr_mi_dgram *d,
                         const struct pollfd *fds, unsigned n)
{
	int handled = 0;
	unsigned i;

	for (i = 0; i < n && fds[i].fd != d->fd; i++)
		;
	if (i == n || !(fds[i].revents & (POLLIN | POLLERR)))
		return 0;
	for (unsigned k = 0; k < DGRAM_BURST; k++) {
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		ssize_t r = recvfrom(d->fd, d->buf, DGRAM_MAX + 1u, MSG_DONTWAIT | MSG_TRUNC,
		                     (struct sockaddr *)&from, &fromlen);
		char *text;
		size_t len;
		bool bad;
		int rc;

		if (r < 0) {
			if (errno == EINTR)
				continue;
			break; /* EAGAIN: drained; ICMP errors on UDP: next turn */
		}
		c->cnt.mi_requests++;
		if ((size_t)r > DGRAM_MAX) {
			c->cnt.mi_bad++;
			handled++;
			reply_refused(c, d, &from, fromlen);
			continue;
		}
		/* no peer credentials here: admin, guarded by the socket's file
		 * mode (unix) or its loopback binding (UDP) */
		evr_control_set_caller_admin(c, d->kind == EVR_MI_DGRAM_UDP ? "mi-udp"
		                                                            : "mi-datagram");
		rc = evr_control_exec(c, d->buf, (size_t)r, DGRAM_MAX, &bad, &handled, &text,
		                      &len);
		if (bad)
			c->cnt.mi_bad++;
		if (rc != 0)
			evr_control_wait_visible(c);
		if (rc < 0)
			reply(c, d, evr_control_oom_text, strlen(evr_control_oom_text), &from,
			      fromlen);
		else if (rc > 0)
			reply(c, d, text, len, &from, fromlen);
		free(rc > 0 ? text : NULL);
	}
	return handled;
}
