/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helper for test_evrctl.sh: a real control server on a real matcher,
 * without DPDK (raise_event uses the kernel-socket fallback), and a
 * datagram sink to catch what it sends.
 *
 *   test_ctl_helper serve SOCKET        serve until SIGTERM/SIGINT; prints
 *                                       "ready" once the socket listens
 *   test_ctl_helper serve-events SOCKET N MAX_OUTPUT
 *                                       the same with N distinct events
 *                                       (E_PAGE_00000..) subscribed and
 *                                       max_output bytes per client
 *   test_ctl_helper sink PATH MS        bind a unix datagram socket at PATH,
 *                                       print the first datagram received
 *                                       within MS ms (exit 1 on timeout)
 *   test_ctl_helper mute SOCKET         listen and never answer (client
 *                                       timeouts); until SIGTERM/SIGINT
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include "evr_control.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int serve(const char *path, unsigned nevents, uint32_t max_output)
{
	struct evr_control_conf conf;
	struct evr_matcher_conf mc;
	struct sigaction sa = { .sa_handler = on_signal };
	char err[256];
	int rc = 0;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	rcu_register_thread();
	evr_matcher_conf_default(&mc);
	struct evr_matcher *m = evr_matcher_create(&mc);
	if (!m) {
		fprintf(stderr, "matcher: %s\n", strerror(errno));
		rc = 1;
		goto out_rcu;
	}
	evr_control_conf_default(&conf);
	conf.socket_path = path;
	conf.socket_mode = 0600;
	conf.max_output = max_output;
	for (unsigned i = 0; i < nevents; i++) {
		char params[128], msg[256];
		json_t *p, *res = NULL;
		int code = 0;

		snprintf(params, sizeof(params),
		         "{\"event\":\"E_PAGE_%05u\",\"socket\":\"udp:127.0.0.1:9\"}", i);
		p = json_loads(params, 0, NULL);
		if (!p || evr_action_subscribe(m, p, &res, &code, msg, sizeof(msg))) {
			fprintf(stderr, "subscribe %u: %s\n", i, msg);
			json_decref(p);
			rc = 1;
			goto out_matcher;
		}
		json_decref(p);
		json_decref(res);
	}
	struct evr_control *c = evr_control_create(&conf, m, NULL, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "%s\n", err);
		rc = 1;
		goto out_matcher;
	}
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		int r = evr_control_poll(c, 200);

		if (r < 0 && r != -EINTR) {
			fprintf(stderr, "poll: %s\n", strerror(-r));
			rc = 1;
			break;
		}
	}
	evr_control_destroy(c);
out_matcher:
	evr_matcher_destroy(m);
out_rcu:
	rcu_unregister_thread();
	return rc;
}

static int sink(const char *path, int ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static char buf[65536];
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return 1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("bind");
		return 1;
	}
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r = poll(&p, 1, ms);
	ssize_t n = r > 0 ? recv(fd, buf, sizeof(buf), 0) : -1;
	close(fd);
	unlink(path);
	if (n < 0)
		return 1;
	fwrite(buf, 1, (size_t)n, stdout);
	putchar('\n');
	return 0;
}

static int mute(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sigaction sig = { .sa_handler = on_signal };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return 1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
		perror("bind/listen");
		return 1;
	}
	sigaction(SIGTERM, &sig, NULL);
	sigaction(SIGINT, &sig, NULL);
	printf("ready\n");
	fflush(stdout);
	while (!stop)
		poll(NULL, 0, 100); /* not pause(): a signal before it would be lost */
	close(fd);
	unlink(path);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "serve"))
		return serve(argv[2], 0, 0);
	if (argc == 5 && !strcmp(argv[1], "serve-events"))
		return serve(argv[2], (unsigned)atoi(argv[3]), (uint32_t)atoi(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "sink"))
		return sink(argv[2], atoi(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "mute"))
		return mute(argv[2]);
	fprintf(stderr, "usage: %s serve SOCKET | serve-events SOCKET N MAX_OUTPUT | "
	        "sink PATH MS | mute SOCKET\n", argv[0]);
	return 2;
}
