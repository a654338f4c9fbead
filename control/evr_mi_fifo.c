/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenSIPS MI FIFO transport (mi_fifo) for the control plane: a request
 * FIFO (mi.fifo) and reply FIFOs made by each client in mi.fifo_reply_dir,
 * so opensips-cli's "fifo" communication type reaches evrd unchanged.
 *
 * Protocol, as OpenSIPS 3.x modules/mi_fifo/fifo_fnc.c (mi_fifo_server)
 * reads it and opensips-cli opensipscli/communication/fifo.py writes it:
 *  - A request is ":REPLY_NAME:" followed by one JSON-RPC request, with no
 *    newline needed: the request ends where the JSON value ends, so several
 *    may follow each other in the FIFO (whitespace between them is
 *    skipped). opensips-cli mkfifo()s fifo_reply_dir/opensips_fifo_reply_<n>,
 *    writes ":opensips_fifo_reply_<n>:{json}" to the request FIFO, closes
 *    it, then opens the reply FIFO for reading and reads one line.
 *  - REPLY_NAME is a bare file name inside mi.fifo_reply_dir: like
 *    get_reply_filename(), a name containing '.', '/' or '\' is refused (so
 *    no absolute path and no escape from the directory), and directory +
 *    name must fit MAX_MI_FILENAME (128 bytes with the NUL). An empty name
 *    ("::{json}") means no reply is wanted; the request still runs.
 *  - The reply is the JSON-RPC response followed by '\n' (one line for
 *    readline()), written to the reply FIFO, which is then closed.
 *  - OpenSIPS opens the reply FIFO O_WRONLY|O_NONBLOCK and retries ENXIO
 *    (no reader yet: the client has not opened it) 4 times 80 ms apart,
 *    sleeping in its own MI process, then writes blocking. evrd's control
 *    thread never sleeps or blocks: a reply waits in one of
 *    EVR_MI_FIFO_PENDING slots, its open retried every poll turn (at most
 *    REPLY_RETRY_MS apart) for REPLY_OPEN_MS, its bytes written as the
 *    pipe takes them for REPLY_WRITE_MS. A reply FIFO that is missing,
 *    refused by the checks below, never opened in time, not read in time,
 *    closed by its reader, or finding every slot busy is dropped and
 *    counted (control.mi_fifo_dropped).
 *  - Reply FIFO checks (mi_fifo_check): opened with O_NOFOLLOW (no symlink),
 *    must be a FIFO with a single link.
 *  - Limits: FIFO_MAX_REQ bytes buffered for one request (OpenSIPS reads at
 *    most MAX_MI_FIFO_BUFFER = 4096; larger ones are accepted here). A
 *    request that does not fit, input that does not start with ':', an
 *    invalid reply name, or a request still incomplete after
 *    control.request_timeout_ms or when every writer has closed the FIFO
 *    (a writer that vanished mid-request) is dropped with what is buffered
 *    and counted (control.mi_bad); a request that is not JSON gets the
 *    parse error reply (when it named a reply FIFO).
 *
 * The request FIFO is created at start (a stale FIFO nobody reads is
 * replaced, one another process reads is refused, anything else is never
 * replaced) and removed at exit if it is still ours. When the last writer
 * closes it, the read end is reopened (new one first, so the pipe always
 * has a reader and nothing written is lost): otherwise poll() would report
 * POLLHUP for ever.
 *
 * Thread context: control thread only (the caller of evr_control_poll);
 * every fd is non-blocking. A write to a reply FIFO whose reader vanished
 * raises no SIGPIPE in the process (blocked around the write, consumed).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "evr_control_internal.h"

#define FIFO_MAX_REQ (64u * 1024u)   /* bytes buffered for one request */
#define FIFO_MAX_REPLY (1u << 20)    /* largest reply text */
#define REPLY_NAME_MAX 128u          /* OpenSIPS MAX_MI_FILENAME, with NUL */
#define REPLY_OPEN_MS 500u           /* wait for the client to open its FIFO */
#define REPLY_RETRY_MS 20u           /* between open attempts */
#define REPLY_WRITE_MS 2000u         /* for the client to read the reply */
#define REOPEN_RETRY_MS 1000u        /* request FIFO gone: retry reopening */
#define READ_BURST 16u               /* reads per poll turn */

struct mi_reply {
	bool used;
	int fd;                 /* -1 until the client opened its end */
	char path[REPLY_NAME_MAX];
	char *text;             /* response + '\n' */
	size_t len, off;
	uint64_t open_by_ms, done_by_ms;
};

struct evr_mi_fifo {
	char *path;
	dev_t dev;
	ino_t ino;
	char reply_dir[REPLY_NAME_MAX]; /* with its trailing '/' */
	size_t reply_dir_len;
	int rfd;                        /* read end, -1 while it cannot be reopened */
	uint64_t reopen_ms;
	char *in;                       /* FIFO_MAX_REQ bytes */
	size_t in_len;
	uint64_t partial_ms;            /* first byte of an incomplete request */
	struct mi_reply rep[EVR_MI_FIFO_PENDING];
};

void evr_mi_fifo_free(struct evr_mi_fifo *f)
{
	if (!f)
		return;
	for (unsigned i = 0; i < EVR_MI_FIFO_PENDING; i++) {
		if (f->rep[i].fd >= 0)
			close(f->rep[i].fd);
		free(f->rep[i].text);
	}
	if (f->rfd >= 0)
		close(f->rfd);
	evr_control_unlink_ours(f->path, f->dev, f->ino);
	free(f->path);
	free(f->in);
	free(f);
}

/* A FIFO at path: one nobody reads is stale (removed), one somebody reads
 * is another daemon's, anything else is not ours to replace. */
static int clear_stale_fifo(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISFIFO(st.st_mode)) {
		evr_control_seterr(err, errlen, "mi.fifo %s: exists and is not a FIFO, "
		                   "refusing to replace it", path);
		return -EEXIST;
	}
	fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		evr_control_seterr(err, errlen, "mi.fifo %s: another process is reading it",
		                   path);
		return -EADDRINUSE;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		int rc = -errno;
		evr_control_seterr(err, errlen, "mi.fifo %s: cannot remove stale FIFO: %s",
		                   path, strerror(-rc));
		return rc;
	}
	return 0;
}

int evr_mi_fifo_open(struct evr_control *c, const char *path, const char *reply_dir,
                     mode_t mode, char *err, size_t errlen)
{
	struct evr_mi_fifo *f;
	size_t dl = strlen(reply_dir);
	struct stat st;
	int rc;

	if (path[0] != '/') {
		evr_control_seterr(err, errlen, "mi.fifo %s: must be an absolute path", path);
		return -EINVAL;
	}
	/* Room for the directory, '/', a name of at least 16 bytes, NUL. */
	if (reply_dir[0] != '/' || dl + 1 + 16 >= REPLY_NAME_MAX) {
		evr_control_seterr(err, errlen, "mi.fifo_reply_dir %s: must be an absolute "
		                   "path of at most %u bytes", reply_dir, REPLY_NAME_MAX - 18);
		return -EINVAL;
	}
	if (stat(reply_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		evr_control_seterr(err, errlen, "mi.fifo_reply_dir %s: not a directory",
		                   reply_dir);
		return -ENOTDIR;
	}
	f = calloc(1, sizeof(*f));
	if (!f || !(f->in = malloc(FIFO_MAX_REQ)) || !(f->path = strdup(path))) {
		if (f)
			free(f->in);
		free(f);
		evr_control_seterr(err, errlen, "mi.fifo: out of memory");
		return -ENOMEM;
	}
	f->rfd = -1;
	for (unsigned i = 0; i < EVR_MI_FIFO_PENDING; i++)
		f->rep[i].fd = -1;
	memcpy(f->reply_dir, reply_dir, dl + 1);
	if (reply_dir[dl - 1] != '/')
		f->reply_dir[dl++] = '/';
	f->reply_dir[dl] = '\0';
	f->reply_dir_len = dl;

	rc = clear_stale_fifo(path, err, errlen);
	if (rc)
		goto fail_nofile;
	if (mkfifo(path, 0600) < 0) {
		rc = -errno;
		evr_control_seterr(err, errlen, "mi.fifo %s: mkfifo: %s", path, strerror(-rc));
		goto fail_nofile;
	}
	if (stat(path, &st) == 0) {
		f->dev = st.st_dev;
		f->ino = st.st_ino;
	}
	if (mode && chmod(path, mode) < 0) {
		rc = -errno;
		evr_control_seterr(err, errlen, "mi.fifo %s: chmod %o: %s", path, (unsigned)mode,
		                   strerror(-rc));
		goto fail;
	}
	f->rfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (f->rfd < 0) {
		rc = -errno;
		evr_control_seterr(err, errlen, "mi.fifo %s: open: %s", path, strerror(-rc));
		goto fail;
	}
	c->mi_fifo = f;
	return 0;
fail_nofile:
	free(f->path);
	f->path = NULL; /* not ours: never unlink it */
fail:
	evr_mi_fifo_free(f);
	return rc;
}

/* ---- replies ------------------------------------------------------------------ */

static void reply_end(struct evr_control *c, struct mi_reply *r, bool sent)
{
	if (sent)
		c->cnt.mi_replies++;
	else
		c->cnt.mi_fifo_dropped++;
	if (r->fd >= 0)
		close(r->fd);
	free(r->text);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

/* write() with SIGPIPE blocked and consumed: a reader that went away must
 * not kill the daemon (evrd ignores SIGPIPE; tests and tools may not). */
static ssize_t write_nosig(int fd, const void *p, size_t n)
{
	sigset_t pipe_set, old;
	ssize_t w;
	int e;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	w = write(fd, p, n);
	e = errno;
	if (w < 0 && e == EPIPE && !sigismember(&old, SIGPIPE)) {
		struct timespec zero = { 0, 0 };

		sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return w;
}

/* Open (if not yet) and write what the pipe takes; finish or drop the reply
 * when it is done, refused or past its deadline. */
static void reply_step(struct evr_control *c, struct mi_reply *r, uint64_t now)
{
	struct stat st;

	if (r->fd < 0) {
		r->fd = open(r->path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
		if (r->fd < 0) {
			/* ENXIO: the client has not opened it for reading yet. */
			if (errno != ENXIO || now >= r->open_by_ms)
				reply_end(c, r, false);
			return;
		}
		if (fstat(r->fd, &st) < 0 || !S_ISFIFO(st.st_mode) || st.st_nlink != 1) {
			reply_end(c, r, false);
			return;
		}
		r->done_by_ms = now + REPLY_WRITE_MS;
	}
	while (r->off < r->len) {
		ssize_t w = write_nosig(r->fd, r->text + r->off, r->len - r->off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN || now >= r->done_by_ms)
				reply_end(c, r, false); /* EPIPE: the reader left */
			return;
		}
		r->off += (size_t)w;
	}
	reply_end(c, r, true);
}

/* Queue the answer text (taken over) for fifo_reply_dir/name. */
static void reply_queue(struct evr_control *c, struct evr_mi_fifo *f, const char *name,
                        size_t nlen, char *text, size_t len, uint64_t now)
{
	struct mi_reply *r = NULL;

	for (unsigned i = 0; i < EVR_MI_FIFO_PENDING && !r; i++)
		if (!f->rep[i].used)
			r = &f->rep[i];
	if (!r || len + 1 > FIFO_MAX_REPLY) {
		c->cnt.mi_fifo_dropped++;
		free(text);
		return;
	}
	r->used = true;
	memcpy(r->path, f->reply_dir, f->reply_dir_len);
	memcpy(r->path + f->reply_dir_len, name, nlen);
	r->path[f->reply_dir_len + nlen] = '\0';
	text[len] = '\n'; /* evr_control_exec leaves the byte spare */
	r->text = text;
	r->len = len + 1;
	r->open_by_ms = now + REPLY_OPEN_MS;
	reply_step(c, r, now);
}

/* ---- requests ----------------------------------------------------------------- */

/* A reply held for the store (evr_control_defer_reply): its reply name. */
struct fifo_to {
	struct evr_mi_fifo *f;
	size_t nlen;
	char name[];
};

static void reply_deferred(struct evr_control *c, void *ctx, char *text, size_t len)
{
	struct fifo_to *t = ctx;
	reply_queue(c, t->f, t->name, t->nlen, text, len, evr_now_ms());
}

/* Run text[0, n) and queue its answer for the reply name (when one was
 * given and there is an answer); an answer to a change once it is durable. */
static void run(struct evr_control *c, struct evr_mi_fifo *f, const char *name,
                size_t nlen, const char *text, size_t n, int *handled, uint64_t now)
{
	char *out;
	size_t len;
	bool bad;
	int rc;

	c->cnt.mi_requests++;
	evr_control_set_caller_admin(c, "fifo"); /* the FIFO's file mode guards it */
	uint64_t seq0 = evr_control_store_seq(c);
	rc = evr_control_exec(c, text, n, FIFO_MAX_REPLY - 1, &bad, handled, &out, &len);
	if (bad)
		c->cnt.mi_bad++;
	if (rc < 0) {
		len = strlen(evr_control_oom_text);
		out = malloc(len + 1);
		if (out)
			memcpy(out, evr_control_oom_text, len);
		rc = out ? 1 : 0;
	}
	if (rc == 0)
		return;
	if (!nlen) {
		free(out); /* "::": no reply wanted */
		return;
	}
	evr_control_wait_visible(c);
	struct fifo_to *t = malloc(sizeof(*t) + nlen);
	if (t) {
		t->f = f;
		t->nlen = nlen;
		memcpy(t->name, name, nlen);
		if (evr_control_defer_reply(c, seq0, out, len, reply_deferred, t))
			return;
		free(t);
	}
	reply_queue(c, f, name, nlen, out, len, now);
}

static void drop_input(struct evr_control *c, struct evr_mi_fifo *f)
{
	c->cnt.mi_bad++;
	f->in_len = 0;
	f->partial_ms = 0;
}

/* Serve every complete request in the buffer; keep an incomplete tail. */
static void serve(struct evr_control *c, struct evr_mi_fifo *f, int *handled, uint64_t now)
{
	size_t pos = 0;

	for (;;) {
		const char *p = f->in + pos, *sep, *json;
		size_t left = f->in_len - pos, nlen;
		json_error_t jerr;
		json_t *v;

		while (left && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
			p++;
			left--;
		}
		pos = (size_t)(p - f->in);
		if (!left)
			break;
		if (*p != ':') {
			drop_input(c, f); /* garbage: no way to find the next request */
			return;
		}
		sep = memchr(p + 1, ':', left - 1);
		if (!sep) {
			if (left - 1 >= REPLY_NAME_MAX) {
				drop_input(c, f);
				return;
			}
			break; /* the name is still arriving */
		}
		nlen = (size_t)(sep - p - 1);
		if (memchr(p + 1, '.', nlen) || memchr(p + 1, '/', nlen) ||
		    memchr(p + 1, '\\', nlen) || f->reply_dir_len + nlen + 1 > REPLY_NAME_MAX) {
			drop_input(c, f); /* a path outside fifo_reply_dir */
			return;
		}
		json = sep + 1;
		left -= (size_t)(json - p);
		if (!left)
			break;
		/* Where does the JSON value end? Parse without the EOF check:
		 * position is then what it consumed. */
		v = json_loadb(json, left, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &jerr);
		if (!v && json_error_code(&jerr) == json_error_premature_end_of_input)
			break; /* the rest has not been written yet */
		if (!v) {
			/* Not JSON: answer the parse error, drop what is buffered. */
			run(c, f, p + 1, nlen, json, left, handled, now);
			f->in_len = f->partial_ms = 0;
			return;
		}
		json_decref(v);
		run(c, f, p + 1, nlen, json, (size_t)jerr.position, handled, now);
		pos = (size_t)(json - f->in) + (size_t)jerr.position;
	}
	if (pos) {
		memmove(f->in, f->in + pos, f->in_len - pos);
		f->in_len -= pos;
		f->partial_ms = 0;
	}
	if (f->in_len && !f->partial_ms)
		f->partial_ms = now;
	if (f->in_len == FIFO_MAX_REQ)
		drop_input(c, f); /* one request larger than the buffer */
}

/* Open the read end again, only if mi.fifo is still the FIFO we made (a
 * file put in its place is never read: it would be readable for ever). */
static int reopen_ours(const struct evr_mi_fifo *f)
{
	int fd = open(f->path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode) || st.st_dev != f->dev ||
	                st.st_ino != f->ino)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Every writer closed the FIFO: what is buffered will never be completed.
 * Reopen the read end (new first) so POLLHUP stops. */
static void writers_gone(struct evr_control *c, struct evr_mi_fifo *f, uint64_t now)
{
	int fd;

	if (f->in_len)
		drop_input(c, f);
	fd = reopen_ours(f);
	close(f->rfd);
	f->rfd = fd;
	if (fd < 0)
		f->reopen_ms = now + REOPEN_RETRY_MS; /* removed or replaced */
}

static void fifo_input(struct evr_control *c, struct evr_mi_fifo *f, int *handled,
                       uint64_t now)
{
	for (unsigned k = 0; k < READ_BURST; k++) {
		ssize_t r = read(f->rfd, f->in + f->in_len, FIFO_MAX_REQ - f->in_len);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return; /* EAGAIN */
		}
		if (r == 0) {
			writers_gone(c, f, now);
			return;
		}
		f->in_len += (size_t)r;
		serve(c, f, handled, now);
	}
}

unsigned evr_mi_fifo_pollfds(struct evr_control *c, struct pollfd *fds, unsigned cap,
                             int *timeout_ms)
{
	struct evr_mi_fifo *f = c->mi_fifo;
	uint64_t now = evr_now_ms(), due = UINT64_MAX;
	unsigned n = 0;

	if (f->rfd >= 0) {
		if (n < cap)
			fds[n] = (struct pollfd){ .fd = f->rfd, .events = POLLIN };
		n++;
		if (f->partial_ms)
			due = f->partial_ms + c->conf.request_timeout_ms;
	} else {
		due = f->reopen_ms;
	}
	for (unsigned i = 0; i < EVR_MI_FIFO_PENDING; i++) {
		struct mi_reply *r = &f->rep[i];

		if (!r->used)
			continue;
		if (r->fd < 0) {
			/* Polling cannot tell when a reader opens: retry. */
			uint64_t t = now + REPLY_RETRY_MS;
			if (t < due)
				due = t;
			continue;
		}
		if (n < cap)
			fds[n] = (struct pollfd){ .fd = r->fd, .events = POLLOUT };
		n++;
		if (r->done_by_ms < due)
			due = r->done_by_ms;
	}
	if (due != UINT64_MAX) {
		uint64_t left = due > now ? due - now : 0;
		int ms = left > INT32_MAX ? INT32_MAX : (int)left;

		if (*timeout_ms < 0 || ms < *timeout_ms)
			*timeout_ms = ms;
	}
	return n;
}

int evr_mi_fifo_process(struct evr_control *c, const struct pollfd *fds, unsigned n)
{
	struct evr_mi_fifo *f = c->mi_fifo;
	uint64_t now = evr_now_ms();
	int handled = 0;

	/* Replies first: a slot freed now can take an answer of this turn. */
	for (unsigned i = 0; i < EVR_MI_FIFO_PENDING; i++)
		if (f->rep[i].used)
			reply_step(c, &f->rep[i], now);
	if (f->rfd < 0) {
		if (now >= f->reopen_ms) {
			f->rfd = reopen_ours(f);
			if (f->rfd < 0)
				f->reopen_ms = now + REOPEN_RETRY_MS;
		}
		return 0;
	}
	for (unsigned i = 0; i < n; i++) {
		if (fds[i].fd != f->rfd)
			continue;
		if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
			fifo_input(c, f, &handled, now);
		break;
	}
	if (f->in_len && f->partial_ms &&
	    now >= f->partial_ms + c->conf.request_timeout_ms)
		drop_input(c, f); /* a writer stalled mid-request */
	return handled;
}
