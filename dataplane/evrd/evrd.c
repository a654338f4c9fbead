/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DOC: evrd - the event router appliance.
 *
 * Start-up (main lcore), every failure fatal with a message naming what is
 * wrong: config (file or the embedded demo) -> EAL arguments built from it,
 * overridden by whatever follows `--` -> rte_eal_init -> mempools -> ports
 * (one RX and one TX queue per worker, RSS when the PMD has it) ->
 * neighbour table with static entries -> matcher -> the subscription store
 * (control/evr_store.h: runtime subscriptions of the last run restored
 * with their ids and absolute expiry) -> static subscriptions (ids above
 * them) -> store attached to the matcher -> rings -> workers launched ->
 * control socket (replies held until the store commits).
 *
 * Threads: the main lcore is the control thread (JSON-RPC, unix:
 * notifications, stats); every other lcore used runs evr_worker_main.
 * All of them are urcu-qsbr threads. The store's writer thread shares the
 * main lcore (niced); workers never touch the store.
 *
 * Shutdown (SIGINT/SIGTERM, or --duration): workers stop RX, drain their
 * egress rings, flush TX and exit; the main lcore sends what is left for
 * unix: destinations, stops and closes the ports, commits what the store
 * has queued and closes it, destroys the matcher and
 * calls rte_eal_cleanup. A watchdog bounds the whole sequence.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <urcu-qsbr.h>

#include "evr_config.h"
#include "evr_control.h"
#include "evr_ctl_thread.h"
#include "evr_store.h"
#include "evr_claim.h"
#include "evr_nats.h"
#include "evr_sd.h"
#include "evr_dataplane.h"
#include "evr_egress.h"
#include "evr_neigh.h"
#include "evr_notify.h"
#include "evr_rx.h"
#include "evr_telemetry.h"

RTE_LOG_REGISTER_DEFAULT(evr_logtype, INFO);

#define SHUTDOWN_WATCHDOG_S 10
#define MAX_EAL_ARGS 512

static volatile sig_atomic_t quit_signal;
/* SIGHUP/SIGUSR1/SIGUSR2: the handler only records the signal; the
 * control thread logs it (no logging from a signal handler). evrd logs to
 * stderr (the journal under systemd) only, so there is no log file to
 * reopen: these signals are logged and otherwise ignored, never fatal. */
static volatile sig_atomic_t hup_seen, usr1_seen, usr2_seen;

static void on_signal(int sig)
{
	quit_signal = sig;
}

static void on_info_signal(int sig)
{
	if (sig == SIGHUP)
		hup_seen = 1;
	else if (sig == SIGUSR1)
		usr1_seen = 1;
	else
		usr2_seen = 1;
}

/* Control thread: log (once per poll round) the harmless signals seen. */
static void log_info_signals(void)
{
	if (hup_seen) {
		hup_seen = 0;
		EVR_LOG(NOTICE, "SIGHUP: ignored (evrd logs to stderr/journal only: "
		        "no log file to reopen; configuration is not reloaded)");
	}
	if (usr1_seen) {
		usr1_seen = 0;
		EVR_LOG(NOTICE, "SIGUSR1: ignored (use `evrctl stats`)");
	}
	if (usr2_seen) {
		usr2_seen = 0;
		EVR_LOG(NOTICE, "SIGUSR2: ignored");
	}
}

static void on_watchdog(int sig)
{
	static const char msg[] = "evrd: shutdown took too long, exiting\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(3);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("evrd: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_FAILURE);
}

static void usage(FILE *out)
{
	fputs("usage: evrd [-c FILE | --demo] [options] [-- EAL arguments]\n"
	      "  -c, --config FILE            configuration file (libconfig)\n"
	      "      --demo                   use the embedded demo configuration\n"
	      "                               (the default when -c is not given)\n"
	      "      --check                  validate the configuration and exit\n"
	      "      --print-config-reference print every setting as a markdown table\n"
	      "      --print-demo-config      print the embedded demo configuration\n"
	      "      --duration SEC           stop by itself after SEC seconds\n"
	      "      --stats-file FILE        write the final stats (JSON) there at exit\n"
	      "      --store-path DIR         keep runtime subscriptions in DIR (overrides\n"
	      "                               store.path)\n"
	      "      --store-reset            start with an empty store (removes what the\n"
	      "                               store directory holds: a corrupt store)\n"
	      "  -h, --help                   this text\n"
	      "Arguments after `--` are EAL arguments; each one replaces what the\n"
	      "configuration would have given for the same option.\n",
	      out);
}

/* ---- EAL arguments --------------------------------------------------- */

struct argv_buf {
	char *v[MAX_EAL_ARGS];
	char *own[MAX_EAL_ARGS]; /* EAL permutes v: free these */
	int n;
};

static void push(struct argv_buf *a, const char *s)
{
	if (a->n >= MAX_EAL_ARGS - 1)
		die("too many EAL arguments");
	a->own[a->n] = strdup(s);
	a->v[a->n] = a->own[a->n];
	a->n++;
	a->v[a->n] = NULL;
}

/* Option families: an override on the command line replaces the whole
 * family the config would have produced (e.g. `-- -l 0-3` drops the
 * config's lcores, `-- --vdev ...` drops the config's vdevs). */
static const char *const fam_lcores[] = {"-l", "--lcores", "-c", NULL};
static const char *const fam_mem[] = {"-m", "--socket-mem", NULL};
static const char *const fam_huge[] = {"--no-huge", NULL};
static const char *const fam_inmem[] = {"--in-memory", NULL};
static const char *const fam_prefix[] = {"--file-prefix", NULL};
static const char *const fam_dev[] = {"-a", "--allow", "-b", "--block", "--no-pci", NULL};
static const char *const fam_vdev[] = {"--vdev", NULL};
static const char *const fam_log[] = {"--log-level", NULL};

static bool overridden(const char *const *fam, int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		for (int k = 0; fam[k]; k++) {
			size_t l = strlen(fam[k]);

			if (strncmp(argv[i], fam[k], l) == 0 &&
			    (argv[i][l] == '\0' || argv[i][l] == '=' ||
			     (fam[k][1] != '-' && argv[i][l] != '\0')))
				return true;
		}
	return false;
}

/* net_af_packet (DPDK 22.11) copies each kernel frame into ONE mbuf, and
 * its socket uses PACKET_FANOUT_FLAG_DEFRAG: the kernel hands over whole
 * reassembled datagrams, cut to the ring's frame size (default 2048). So
 * evrd asks for frames of EVR_AFP_FRAMESZ (one per 64 KiB block) unless the
 * user gave framesz, and port_init() gives the RX pool the data room the
 * PMD demands for it (framesz - 32 bytes, checked at queue setup). The PMD
 * addresses frame i at i x framesz, so a block must hold a whole number of
 * frames: 16 frames of 65,280 bytes in a block of 255 pages. The kernel
 * puts the frame 66 bytes into the slot: 65,214 bytes of frame, i.e. UDP
 * payloads up to 65,172 (IPv4) / 65,152 (IPv6) bytes arrive whole.
 * Kernel ring cost: framecnt x framesz per queue = 512 x 63.75 KiB ~ 32 MiB. */
#define EVR_AFP_FRAMESZ 65280u
#define EVR_AFP_BLOCKSZ (16u * EVR_AFP_FRAMESZ)
#define EVR_AFP_FRAMECNT 512u
#define EVR_AFP_ROOM (EVR_AFP_FRAMESZ - 32u + RTE_PKTMBUF_HEADROOM)

static void push_vdev(struct argv_buf *a, const char *v)
{
	char buf[512];

	if (strncmp(v, "net_af_packet", 13) != 0 || strstr(v, "framesz=") != NULL) {
		push(a, v);
		return;
	}
	snprintf(buf, sizeof(buf), "%s,framesz=%u,blocksz=%u,framecnt=%u", v,
	         EVR_AFP_FRAMESZ, EVR_AFP_BLOCKSZ, EVR_AFP_FRAMECNT);
	push(a, buf);
}

static void build_eal_args(const struct evr_config *c, const char *argv0, int oc,
                           char **ov, struct argv_buf *a)
{
	char num[32];

	push(a, argv0);
	if (!overridden(fam_lcores, oc, ov)) {
		/* --lcores takes plain lists and lcore@cpu maps alike. */
		push(a, "--lcores");
		push(a, c->eal.lcores);
	}
	if (c->eal.memory_mb && !overridden(fam_mem, oc, ov)) {
		snprintf(num, sizeof(num), "%u", c->eal.memory_mb);
		push(a, "-m");
		push(a, num);
	}
	if (c->eal.no_huge && !overridden(fam_huge, oc, ov))
		push(a, "--no-huge");
	if (c->eal.in_memory && !overridden(fam_inmem, oc, ov))
		push(a, "--in-memory");
	if (c->eal.file_prefix && !overridden(fam_prefix, oc, ov)) {
		push(a, "--file-prefix");
		push(a, c->eal.file_prefix);
	}
	if (!overridden(fam_dev, oc, ov)) {
		if (c->eal.no_pci)
			push(a, "--no-pci");
		for (uint32_t i = 0; i < c->eal.devices.n; i++) {
			push(a, "-a");
			push(a, c->eal.devices.v[i]);
		}
	}
	if (!overridden(fam_vdev, oc, ov))
		for (uint32_t i = 0; i < c->eal.vdevs.n; i++) {
			push(a, "--vdev");
			push_vdev(a, c->eal.vdevs.v[i]);
		}
	for (uint32_t i = 0; i < c->eal.plugin_dirs.n; i++) {
		push(a, "-d");
		push(a, c->eal.plugin_dirs.v[i]);
	}
	if (c->eal.log_level && !overridden(fam_log, oc, ov)) {
		push(a, "--log-level");
		push(a, c->eal.log_level);
	}
	for (uint32_t i = 0; i < c->eal.extra_args.n; i++)
		push(a, c->eal.extra_args.v[i]);
	for (int i = 0; i < oc; i++) {
		if (i > 0 && strcmp(ov[i - 1], "--vdev") == 0)
			push_vdev(a, ov[i]);
		else if (strncmp(ov[i], "--vdev=", 7) == 0) {
			push(a, "--vdev");
			push_vdev(a, ov[i] + 7);
		} else
			push(a, ov[i]);
	}
}

/* ---- ports ----------------------------------------------------------- */

static void ll6_from_mac(uint8_t ll[16], const struct rte_ether_addr *mac)
{
	memset(ll, 0, 16);
	ll[0] = 0xfe;
	ll[1] = 0x80;
	ll[8] = mac->addr_bytes[0] ^ 0x02;
	ll[9] = mac->addr_bytes[1];
	ll[10] = mac->addr_bytes[2];
	ll[11] = 0xff;
	ll[12] = 0xfe;
	ll[13] = mac->addr_bytes[3];
	ll[14] = mac->addr_bytes[4];
	ll[15] = mac->addr_bytes[5];
}

static void port_addresses(struct evr_port *p, const struct evr_cfg_port *pc)
{
	uint8_t plen;

	if (pc->ipv4) {
		evr_cfg_parse_prefix4(pc->ipv4, &p->ip4, &plen);
		p->mask4 = rte_cpu_to_be_32(plen ? ~0u << (32 - plen) : 0);
		p->has4 = true;
	}
	if (pc->gateway) {
		evr_cfg_parse_ip4(pc->gateway, &p->gw4);
		p->has_gw4 = true;
	}
	if (pc->ipv6) {
		evr_cfg_parse_prefix6(pc->ipv6, p->ip6, &p->plen6);
		p->has6 = true;
	}
	if (pc->gateway6) {
		evr_cfg_parse_ip6(pc->gateway6, p->gw6);
		p->has_gw6 = true;
	}
}

/* RX mbufs a port's pool must hold so that what holds them cannot starve
 * the RX descriptors: the descriptors of every queue, and per worker
 * everything it may keep (all of it may come from this one port): the
 * fragments held for reassembly (capped by limits.reassembly_fragments:
 * the table evicts its oldest datagrams beyond it), and with SIP the held
 * queue (sip.reorder_max) and the hand-off ring from other workers
 * (sip.handoff_ring); plus the per-lcore caches and one burst in flight
 * per lcore. rings.rx_pool only raises it. */
static unsigned rx_pool_need(const struct evr_router *r, uint16_t nrx, uint16_t nb_rxq)
{
	const struct evr_config *c = r->cfg;
	uint64_t per_worker = c->limits.reassembly_flows ? c->limits.reassembly_fragments : 0;

	if (r->has_sip)
		per_worker += (uint64_t)c->sip.reorder_max + c->sip.handoff_ring;
	return (unsigned)RTE_MIN((uint64_t)nrx * nb_rxq + per_worker * r->n_workers +
	                         (uint64_t)(c->rings.pool_cache + r->burst) * rte_lcore_count() +
	                         512, (uint64_t)UINT32_MAX);
}

/* Bytes of the largest frame the port must receive whole: the MTU plus the
 * PMD's own L2 overhead (ethdev's rule: max_rx_pktlen - max_mtu when the
 * PMD reports a real max_mtu, else Ethernet header + CRC), and never less
 * than header, one 802.1Q tag and CRC, which evr_rx accepts. */
static uint32_t rx_frame_need(const struct rte_eth_dev_info *di, uint32_t mtu)
{
	uint32_t ovh = RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN + RTE_ETHER_CRC_LEN;

	if (di->max_mtu != UINT16_MAX && di->max_rx_pktlen > di->max_mtu)
		ovh = RTE_MAX(ovh, di->max_rx_pktlen - di->max_mtu);
	return mtu + ovh;
}

/*
 * How a port's RX mbufs hold a frame of the configured MTU (issue 8: every
 * datagram received whole). A frame longer than the mbuf data room
 * (RTE_MBUF_DEFAULT_DATAROOM, 2,048 bytes, less the PMD's min_rx_bufsize
 * rules) either
 *  - arrives as a chain of mbufs when the PMD offers
 *    RTE_ETH_RX_OFFLOAD_SCATTER (PCI NICs, net_tap: tap reads into one
 *    iovec per descriptor only with it, else the kernel cuts the frame at
 *    one mbuf), and evr_rx/evr_rx_view read chains; or
 *  - needs a data room of one whole frame (headroom included, at most what
 *    uint16 data_room_size allows), at 4.5x the pool memory for MTU 9000.
 * net_af_packet is sized by push_vdev/EVR_AFP_ROOM (one frame per mbuf,
 * kernel-defragmented datagrams) and does not come here.
 * Sets *room and, for scatter, the offload in conf; dies when no room can
 * hold the frame. Returns the mode for the port's start log.
 */
static const char *rx_layout(const struct evr_port *p, const struct rte_eth_dev_info *di,
                             uint32_t mtu, struct rte_eth_conf *conf, uint16_t *room)
{
	uint32_t frame = rx_frame_need(di, mtu);
	uint32_t need = frame + RTE_PKTMBUF_HEADROOM;

	*room = RTE_MBUF_DEFAULT_BUF_SIZE;
	if (di->min_rx_bufsize + RTE_PKTMBUF_HEADROOM > *room) {
		if (di->min_rx_bufsize + RTE_PKTMBUF_HEADROOM > UINT16_MAX)
			die("port '%s' (%s): PMD wants RX buffers of %u bytes, more than an "
			    "mbuf can hold", p->name, di->driver_name, di->min_rx_bufsize);
		*room = (uint16_t)(di->min_rx_bufsize + RTE_PKTMBUF_HEADROOM);
	}
	if (frame <= (uint32_t)*room - RTE_PKTMBUF_HEADROOM)
		return "single-segment";
	if (di->rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER) {
		conf->rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
		return "scatter";
	}
	if (need > UINT16_MAX)
		die("port '%s' (%s): mtu %u needs %u-byte RX frames; the PMD has no scatter "
		    "RX and an mbuf holds at most %u bytes: lower ports[].mtu", p->name,
		    di->driver_name, mtu, frame, UINT16_MAX - RTE_PKTMBUF_HEADROOM);
	*room = (uint16_t)need;
	return "frame-sized mbufs (no scatter in PMD)";
}

static void port_setup(struct evr_router *r, unsigned pi, const struct evr_cfg_port *pc,
                       int socket)
{
	const struct evr_config *c = r->cfg;
	struct evr_port *p = &r->ports[pi];
	struct rte_eth_dev_info di;
	struct rte_eth_conf conf;
	struct rte_eth_txconf txc;
	uint16_t nrx = (uint16_t)pc->rx_desc, ntx = (uint16_t)pc->tx_desc;
	uint64_t rss_want = RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP;
	char pname[RTE_MEMPOOL_NAMESIZE];
	const char *rx_mode = "single-segment";
	unsigned pool_n;
	uint16_t room = RTE_MBUF_DEFAULT_BUF_SIZE;
	int rc;

	if (rte_eth_dev_get_port_by_name(pc->device, &p->port_id) != 0) {
		char list[512] = "";
		uint16_t id;

		RTE_ETH_FOREACH_DEV(id) {
			char n[RTE_ETH_NAME_MAX_LEN];
			size_t l = strlen(list);

			if (rte_eth_dev_get_name_by_port(id, n) == 0)
				snprintf(list + l, sizeof(list) - l, "%s%s", l ? ", " : "", n);
		}
		die("%s: ports[%u] '%s': device '%s' not found (DPDK has: %s); "
		    "check eal.vdevs / eal.devices", c->file, pi, pc->name, pc->device,
		    list[0] ? list : "no ports");
	}
	p->idx = (uint16_t)pi;
	snprintf(p->name, sizeof(p->name), "%s", pc->name);
	p->mtu = (uint16_t)pc->mtu;
	p->verify_udp = pc->verify_udp_checksum;
	p->mirror = pc->mirror;
	port_addresses(p, pc);
	rc = rte_eth_dev_info_get(p->port_id, &di);
	if (rc != 0)
		die("port '%s': cannot get device info: %s", p->name, rte_strerror(-rc));

	/* One RX and one TX queue per worker, as many as the PMD has: a
	 * worker without an RX queue on this port just does not poll it;
	 * workers beyond the TX queues share them under a lock. */
	p->nb_rxq = (uint16_t)RTE_MIN(r->n_workers, (unsigned)di.max_rx_queues);
	p->nb_txq = (uint16_t)RTE_MIN(r->n_workers, (unsigned)di.max_tx_queues);
	if (p->nb_rxq == 0 || p->nb_txq == 0)
		die("port '%s': device has no RX or TX queue", p->name);
	if (p->nb_rxq < r->n_workers)
		EVR_LOG(WARNING, "port %s: %u RX queues for %u workers (device max)",
		        p->name, p->nb_rxq, r->n_workers);
	if (p->nb_txq < r->n_workers) {
		p->txq_shared = true;
		for (unsigned q = 0; q < EVR_MAX_WORKERS; q++)
			rte_spinlock_init(&p->txq_lock[q]);
		EVR_LOG(NOTICE, "port %s: %u TX queue(s) for %u workers: shared under "
		        "a lock (taken per TX burst)", p->name, p->nb_txq, r->n_workers);
	}

	memset(&conf, 0, sizeof(conf));
	if (p->nb_rxq > 1 && pc->rss) {
		uint64_t hf = di.flow_type_rss_offloads & rss_want;

		if (hf & (RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_NONFRAG_IPV6_UDP)) {
			conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
			conf.rx_adv_conf.rss_conf.rss_hf = hf;
			p->rss = true;
		} else {
			/* net_af_packet (PACKET_FANOUT) and tap spread flows
			 * themselves, by the kernel's flow hash. */
			EVR_LOG(NOTICE, "port %s: no RSS on UDP in this PMD (%s); %u queues "
			        "rely on the driver's own distribution", p->name,
			        di.driver_name, p->nb_rxq);
		}
	}
	if (di.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) {
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
		p->multiseg = true;
	}
	/* ethdev refuses (EINVAL) an MTU outside [min_mtu, max_mtu] or whose
	 * frame (MTU + its overhead) exceeds max_rx_pktlen; such a port keeps
	 * the PMD's default and rte_eth_dev_set_mtu below says so. */
	if (di.max_mtu >= pc->mtu && di.min_mtu <= pc->mtu &&
	    pc->mtu + (di.max_mtu != UINT16_MAX && di.max_rx_pktlen > di.max_mtu ?
	               di.max_rx_pktlen - di.max_mtu : RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN) <=
	    di.max_rx_pktlen)
		conf.rxmode.mtu = pc->mtu;
	if (strcmp(di.driver_name, "net_af_packet") == 0)
		rx_mode = "af_packet frames";
	else
		rx_mode = rx_layout(p, &di, pc->mtu, &conf, &room);
	rc = rte_eth_dev_configure(p->port_id, p->nb_rxq, p->nb_txq, &conf);
	if (rc != 0)
		die("port '%s' (%s): configure %u/%u queues failed: %s", p->name,
		    di.driver_name, p->nb_rxq, p->nb_txq, rte_strerror(-rc));
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(p->port_id, &nrx, &ntx);
	if (rc != 0)
		die("port '%s': descriptor counts: %s", p->name, rte_strerror(-rc));

	pool_n = RTE_MAX(c->rings.rx_pool, rx_pool_need(r, nrx, p->nb_rxq));
	if (strcmp(di.driver_name, "net_af_packet") == 0) {
		/* One mbuf per frame (see push_vdev): each holds a whole
		 * datagram. Such a pool is 32x the default per mbuf, so its
		 * count is capped at a quarter of eal.memory_mb; the floor is
		 * what the lcore caches and one burst can hold (af_packet
		 * allocates per received frame, not per descriptor). */
		uint64_t cap = (uint64_t)c->eal.memory_mb * 1024 * 1024 / 4 /
		               (EVR_AFP_ROOM + sizeof(struct rte_mbuf) + 64);
		unsigned floor = (c->rings.pool_cache + r->burst) * rte_lcore_count() + 512;

		room = EVR_AFP_ROOM;
		if (c->eal.memory_mb && pool_n > cap)
			pool_n = (unsigned)RTE_MAX(cap, (uint64_t)floor);
	}
	snprintf(pname, sizeof(pname), "evr_rx_%u", pi);
	p->rx_pool = rte_pktmbuf_pool_create(pname, pool_n, c->rings.pool_cache, 0,
	                                     room, socket);
	if (p->rx_pool == NULL)
		die("port '%s': RX mempool of %u mbufs: %s (raise eal.memory_mb?)",
		    p->name, pool_n, rte_strerror(rte_errno));
	for (uint16_t q = 0; q < p->nb_rxq; q++) {
		rc = rte_eth_rx_queue_setup(p->port_id, q, nrx, (unsigned)socket, NULL,
		                            p->rx_pool);
		if (rc != 0)
			die("port '%s': RX queue %u: %s", p->name, q, rte_strerror(-rc));
	}
	txc = di.default_txconf;
	txc.offloads = conf.txmode.offloads;
	for (uint16_t q = 0; q < p->nb_txq; q++) {
		rc = rte_eth_tx_queue_setup(p->port_id, q, ntx, (unsigned)socket, &txc);
		if (rc != 0)
			die("port '%s': TX queue %u: %s", p->name, q, rte_strerror(-rc));
	}
	if (pc->mac) {
		evr_cfg_parse_mac(pc->mac, p->mac.addr_bytes);
		rc = rte_eth_dev_default_mac_addr_set(p->port_id, &p->mac);
		if (rc != 0) {
			/* Still usable: we answer ARP with it and accept it in
			 * promiscuous mode. */
			EVR_LOG(WARNING, "port %s: PMD refused MAC %s (%s); using it in "
			        "software with promiscuous mode", p->name, pc->mac,
			        rte_strerror(-rc));
			rte_eth_promiscuous_enable(p->port_id);
		}
	} else if (rte_eth_macaddr_get(p->port_id, &p->mac) != 0) {
		die("port '%s': cannot read its MAC address", p->name);
	}
	ll6_from_mac(p->ll6, &p->mac);
	if (pc->mtu != 1500 && (rc = rte_eth_dev_set_mtu(p->port_id, (uint16_t)pc->mtu)) != 0) {
		uint16_t pmd_mtu = 0;

		/* net_tap's TX drops every frame longer than its own MTU + 22
		 * (DPDK 22.11 pmd_tx_burst), and ethdev refuses it any MTU
		 * above 1500 (its max_rx_pktlen is 1522): fragment at what the
		 * PMD sends. RX still takes jumbo frames (scatter). */
		if (strcmp(di.driver_name, "net_tap") == 0 &&
		    rte_eth_dev_get_mtu(p->port_id, &pmd_mtu) == 0 && pmd_mtu >= 1280 &&
		    pmd_mtu < pc->mtu) {
			EVR_LOG(WARNING, "port %s: PMD did not take MTU %u (%s; max_rx_pktlen "
			        "%u); notifications are fragmented at its MTU %u (net_tap "
			        "drops longer frames), jumbo frames are still received",
			        p->name, pc->mtu, rte_strerror(-rc), di.max_rx_pktlen, pmd_mtu);
			p->mtu = pmd_mtu;
		} else {
			EVR_LOG(NOTICE, "port %s: PMD did not take MTU %u (%s); notifications are "
			        "still fragmented at %u", p->name, pc->mtu, rte_strerror(-rc),
			        pc->mtu);
		}
	}
	/* Without multi-segment TX, evr_egress_frame copies a chain into one
	 * payload mbuf: a frame longer than that mbuf would be dropped
	 * (tx_linearize_failed) on every notification over ~2 KB. Fragment
	 * at what it holds (net_pcap in DPDK 22.11 is such a PMD). */
	if (!p->multiseg) {
		uint32_t cap = rte_pktmbuf_data_room_size(r->payload_pool) - RTE_PKTMBUF_HEADROOM -
		               RTE_ETHER_HDR_LEN - RTE_VLAN_HLEN;

		if (p->mtu > cap) {
			EVR_LOG(WARNING, "port %s: %s has no multi-segment TX; notifications are "
			        "fragmented at %u (one payload mbuf per frame), not at mtu %u",
			        p->name, di.driver_name, cap, p->mtu);
			p->mtu = (uint16_t)cap;
		}
	}
	/* A mirror port sees other hosts' frames only in promiscuous mode. */
	if (pc->promiscuous || pc->mirror)
		rte_eth_promiscuous_enable(p->port_id);
	/* solicited-node groups; mod_event_multicast groups (joined with
	 * IGMP/MLD reports by worker 0, evr_host_mcast_announce) */
	if (p->has6 || r->n_fsm)
		rte_eth_allmulticast_enable(p->port_id);
	rc = rte_eth_dev_start(p->port_id);
	if (rc != 0)
		die("port '%s' (%s): start failed: %s", p->name, di.driver_name,
		    rte_strerror(-rc));
	p->started = true;
	EVR_LOG(INFO, "port %s: %s port %u mac " RTE_ETHER_ADDR_PRT_FMT " %s%s%s%s "
	        "rxq %u txq %u%s%s mtu %u (tx %u) rx %s (mbuf room %u, frame %u, "
	        "pmd max_rx_pktlen %u)",
	        p->name, di.driver_name, p->port_id,
	        RTE_ETHER_ADDR_BYTES(&p->mac), pc->ipv4 ? pc->ipv4 : "",
	        pc->ipv4 && pc->ipv6 ? " " : "", pc->ipv6 ? pc->ipv6 : "", "",
	        p->nb_rxq, p->nb_txq, p->rss ? " rss" : "", p->multiseg ? " multiseg" : "",
	        pc->mtu, p->mtu, rx_mode, room - RTE_PKTMBUF_HEADROOM, rx_frame_need(&di, pc->mtu),
	        di.max_rx_pktlen);
}

static void static_neighbours(struct evr_router *r)
{
	for (unsigned pi = 0; pi < r->n_ports; pi++) {
		const struct evr_cfg_port *pc = &r->cfg->ports[pi];

		for (uint32_t i = 0; i < pc->n_neighbours; i++) {
			struct rte_ether_addr mac;
			uint8_t key[16];
			rte_be32_t ip4;

			evr_cfg_parse_mac(pc->neighbours[i].mac, mac.addr_bytes);
			if (evr_cfg_parse_ip4(pc->neighbours[i].ip, &ip4) == 0)
				evr_neigh_key4(key, ip4);
			else
				evr_cfg_parse_ip6(pc->neighbours[i].ip, key);
			if (evr_neigh_add_static(r->neigh, (uint16_t)pi, key, &mac) != 0)
				die("ports[%u].neighbours[%u]: neighbour table full (arp.table_size)",
				    pi, i);
		}
	}
}

static void static_subscriptions(struct evr_router *r)
{
	const struct evr_config *c = r->cfg;

	for (uint32_t i = 0; i < c->n_subscriptions; i++) {
		struct evr_sub_spec spec;
		struct evr_sub_info info;
		char err[256] = "";
		int rc;

		evr_config_sub_spec(&c->subscriptions[i], &spec);
		rc = evr_matcher_subscribe(r->matcher, &spec, evr_now_ms(), &info, err,
		                           sizeof(err));
		if (rc != 0)
			die("%s: subscriptions[%u] (%s -> %s): %s", c->file, i, spec.event,
			    spec.dest, err[0] ? err : strerror(-rc));
		EVR_LOG(INFO, "static subscription %" PRIu64 ": %s -> %s (%s)", info.id,
		        spec.event, spec.dest, evr_format_name(spec.format));
	}
	/* Glob filters go live when the matcher's background thread has
	 * compiled them: wait, so the first events already see them. */
	evr_matcher_sync(r->matcher);
}

static void make_socket_dir(const char *path)
{
	char *dup = strdup(path), *dir;
	struct stat st;

	if (dup == NULL)
		return;
	dir = dirname(dup);
	if (stat(dir, &st) != 0 && mkdir(dir, 0755) != 0)
		EVR_LOG(WARNING, "cannot create %s: %s", dir, strerror(errno));
	free(dup);
}

static void write_stats_file(struct evr_router *r, const char *path)
{
	json_t *s = evr_ctl_stats_json(r);

	if (json_dump_file(s, path, JSON_INDENT(1) | JSON_SORT_KEYS) != 0)
		EVR_LOG(ERR, "cannot write stats to %s", path);
	json_decref(s);
}

/* ---- main ------------------------------------------------------------ */

/* ---- one evrd per interface ----------------------------------------- */

#define EVR_LOCK_DIR "/run/lock/evrd"

/* Lock key of one EAL device argument: the kernel interface of a vdev
 * (iface=, rx_iface=, tx_iface=: af_packet, tap, pcap on an interface) or
 * the PCI address of an allow-listed device. pcap files and net_null take
 * no lock (reading one file twice sends nothing twice). Writes "" if none. */
static void dev_lock_key(const char *arg, bool pci, char *key, size_t ksz)
{
	static const char *const keys[] = {"iface=", "rx_iface=", "tx_iface=",
	                                   "rx_iface_in=", NULL};
	const char *p;
	size_t l;

	key[0] = '\0';
	if (pci) {
		l = strcspn(arg, ",");
		snprintf(key, ksz, "pci-%.*s", (int)l, arg);
		return;
	}
	for (p = strchr(arg, ','); p; p = strchr(p + 1, ','))
		for (int k = 0; keys[k]; k++)
			if (strncmp(p + 1, keys[k], strlen(keys[k])) == 0) {
				const char *v = p + 1 + strlen(keys[k]);

				l = strcspn(v, ",");
				snprintf(key, ksz, "iface-%.*s", (int)l, v);
				return;
			}
}

/* Take an exclusive flock on EVR_LOCK_DIR/<key>.lock for every interface
 * or PCI device the EAL arguments name, before rte_eal_init probes any of
 * them: a second evrd on the same interface would send every notification
 * twice. The fds stay open (and locked) until the process ends; the kernel
 * drops the lock however evrd ends. The holder writes its pid in the file
 * so the refusal can name it. */
static void lock_interfaces(const struct argv_buf *a)
{
	char key[128], path[256], pidbuf[32];

	for (int i = 1; i < a->n; i++) {
		const char *arg = a->v[i];
		bool pci;
		int fd;
		ssize_t n;

		if ((strcmp(arg, "--vdev") == 0 || strcmp(arg, "-a") == 0 ||
		     strcmp(arg, "--allow") == 0) && i + 1 < a->n) {
			pci = arg[1] != '-' || strcmp(arg, "--allow") == 0;
			arg = a->v[++i];
		} else if (strncmp(arg, "--vdev=", 7) == 0) {
			pci = false;
			arg += 7;
		} else if (strncmp(arg, "--allow=", 8) == 0) {
			pci = true;
			arg += 8;
		} else if (strncmp(arg, "-a", 2) == 0 && arg[2] != '\0') {
			pci = true;
			arg += 2;
		} else {
			continue;
		}
		dev_lock_key(arg, pci, key, sizeof(key));
		if (key[0] == '\0')
			continue;
		for (char *c = key; *c; c++)
			if (*c == '/')
				*c = '_';
		if (mkdir(EVR_LOCK_DIR, 0755) != 0 && errno != EEXIST)
			die("cannot create %s: %s", EVR_LOCK_DIR, strerror(errno));
		snprintf(path, sizeof(path), "%s/%s.lock", EVR_LOCK_DIR, key);
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			die("lock file %s: %s", path, strerror(errno));
		if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			if (errno != EWOULDBLOCK)
				die("lock file %s: %s", path, strerror(errno));
			n = pread(fd, pidbuf, sizeof(pidbuf) - 1, 0);
			pidbuf[n > 0 ? n : 0] = '\0';
			pidbuf[strcspn(pidbuf, "\n")] = '\0';
			die("%s is already in use by another evrd (pid %s, lock %s): "
			    "two evrd on one interface would send every notification twice",
			    key, pidbuf[0] ? pidbuf : "unknown", path);
		}
		n = snprintf(pidbuf, sizeof(pidbuf), "%ld\n", (long)getpid());
		if (ftruncate(fd, 0) != 0 || pwrite(fd, pidbuf, (size_t)n, 0) != n)
			die("lock file %s: %s", path, strerror(errno));
		/* fd deliberately kept open: it is the lock. */
	}
}

/* FreeSWITCH-IPv4/-IPv6: the first port address of each family (evrd's
 * own addresses, where FreeSWITCH guesses its default route's), without
 * the prefix length; FreeSWITCH-Hostname and -Switchname: sip.hostname. */
static int fs_std_init(struct evr_router *r)
{
	const struct evr_config *cfg = r->cfg;
	char ip[2][64] = { "", "" };

	for (uint32_t i = 0; i < cfg->n_ports; i++) {
		const char *a[2] = { cfg->ports[i].ipv4, cfg->ports[i].ipv6 };

		for (int f = 0; f < 2; f++)
			if (!ip[f][0] && a[f] && a[f][0]) {
				snprintf(ip[f], sizeof(ip[f]), "%s", a[f]);
				ip[f][strcspn(ip[f], "/")] = '\0';
			}
	}
	return evr_fs_std_init(&r->fs_std, cfg->sip.hostname, cfg->sip.hostname, ip[0], ip[1]);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"demo", no_argument, NULL, 'D'},
		{"check", no_argument, NULL, 'k'},
		{"print-config-reference", no_argument, NULL, 'R'},
		{"print-demo-config", no_argument, NULL, 'P'},
		{"duration", required_argument, NULL, 't'},
		{"stats-file", required_argument, NULL, 's'},
		{"store-path", required_argument, NULL, 'S'},
		{"store-reset", no_argument, NULL, 'Z'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cfg_path = NULL, *stats_path = NULL, *store_path = NULL;
	bool check = false, demo = false, store_reset = false;
	struct evr_store *store = NULL;
	double duration = 0;
	struct evr_config *cfg;
	struct evr_router *r;
	struct argv_buf ea = {.n = 0};
	struct evr_control *ctl = NULL;
	struct evr_matcher_conf mc;
	char err[1024];
	int opt, rc, oc = 0;
	char **ov = NULL;
	unsigned lcore, wi;
	int socket;

	/* Split at `--`: ours before, EAL overrides after. */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			ov = &argv[i + 1];
			oc = argc - i - 1;
			argc = i;
			break;
		}
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': cfg_path = optarg; break;
		case 'D': demo = true; break;
		case 'k': check = true; break;
		case 'R': evr_config_print_reference(stdout); return 0;
		case 'P': fputs(evr_config_demo_text, stdout); return 0;
		case 't':
			duration = strtod(optarg, NULL);
			if (duration <= 0)
				die("--duration: '%s' is not a positive number of seconds", optarg);
			break;
		case 's': stats_path = optarg; break;
		case 'S':
			if (optarg[0] != '/')
				die("--store-path: '%s' is not an absolute path", optarg);
			store_path = optarg;
			break;
		case 'Z': store_reset = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "evrd: unexpected argument '%s' (EAL arguments go after --)\n",
		        argv[optind]);
		usage(stderr);
		return 2;
	}
	if (cfg_path && demo)
		die("-c and --demo exclude each other");

	if (cfg_path)
		cfg = evr_config_load_file(cfg_path, err, sizeof(err));
	else
		cfg = evr_config_load_string(evr_config_demo_text, "<demo>", err, sizeof(err));
	if (cfg == NULL) {
		fprintf(stderr, "evrd: %s\n", err);
		return EXIT_FAILURE;
	}
	if (check) {
		printf("%s: configuration OK (%u port(s), %u listener(s), %u static "
		       "subscription(s))\n", cfg->file, cfg->n_ports, cfg->n_listeners,
		       cfg->n_subscriptions);
		evr_config_free(cfg);
		return 0;
	}

	/* Harmless signals are never fatal, from here on (EAL threads inherit
	 * the dispositions). */
	{
		struct sigaction sa = {.sa_handler = on_info_signal};

		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESTART;
		sigaction(SIGHUP, &sa, NULL);
		sigaction(SIGUSR1, &sa, NULL);
		sigaction(SIGUSR2, &sa, NULL);
	}

	build_eal_args(cfg, argv[0], oc, ov, &ea);
	lock_interfaces(&ea);
	rc = rte_eal_init(ea.n, ea.v);
	if (rc < 0)
		die("EAL initialisation failed: %s (arguments from eal.* and after --)",
		    rte_strerror(rte_errno));

	r = calloc(1, sizeof(*r));
	if (r == NULL)
		die("out of memory");
	r->cfg = cfg;
	r->unix_fd = -1;
	r->tsc_hz = rte_get_tsc_hz();
	r->start_tsc = rte_rdtsc();
	r->seq = 1;
	r->burst = cfg->workers.burst;
	r->idle_polls = cfg->workers.idle_polls;
	r->idle_sleep_us = cfg->workers.idle_sleep_us;
	r->drain_tsc = r->tsc_hz * cfg->workers.tx_drain_us / 1000000;
	r->max_fanout = cfg->limits.max_fanout;
	evr_config_limits(cfg, &r->limits);
	socket = (int)rte_socket_id();
	if ((rc = fs_std_init(r)) != 0)
		die("Core-UUID: no random bytes: %s", strerror(-rc));

	r->n_workers = cfg->workers.count ? cfg->workers.count : rte_lcore_count() - 1;
	if (r->n_workers == 0 || r->n_workers > rte_lcore_count() - 1)
		die("%u worker(s) wanted but EAL has %u worker lcore(s) (eal.lcores = \"%s\", "
		    "workers.count = %u): the first lcore is the control thread",
		    r->n_workers, rte_lcore_count() - 1, cfg->eal.lcores, cfg->workers.count);

	/* Pools shared by all lcores (per-lcore caches). Header mbufs carry
	 * the descriptor metadata in their private area. */
	/* nats: descriptors waiting in their ring hold a header and a payload
	 * each: the pools grow by the ring so a stalled publisher cannot take
	 * what udp: notifications need */
	const uint32_t nats_extra = cfg->nats.url[0] ? cfg->nats.ring : 0;
	r->payload_pool = rte_pktmbuf_pool_create("evr_payload", cfg->rings.payload_pool + nats_extra,
	                                          cfg->rings.pool_cache, 0,
	                                          RTE_MBUF_DEFAULT_BUF_SIZE, socket);
	r->hdr_pool = rte_pktmbuf_pool_create("evr_hdr", cfg->rings.hdr_pool + nats_extra,
	                                      cfg->rings.pool_cache,
	                                      RTE_ALIGN(sizeof(struct evr_tx_meta),
	                                                RTE_MBUF_PRIV_ALIGN),
	                                      EVR_HDR_DATA_ROOM, socket);
	r->indirect_pool = rte_pktmbuf_pool_create("evr_indirect", cfg->rings.indirect_pool,
	                                           cfg->rings.pool_cache, 0, 0, socket);
	if (!r->payload_pool || !r->hdr_pool || !r->indirect_pool)
		die("mempools (rings.payload_pool %u, hdr_pool %u, indirect_pool %u): %s "
		    "(raise eal.memory_mb or lower the pools)", cfg->rings.payload_pool,
		    cfg->rings.hdr_pool, cfg->rings.indirect_pool, rte_strerror(rte_errno));

	r->neigh = evr_neigh_create(cfg->arp.table_size, cfg->arp.reachable_s,
	                            cfg->arp.retry_ms, cfg->arp.max_retries, r->tsc_hz, socket);
	if (r->neigh == NULL)
		die("neighbour table of %u entries: out of memory", cfg->arp.table_size);

	/* SIP first: the RX pools are sized for its held messages. */
	evr_rx_map_listeners(r, cfg);
	for (unsigned pi = 0; pi < cfg->n_ports; pi++)
		if (cfg->ports[pi].mirror)
			r->has_sip = true;
	r->n_ports = cfg->n_ports;
	for (unsigned pi = 0; pi < cfg->n_ports; pi++)
		port_setup(r, pi, &cfg->ports[pi], socket);
	static_neighbours(r);
	for (uint32_t i = 0; i < cfg->sip.mirror_ports.n; i++) {
		uint32_t sp = cfg->sip.mirror_ports.v[i];

		r->sip_ports[sp >> 6] |= 1ull << (sp & 63);
	}
	/* Notifications leave from the first listener's port (a pure mirror
	 * appliance has none: the first SIP port then). */
	r->default_sport = rte_cpu_to_be_16((uint16_t)(cfg->n_listeners
		? cfg->listeners[0].port : cfg->sip.mirror_ports.v[0]));

	r->unix_ring = rte_ring_create("evr_unix", cfg->rings.unix_size, socket,
	                               RING_F_SC_DEQ | RING_F_EXACT_SZ);
	/* MP: the control thread and the claim thread (evr_claim.c) */
	r->ctrl_ring = rte_ring_create("evr_ctrl", cfg->rings.ctrl_size, socket,
	                               RING_F_SC_DEQ | RING_F_EXACT_SZ);
	r->names_ring = rte_ring_create_elem("evr_names", sizeof(struct evr_event_name), 1024,
	                                     socket, RING_F_SC_DEQ);
	if (nats_extra)
		r->nats_ring = rte_ring_create("evr_nats", cfg->nats.ring, socket,
		                               RING_F_SC_DEQ | RING_F_EXACT_SZ);
	if (!r->unix_ring || !r->ctrl_ring || !r->names_ring || (nats_extra && !r->nats_ring) ||
	    evr_notify_rates_publish(r, &cfg->destinations) != 0 ||
	    evr_notify_init(&r->ctl_notifier, r, NULL) != 0)
		die("rings: %s", rte_strerror(rte_errno));

	rcu_register_thread();
	evr_config_matcher_conf(cfg, &mc);
	mc.max_readers = r->n_workers + 4;
	/* a cluster member gives ids in its own range: unique cluster-wide */
	if (cfg->store.kind == EVR_CFG_STORE_NATS)
		mc.id_base = (uint64_t)cfg->store.node_id << EVR_ID_NODE_SHIFT;
	r->matcher = evr_matcher_create(&mc);
	if (r->matcher == NULL)
		die("matcher: %s", strerror(errno));
	/* every subscribe from here on, static ones included, obeys the
	 * destination policy (destinations.*; config_set replaces it) */
	if (evr_ctl_policy_publish(r) != 0)
		die("destinations: out of memory");
	if (cfg->destinations.unix_dir[0]) {
		make_socket_dir(cfg->destinations.unix_dir); /* its parent */
		if (mkdir(cfg->destinations.unix_dir, 0770) != 0 && errno != EEXIST)
			EVR_LOG(WARNING, "destinations.unix_dir %s: %s",
			        cfg->destinations.unix_dir, strerror(errno));
	}
	/* Runtime subscriptions of the last run come back first, keeping their
	 * ids (static ones then get ids above them) and their absolute expiry,
	 * before any port forwards an event or the control socket answers. */
	{
		/* who owns store.node_id in a cluster: this host and its control
		 * socket, so the same appliance restarting takes it back */
		char host[256] = "?", instance[320];
		(void)gethostname(host, sizeof(host) - 1);
		snprintf(instance, sizeof(instance), "%s:%s", host,
		         cfg->control.socket && cfg->control.socket[0] ? cfg->control.socket : "-");
		struct evr_store_conf sc = {
			.kind = (enum evr_store_kind)cfg->store.kind,
			.path = store_path ? store_path : cfg->store.path,
			.map_mb = cfg->store.map_mb,
			.reset = store_reset,
			.nats = {
				.url = cfg->nats.url, .name = cfg->nats.name,
				.user = cfg->nats.user, .password = cfg->nats.password,
				.token = cfg->nats.token, .creds_file = cfg->nats.creds_file,
				.tls_ca_file = cfg->nats.tls_ca_file,
				.tls_cert_file = cfg->nats.tls_cert_file,
				.tls_key_file = cfg->nats.tls_key_file,
				.tls_hostname = cfg->nats.tls_hostname,
				.reconnect_wait_ms = cfg->nats.reconnect_wait_ms,
			},
			.bucket = cfg->store.bucket,
			.replicas = cfg->store.replicas,
			.claim_replicas = cfg->store.claim_replicas,
			.node_id = cfg->store.node_id,
			.timeout_ms = cfg->store.timeout_ms,
			.instance = instance,
		};
		store = evr_store_open(&sc, err, sizeof(err));
		if (!store && sc.kind != EVR_STORE_NONE)
			die("%s", err);
		if (store) {
			struct evr_store_stats ss;
			if (evr_store_load(store, r->matcher, err, sizeof(err)) != 0)
				die("%s", err);
			evr_store_get_stats(store, &ss);
			EVR_LOG(NOTICE, "store %s: %" PRIu64 " subscription(s) restored, %" PRIu64
			        " expired while down, %" PRIu64 " refused%s", evr_store_path(store), ss.loaded,
			        ss.load_expired, ss.load_refused, store_reset ? " (reset)" : "");
		}
	}
	static_subscriptions(r);
	if (store)
		evr_store_attach(store, r->matcher);
	if (evr_claim_start(r, store, err, sizeof(err)) != 0)
		die("%s", err);

	wi = 0;
	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct evr_worker *w;

		if (wi == r->n_workers)
			break;
		w = rte_zmalloc_socket("evr_worker", sizeof(*w), RTE_CACHE_LINE_SIZE,
		                       (int)rte_lcore_to_socket_id(lcore));
		if (w == NULL || (rc = evr_worker_init(r, w, wi, lcore)) != 0)
			die("worker %u: %s", wi, w ? strerror(-rc) : "out of memory");
		r->workers[wi++] = w;
	}

	if (cfg->control.enabled) {
		struct evr_control_conf cc = {
			.socket_path = cfg->control.socket,
			.max_clients = cfg->control.max_clients,
			.max_line = 1u << 20,
			.limits = &r->limits,
			.max_fanout = r->max_fanout,
			.list_max = 1000,
			.max_batch = cfg->control.max_batch,
			.max_per_uid = cfg->control.max_per_uid,
			.idle_timeout_ms = cfg->control.idle_timeout_ms,
			.request_timeout_ms = cfg->control.request_timeout_ms,
			.fs_std = &r->fs_std,
		};
		struct evr_control_hooks hooks;
		uint32_t mode;
		/* static: the server keeps the pointer for its life */
		static struct evr_control_roles roles;

		roles = (struct evr_control_roles){
			.admin_uid = cfg->control.admin_uids.v, .n_admin_uid = cfg->control.admin_uids.n,
			.admin_gid = cfg->control.admin_gids.v, .n_admin_gid = cfg->control.admin_gids.n,
			.read_uid = cfg->control.read_uids.v, .n_read_uid = cfg->control.read_uids.n,
			.read_gid = cfg->control.read_gids.v, .n_read_gid = cfg->control.read_gids.n,
		};
		cc.roles = &roles;

		evr_cfg_parse_mode(cfg->control.mode, &mode);
		cc.socket_mode = (mode_t)mode;
		evr_ctl_hooks(r, &hooks);
		make_socket_dir(cfg->control.socket);
		ctl = evr_control_create(&cc, r->matcher, &hooks, err, sizeof(err));
		if (ctl == NULL)
			die("control socket %s: %s", cfg->control.socket, err);
		evr_control_set_store(ctl, store);
		struct evr_mi_conf mc = {
			.datagram_socket = cfg->mi.datagram_socket,
			.datagram_udp = cfg->mi.datagram_udp,
			.fifo = cfg->mi.fifo,
			.fifo_reply_dir = cfg->mi.fifo_reply_dir,
			.http_listen = cfg->mi.http.listen,
			.mode = (mode_t)mode,
			.udp_role = (int)cfg->mi.datagram_udp_role, /* same order */
			.http_admin_token_file = cfg->mi.http.admin_token_file,
			.http_read_token_file = cfg->mi.http.read_token_file,
		};
		uint32_t fifo_mode = 0600;

		evr_cfg_parse_mode(cfg->mi.fifo_mode, &fifo_mode);
		mc.fifo_mode = (mode_t)fifo_mode;
		if (cfg->mi.datagram_socket && cfg->mi.datagram_socket[0])
			make_socket_dir(cfg->mi.datagram_socket);
		if (cfg->mi.fifo && cfg->mi.fifo[0])
			make_socket_dir(cfg->mi.fifo);
		rc = evr_control_mi_open(ctl, &mc, err, sizeof(err));
		if (rc < 0)
			die("%s", err); /* names the setting: "mi.datagram_udp ..." */
		struct evr_esl_conf ec = {
			.listen = cfg->esl.listen,
			.password = cfg->esl.password,
			.acl = (const char *const *)cfg->esl.acl.v,
			.n_acl = cfg->esl.acl.n,
			.max_clients = cfg->esl.max_clients,
			.queue_max = cfg->esl.queue_max,
		};
		rc = evr_control_esl_open(ctl, &ec, err, sizeof(err));
		if (rc < 0)
			die("%s", err); /* names the setting: "esl.listen ..." */
		/* esl: notifications, from the workers' ring and raises */
		r->esl_ctx = ctl;
		r->esl_deliver = evr_ctl_esl_deliver;
	} else if (cfg->esl.listen && cfg->esl.listen[0]) {
		EVR_LOG(WARNING, "esl: not served: control.enabled is false");
	} else if ((cfg->mi.datagram_socket && cfg->mi.datagram_socket[0]) ||
	           (cfg->mi.datagram_udp && cfg->mi.datagram_udp[0]) ||
	           (cfg->mi.fifo && cfg->mi.fifo[0]) ||
	           (cfg->mi.http.listen && cfg->mi.http.listen[0])) {
		EVR_LOG(WARNING, "mi: not served: control.enabled is false");
	}

	signal(SIGPIPE, SIG_IGN);
	{
		struct sigaction sa = {.sa_handler = on_signal};

		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}

	r->start_tsc = rte_rdtsc(); /* stats rates count from here */
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		r->wall0_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	}
	if ((rc = evr_nats_start(r, err, sizeof(err))) != 0)
		die("%s", err);
	if ((rc = evr_telemetry_init(r)) != 0)
		die("telemetry: cannot register the /evr/ commands: %s", strerror(-rc));
	for (unsigned i = 0; i < r->n_workers; i++) {
		rc = rte_eal_remote_launch(evr_worker_main, r->workers[i], r->workers[i]->lcore);
		if (rc != 0)
			die("cannot launch worker %u on lcore %u", i, r->workers[i]->lcore);
	}
	EVR_LOG(NOTICE, "ready: %u worker(s), %u port(s), %u listener(s), %u static "
	        "subscription(s), control %s", r->n_workers, r->n_ports, cfg->n_listeners,
	        cfg->n_subscriptions, ctl ? cfg->control.socket : "off");
	evr_sd_ready(r); /* systemd Type=notify: ports up, subscriptions loaded */

	/* Control thread. evr_control_poll goes RCU-offline while it waits. */
	{
		uint64_t end = duration > 0 ? r->start_tsc + (uint64_t)(duration * (double)r->tsc_hz)
		                            : UINT64_MAX;

		while (!quit_signal && rte_rdtsc() < end) {
			if (ctl) {
				rc = evr_control_poll(ctl, (int)cfg->control.poll_ms);
				if (rc < 0 && rc != -EINTR)
					EVR_LOG(WARNING, "control: %s", strerror(-rc));
			} else {
				rcu_thread_offline();
				rte_delay_us_sleep(cfg->control.poll_ms * 1000);
				rcu_thread_online();
			}
			evr_ctl_drain_unix(r);
			if (ctl)
				evr_ctl_drain_names(r, ctl);
			evr_ctl_heartbeat_tick(r, ctl, rte_rdtsc());
			evr_sd_tick(r, rte_rdtsc());
			log_info_signals();
			rcu_quiescent_state();
		}
	}

	/* Shutdown, bounded by a watchdog. */
	signal(SIGALRM, on_watchdog);
	alarm(SHUTDOWN_WATCHDOG_S);
	EVR_LOG(NOTICE, "stopping (%s)", quit_signal ? strsignal(quit_signal) : "duration");
	evr_sd_stopping();
	__atomic_store_n(&r->state, EVR_STOPPING, __ATOMIC_RELEASE);
	rcu_thread_offline();
	rte_eal_mp_wait_lcore();
	rcu_thread_online();
	evr_claim_stop(r); /* forwards what it wins to the rings drained below */
	evr_ctl_drain_unix(r);
	evr_nats_stop(r); /* after every producer: publishes what they left */
	if (stats_path)
		write_stats_file(r, stats_path);
	evr_telemetry_fini(); /* before the workers are freed */
	r->esl_deliver = NULL;
	evr_control_destroy(ctl);
	for (unsigned pi = 0; pi < r->n_ports; pi++) {
		if (!r->ports[pi].started)
			continue;
		rte_eth_dev_stop(r->ports[pi].port_id);
		rte_eth_dev_close(r->ports[pi].port_id);
	}
	/* commits what is queued: a SIGTERM loses no acknowledged change */
	evr_store_close(store, r->matcher);
	if (cfg->nats.url[0])
		evr_nats_lib_close(); /* after both NATS clients: publisher and store */
	evr_matcher_destroy(r->matcher);
	/* policies and rates config_set replaced: freed now (offline, or the
	 * grace periods would wait for this thread) */
	rcu_thread_offline();
	rcu_barrier();
	rcu_thread_online();
	evr_ctl_runtime_free(r);
	for (unsigned i = 0; i < r->n_workers; i++) {
		evr_worker_fini(r->workers[i]);
		rte_free(r->workers[i]);
	}
	rcu_unregister_thread();
	evr_neigh_free(r->neigh);
	evr_egress_unix_close(r);
	rte_ring_free(r->unix_ring);
	rte_ring_free(r->names_ring);
	rte_ring_free(r->ctrl_ring);
	rte_ring_free(r->nats_ring);
	for (unsigned pi = 0; pi < r->n_ports; pi++)
		rte_mempool_free(r->ports[pi].rx_pool);
	rte_mempool_free(r->payload_pool);
	rte_mempool_free(r->hdr_pool);
	rte_mempool_free(r->indirect_pool);
	evr_notify_fini(&r->ctl_notifier);
	free(r);
	evr_config_free(cfg);
	rte_eal_cleanup();
	for (int i = 0; i < ea.n; i++)
		free(ea.own[i]);
	alarm(0);
	return 0;
}
