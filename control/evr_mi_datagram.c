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
 *  - Roles (issue 13): a unix datagram carries its sender's credentials
 *    (SO_PASSCRED on our socket: the kernel attaches SCM_CREDENTIALS to
 *    every datagram, the sender need not send them), mapped to the
 *    control socket's roles (control.admin_* / read_*, root is admin): a
 *    reader may call R methods only (403 for the rest), and a sender with
 *    no role, or a datagram without credentials, is refused with a 403
 *    error and nothing runs (control.mi_refused_role). UDP has no peer
 *    identity: every sender gets mi.datagram_udp_role ("read" by default;
 *    "admin" for opensips-cli subscribing on a trusted host; "none" turns
 *    every request down). A refused peer is logged once (evr_control's
 *    table of recent refusals), not once per datagram.
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
		int one = 1;

		/* every datagram then carries its sender's credentials */
		if (setsockopt(d->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
			rc = -errno;
			evr_control_seterr(err, errlen, "%s: SO_PASSCRED: %s", name,
			                   strerror(-rc));
			unlink(where);
			goto fail;
		}
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

/* Where a reply held for the store goes (evr_control_defer_reply). */
struct dgram_to {
	struct evr_mi_dgram *d;
	struct sockaddr_storage to;
	socklen_t tolen;
};

static void reply_deferred(struct evr_control *c, void *ctx, char *text, size_t len)
{
	struct dgram_to *t = ctx;
	reply(c, t->d, text, len, &t->to, t->tolen);
	free(text);
}

/* A request we refuse before executing it (too large, no role): a
 * JSON-RPC error with id null (the request is not parsed), counted as the
 * stream socket counts its errors. */
static void reply_refused(struct evr_control *c, struct evr_mi_dgram *d, int code,
                          const char *message, const char *data,
                          const struct sockaddr_storage *to, socklen_t tolen)
{
	char text[320];
	int n = snprintf(text, sizeof(text),
	                 "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":%d,\"message\":"
	                 "\"%s\",\"data\":\"%s\"},\"id\":null}",
	                 code, message, data);

	evr_control_count_error(c, code);
	reply(c, d, text, (size_t)n, to, tolen);
}

/* The sender's credentials from SCM_CREDENTIALS; false when there are
 * none (then the sender has no role). */
static bool sender_cred(struct msghdr *mh, uid_t *uid, gid_t *gid)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		struct ucred cr;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_CREDENTIALS ||
		    cm->cmsg_len < CMSG_LEN(sizeof(cr)))
			continue;
		memcpy(&cr, CMSG_DATA(cm), sizeof(cr));
		*uid = cr.uid;
		*gid = cr.gid;
		return true;
	}
	return false;
}

/* Who sent this datagram, as the caller of what it asks: false (refused,
 * answered, counted) when the sender has no role. */
static bool set_sender(struct evr_control *c, struct evr_mi_dgram *d, struct msghdr *mh,
                       const struct sockaddr_storage *from, socklen_t fromlen)
{
	char data[96], addr[INET6_ADDRSTRLEN] = "";
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	int role;

	if (d->kind == EVR_MI_DGRAM_UDP) {
		const void *a = from->ss_family == AF_INET6
			? (const void *)&((const struct sockaddr_in6 *)from)->sin6_addr
			: (const void *)&((const struct sockaddr_in *)from)->sin_addr;

		inet_ntop(from->ss_family, a, addr, sizeof(addr));
		role = c->mi_udp_role;
		evr_control_set_caller(c, role == EVR_ROLE_NONE ? EVR_ROLE_READ : role, uid, gid,
		                       "mi-udp", addr);
		snprintf(data, sizeof(data), "mi.datagram_udp_role is none");
	} else {
		bool cred = sender_cred(mh, &uid, &gid);

		role = cred ? evr_control_peer_role(c, uid, gid) : EVR_ROLE_NONE;
		evr_control_set_caller(c, role == EVR_ROLE_NONE ? EVR_ROLE_READ : role, uid, gid,
		                       "mi-datagram", NULL);
		if (cred)
			snprintf(data, sizeof(data), "uid %u is in no control.admin_* / read_* list",
			         (unsigned)uid);
		else
			snprintf(data, sizeof(data), "no sender credentials");
	}
	if (role != EVR_ROLE_NONE)
		return true;
	c->cnt.mi_refused_role++;
	if (evr_control_refusal_first(c))
		evr_control_audit(c, "datagram refused: no role (%s)", data);
	reply_refused(c, d, EVR_RPC_FORBIDDEN, "permission denied", data, from, fromlen);
	return false;
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
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(struct ucred))];
		} ctl;
		struct iovec iov = { .iov_base = d->buf, .iov_len = DGRAM_MAX + 1u };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from),
			             .msg_iov = &iov, .msg_iovlen = 1,
			             .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
		ssize_t r = recvmsg(d->fd, &mh, MSG_DONTWAIT | MSG_TRUNC);
		socklen_t fromlen = mh.msg_namelen;
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
		if (!set_sender(c, d, &mh, &from, fromlen)) {
			handled++;
			continue;
		}
		if ((size_t)r > DGRAM_MAX) {
			char data[64];

			c->cnt.mi_bad++;
			handled++;
			snprintf(data, sizeof(data), "datagram longer than %u bytes", DGRAM_MAX);
			reply_refused(c, d, EVR_RPC_INVALID_REQUEST, "request too large", data,
			              &from, fromlen);
			continue;
		}
		uint64_t seq0 = evr_control_store_seq(c);
		rc = evr_control_exec(c, d->buf, (size_t)r, DGRAM_MAX, &bad, &handled, &text,
		                      &len);
		if (bad)
			c->cnt.mi_bad++;
		if (rc != 0)
			evr_control_wait_visible(c);
		if (rc > 0) {
			/* a change: answered once durable (the next turns serve
			 * other requests meanwhile) */
			struct dgram_to *t = malloc(sizeof(*t));
			if (t) {
				*t = (struct dgram_to){.d = d, .to = from, .tolen = fromlen};
				if (evr_control_defer_reply(c, seq0, text, len, reply_deferred, t))
					continue;
				free(t);
			}
		}
		if (rc < 0)
			reply(c, d, evr_control_oom_text, strlen(evr_control_oom_text), &from,
			      fromlen);
		else if (rc > 0)
			reply(c, d, text, len, &from, fromlen);
		free(rc > 0 ? text : NULL);
	}
	return handled;
}
