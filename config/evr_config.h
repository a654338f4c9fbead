/* SPDX-License-Identifier: Apache-2.0 */
/*
 * evrd configuration: ONE table of settings (name, type, bounds, default,
 * runtime flag, validator, help) drives the libconfig loader, `evrd --check`,
 * `evrd --print-config-reference` (the README table) and the control
 * plane's `config_get` / `config_set` methods (runtime settings).
 *
 * Loading parses into a fresh struct evr_config (defaults first, then the
 * file), validates every value and every list element, then returns it; the
 * caller commits it or frees it. Errors name the file, the line and the
 * setting: "evrd.conf:12: ports.[0].ipv4: '10.0.0.1/33': prefix length must
 * be 0..32".
 *
 * Pure C (libconfig + the evr core for destination/filter/limit checks), no
 * EAL: unit tests run it directly. Thread context: whichever thread loads;
 * no global state except the read-only table.
 *
 * Ownership: every string and list in a struct evr_config is heap memory
 * owned by it; evr_config_free() releases them (pairs with evr_config_load*).
 */
#ifndef EVR_CONFIG_H
#define EVR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "event/evr_event.h"
#include "match/evr_dest_policy.h"
#include "match/evr_matcher.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EVR_CFG_MAX_PORTS 16u
#define EVR_CFG_MAX_WORKERS 64u

struct evr_cfg_strlist {
	char **v;
	uint32_t n;
};

/* A list of unsigned integers, e.g. [5060, 5080]. */
struct evr_cfg_uintlist {
	uint32_t *v;
	uint32_t n;
};

struct evr_cfg_eal {
	char *lcores;       /* EAL -l list, e.g. "0-1" */
	uint32_t memory_mb; /* EAL -m */
	bool no_huge;
	bool in_memory;
	bool no_pci;        /* add --no-pci (vdev-only appliances) */
	char *file_prefix;
	char *log_level;    /* EAL --log-level, e.g. "notice" or "evr.*:debug" */
	struct evr_cfg_strlist devices;     /* -a PCI allow list */
	struct evr_cfg_strlist vdevs;       /* --vdev */
	struct evr_cfg_strlist plugin_dirs; /* -d (shared DPDK PMD dirs) */
	struct evr_cfg_strlist extra_args;  /* appended verbatim */
};

struct evr_cfg_neigh {
	char *ip;  /* IPv4 or IPv6 address */
	char *mac; /* xx:xx:xx:xx:xx:xx */
};

struct evr_cfg_port {
	char *name;    /* label for stats/logs */
	char *device;  /* DPDK device name: "net_pcap0", "0000:03:00.0" */
	char *mac;     /* optional MAC override */
	char *ipv4;    /* "a.b.c.d/len" (optional if ipv6 given) */
	char *gateway; /* optional IPv4 next hop for off-link destinations */
	char *ipv6;    /* optional "addr/len" */
	char *gateway6;
	uint32_t mtu;
	uint32_t rx_desc;
	uint32_t tx_desc;
	bool rss;
	bool promiscuous;
	bool verify_udp_checksum;
	bool mirror;   /* SIP mirror port: promiscuous, observe, never answer */
	struct evr_cfg_neigh *neighbours;
	uint32_t n_neighbours;
};

struct evr_cfg_workers {
	uint32_t count;          /* 0 = every EAL worker lcore */
	uint32_t burst;
	uint32_t idle_polls;     /* empty loop turns before sleeping */
	uint32_t idle_sleep_us;  /* 0 = never sleep (dedicated cores) */
	uint32_t tx_drain_us;
};

/* Listener kinds beyond the event formats (enum evr_format, AUTO allowed):
 * a SIP endpoint (requests to the appliance become events, stateless
 * replies) and a HEPv3 collector (capture agents' SIP copies). */
#define EVR_CFG_LISTEN_SIP 5u
#define EVR_CFG_LISTEN_HEP 6u
#define EVR_CFG_LISTEN_FS_MULTICAST 7u /* FreeSWITCH mod_event_multicast */
#define EVR_CFG_LISTEN__COUNT 8u

struct evr_cfg_listener {
	uint32_t port;
	uint32_t format; /* enum evr_format (AUTO allowed) or EVR_CFG_LISTEN_* */
	char *group;     /* fs_multicast: IPv4 multicast group, "" = unicast only */
	char *psk;       /* fs_multicast: mod_event_multicast's psk, "" = plain */
	struct evr_cfg_strlist allow; /* source CIDRs; none = the port's on-link subnets */
};

/* SIP ingest: mirrored SIP / HEP -> derived events; the SIP endpoint. */
#define EVR_CFG_SIP_EV_OPENSIPS 0u
#define EVR_CFG_SIP_EV_FREESWITCH 1u
#define EVR_CFG_SIP_EV_BOTH 2u
struct evr_cfg_sip {
	struct evr_cfg_uintlist mirror_ports; /* UDP ports followed on mirror ports */
	uint32_t events;              /* EVR_CFG_SIP_EV_* */
	char *profile;                /* FreeSWITCH profile-name */
	char *hostname;               /* FreeSWITCH-Hostname */
	uint32_t max_dialogs;         /* whole router, split over workers */
	uint32_t max_registrations;
	uint32_t originate_timeout_s;
	uint32_t max_dialog_s;
	uint32_t linger_ms;
	uint32_t default_expires;
	uint32_t pn_refresh_s;        /* E_UL_CONTACT_REFRESH lead time, 0 = off */
	uint32_t handoff_ring;        /* per worker: messages from other workers */
	uint32_t reorder_ms;          /* hold a message whose request is late */
	uint32_t reorder_max;         /* per worker: messages held at once */
	uint32_t endpoint_dedup;      /* per worker: endpoint retransmission cache */
	char *server;                 /* endpoint Server header */
	uint32_t endpoint_rate_requests;  /* per source per window, 0 = off */
	uint32_t endpoint_rate_window_ms;
	uint32_t endpoint_rate_sources;   /* per worker */
	char *hep_password;           /* HEP auth-key chunk required; "" = any */
};

struct evr_cfg_control {
	bool enabled;
	char *socket;
	char *mode;      /* octal text, "0660" */
	uint32_t max_clients;
	uint32_t poll_ms;
	uint32_t max_batch;          /* requests in one JSON-RPC batch */
	uint32_t max_per_uid;        /* connections per non-root peer uid */
	uint32_t idle_timeout_ms;    /* close a connection idle this long */
	uint32_t request_timeout_ms; /* close one whose line stays incomplete */
	/* roles of socket peers (SO_PEERCRED; struct evr_control_roles) */
	struct evr_cfg_uintlist admin_uids, admin_gids, read_uids, read_gids;
};

/* evrd's own HEARTBEAT event (FreeSWITCH's liveness event), raised from
 * the control thread. */
struct evr_cfg_heartbeat {
	uint32_t interval_s; /* 0 = off */
};

/* OpenSIPS MI transports on the control thread; "" or NULL = off. */
#define EVR_CFG_MI_UDP_READ 0u  /* mi.datagram_udp_role: as EVR_MI_UDP_* */
#define EVR_CFG_MI_UDP_ADMIN 1u
#define EVR_CFG_MI_UDP_NONE 2u
struct evr_cfg_mi {
	char *datagram_socket; /* unix datagram socket path */
	char *datagram_udp;    /* "IPv4:port" or "[IPv6]:port" */
	uint32_t datagram_udp_role; /* EVR_CFG_MI_UDP_* */
	char *fifo;            /* request FIFO path */
	char *fifo_mode;       /* octal text, "0600" */
	char *fifo_reply_dir;  /* where clients' reply FIFOs are */
	struct evr_cfg_mi_http {
		char *listen;  /* "IPv4:port" or "[IPv6]:port": POST /mi, GET /metrics */
		char *admin_token_file; /* bearer tokens; "" = none */
		char *read_token_file;
	} http;
};

/* Where subscriptions may send (match/evr_dest_policy.h). */
struct evr_cfg_destinations {
	struct evr_cfg_strlist allow; /* CIDRs; none = the ports' on-link subnets */
	bool allow_broadcast, allow_multicast, allow_loopback, allow_own;
	char *unix_dir;               /* unix: only below it; "" = no unix: */
	/* egress limits (limit/evr_destlimit.h); 0 = unlimited */
	uint32_t rate_notifications;  /* per destination per second */
	uint64_t rate_bytes;          /* per destination per second */
	uint32_t burst_ms;
	uint32_t limit_slots;         /* destinations tracked per worker */
	uint32_t egress_notifications;/* whole router per second */
	uint64_t egress_bytes;
};

/* FreeSWITCH event socket (ESL, inbound) on the control thread. */
struct evr_cfg_esl {
	char *listen;              /* "IPv4:port" / "[IPv6]:port"; "" = off */
	char *password;            /* auth <password> */
	struct evr_cfg_strlist acl;/* CIDRs clients may connect from; none = any */
	uint32_t max_clients;
	uint32_t queue_max;        /* events queued per connection */
};

/* NATS notification transport (nats: destinations); url "" = off. */
struct evr_cfg_nats {
	char *url;                 /* "nats://host:port[,nats://...]" */
	char *name;                /* client name the server shows */
	char *user, *password;     /* user/password authentication */
	char *token;               /* token authentication */
	char *creds_file;          /* JWT + NKey seed (.creds) */
	char *tls_ca_file;         /* TLS: CAs the servers must chain to */
	char *tls_cert_file, *tls_key_file; /* TLS: client certificate */
	char *tls_hostname;        /* TLS: name the servers' certificates carry */
	uint32_t ring;             /* descriptors queued to the publisher thread */
	uint32_t max_pending_bytes;/* libnats reconnect buffer */
	uint32_t reconnect_wait_ms;
};

/* Durable subscriptions (control/evr_store.h). */
enum evr_cfg_store_kind {
	EVR_CFG_STORE_EMBEDDED = 0, /* LMDB under path */
	EVR_CFG_STORE_NATS,         /* JetStream KV bucket shared by a cluster */
	EVR_CFG_STORE_NONE,         /* runtime subscriptions die with evrd */
};
struct evr_cfg_store {
	uint32_t kind;   /* enum evr_cfg_store_kind */
	char *path;      /* state directory (embedded) */
	uint32_t map_mb; /* LMDB map size: the most the file may grow to */
	/* nats (connection settings: struct evr_cfg_nats) */
	char *bucket;        /* KV bucket */
	uint32_t replicas;   /* bucket replicas when evrd creates it */
	uint32_t claim_replicas; /* replicas of <bucket>_claims (once claims) */
	uint32_t node_id;    /* this appliance in the cluster: 1..4095 */
	uint32_t timeout_ms; /* acknowledgement and load wait */
};

struct evr_cfg_rings {
	uint32_t egress_size;  /* per worker: match stage -> TX stage */
	uint32_t unix_size;    /* workers -> control thread (unix: dests) */
	uint32_t ctrl_size;    /* control thread -> worker 0 (raise_event) */
	uint32_t rx_pool;      /* mbufs per port for RX */
	uint32_t payload_pool; /* encoded notification payloads */
	uint32_t hdr_pool;     /* per-subscriber header mbufs (+ fragments) */
	uint32_t indirect_pool;/* fragmentation indirect mbufs */
	uint32_t pool_cache;
};

struct evr_cfg_limits {
	uint32_t max_attrs;
	uint32_t max_name_len;
	uint32_t max_value_len;
	uint32_t max_datagram;
	uint32_t max_fanout;
	uint32_t reassembly_flows;      /* 0 = drop IP fragments */
	uint32_t reassembly_fragments;  /* per worker: fragments (mbufs) held at once */
	uint32_t reassembly_timeout_ms;
};

struct evr_cfg_matcher {
	uint32_t index; /* enum evr_index_kind */
	uint32_t max_subs;
	uint32_t hs_delta_max;
	uint32_t hs_max_deltas;
	uint32_t reap_interval_ms;
};

struct evr_cfg_neighcfg {
	uint32_t table_size;   /* power of two */
	uint32_t reachable_s;  /* learned entry lifetime before refresh */
	uint32_t retry_ms;     /* between requests */
	uint32_t max_retries;  /* then the entry fails */
	uint32_t pending_max;  /* per worker notifications waiting for a MAC */
};

struct evr_cfg_sub {
	char *event;
	char *socket;
	struct evr_cfg_strlist filters;
	uint32_t format;  /* enum evr_format, not AUTO */
	uint32_t expire;  /* 0 = never expires */
	bool lenient;
};

struct evr_config {
	char *file; /* where it came from ("<demo>" for the embedded one) */
	struct evr_cfg_eal eal;
	struct evr_cfg_port *ports;
	uint32_t n_ports;
	struct evr_cfg_workers workers;
	struct evr_cfg_listener *listeners;
	uint32_t n_listeners;
	struct evr_cfg_control control;
	struct evr_cfg_mi mi;
	struct evr_cfg_heartbeat heartbeat;
	struct evr_cfg_esl esl;
	struct evr_cfg_nats nats;
	struct evr_cfg_store store;
	struct evr_cfg_destinations destinations;
	struct evr_cfg_rings rings;
	struct evr_cfg_limits limits;
	struct evr_cfg_matcher matcher;
	struct evr_cfg_neighcfg arp;
	struct evr_cfg_sip sip;
	struct evr_cfg_sub *subscriptions;
	uint32_t n_subscriptions;
	/* derived at load: destinations + the ports' addresses, ready for
	 * evr_matcher_set_dest_policy (arrays in dp_cidrs, freed with c) */
	struct evr_dest_policy dest_policy;
	struct evr_cidr *dp_cidrs;
};

/* ---- the settings table ------------------------------------------------ */

enum evr_cfg_type {
	EVR_CFG_UINT = 0, /* unsigned integer stored in 1/2/4/8 bytes */
	EVR_CFG_BOOL,
	EVR_CFG_STR,      /* char *; max = longest accepted length */
	EVR_CFG_ENUM,     /* uint32_t index into names[] (text in the file) */
	EVR_CFG_STRLIST,  /* struct evr_cfg_strlist; max = entries */
	EVR_CFG_GROUP,    /* nested struct described by sub[] */
	EVR_CFG_LIST,     /* heap array of sub[] structs + uint32_t count */
	EVR_CFG_UINTLIST, /* struct evr_cfg_uintlist; min/max bound each value,
	                   * count_off unused; def "a,b"; entries <= 64 */
};

/* Validator for one value (STR/UINT) or one LIST element: 0 or -EINVAL
 * with a message (the loader prefixes file:line: setting:). */
typedef int (*evr_cfg_check_fn)(const void *val, char *err, size_t errlen);

struct evr_setting {
	const char *name;
	enum evr_cfg_type type;
	size_t off;       /* offset in the enclosing struct */
	size_t size;      /* UINT: field size; LIST: element size */
	size_t count_off; /* LIST: offset of the uint32_t count */
	uint64_t min, max;
	const char *def;  /* default as text; NULL = no default (empty/unset) */
	bool required;
	bool runtime;     /* may be changed on a running daemon */
	bool secret;      /* STR: never shown (config_get prints "********") */
	const char *const *names;          /* ENUM */
	const struct evr_setting *sub;     /* GROUP/LIST element table */
	evr_cfg_check_fn check;
	const char *check_text;            /* for the reference: what check demands */
	const char *help;
};

/* Top-level table (terminated by an entry with name == NULL). */
EVR_API extern const struct evr_setting evr_config_table[];

/* ---- API --------------------------------------------------------------- */

/* Load and validate a file. NULL + errno and a message "file:line: ..." in
 * err on any error. Caller frees with evr_config_free. */
EVR_API struct evr_config *evr_config_load_file(const char *path, char *err,
                                                size_t errlen);
/* Same from text; `name` labels messages (e.g. "<demo>"). */
EVR_API struct evr_config *evr_config_load_string(const char *text,
                                                  const char *name, char *err,
                                                  size_t errlen);
EVR_API void evr_config_free(struct evr_config *c);

/*
 * Runtime changes (config_set). A change is prepared against the table:
 * `name` is a setting's path ("destinations.allow_loopback"), `value` its
 * value as a config file writes it (true, 100, "text", ["a", "b"]); it is
 * parsed by libconfig and checked by the same code as a file, errors
 * naming the setting: "setting destinations.burst_ms: 0 is out of range
 * 1..60000". A setting without the runtime flag is refused ("setting
 * X: not changeable at runtime ..."). Nothing in c changes until commit,
 * which swaps the new value in (it cannot fail); the change then holds the
 * old value: commit it again to revert, free it to release it.
 * Thread: the one that owns c (evrd's control thread).
 */
struct evr_config_change;
EVR_API struct evr_config_change *evr_config_change_prepare(const struct evr_config *c,
                                                            const char *name,
                                                            const char *value, char *err,
                                                            size_t errlen);
EVR_API void evr_config_change_commit(struct evr_config *c, struct evr_config_change *ch);
EVR_API void evr_config_change_free(struct evr_config_change *ch);
/* The setting a change is about. */
EVR_API const struct evr_setting *evr_config_change_setting(const struct evr_config_change *ch);

/* The destination policy of c (destinations.* and the ports' addresses):
 * *p filled, its CIDRs in *cidrs (malloc'd, the caller frees them);
 * p->unix_dir points into c. 0 or -ENOMEM. */
EVR_API int evr_config_dest_policy(const struct evr_config *c, struct evr_dest_policy *p,
                                   struct evr_cidr **cidrs);

/* Markdown reference of every setting (README "Configuration reference"). */
EVR_API void evr_config_print_reference(FILE *out);

/* The embedded demo config (config/evrd-demo.conf, NUL-terminated). */
EVR_API extern const char evr_config_demo_text[];

/* Helpers shared with evrd, which parses the validated text again into
 * binary form (so there is one parser per kind of value). 0 or -EINVAL. */
EVR_API int evr_cfg_parse_ip4(const char *s, uint32_t *addr_be);
EVR_API int evr_cfg_parse_ip6(const char *s, uint8_t addr[16]);
EVR_API int evr_cfg_parse_prefix4(const char *s, uint32_t *addr_be, uint8_t *plen);
EVR_API int evr_cfg_parse_prefix6(const char *s, uint8_t addr[16], uint8_t *plen);
EVR_API int evr_cfg_parse_mac(const char *s, uint8_t mac[6]);
EVR_API int evr_cfg_parse_mode(const char *s, uint32_t *mode);

/* Fill core structures from a loaded config. */
EVR_API void evr_config_limits(const struct evr_config *c, struct evr_limits *l);
EVR_API void evr_config_matcher_conf(const struct evr_config *c,
                                     struct evr_matcher_conf *mc);

/* Static subscription spec: expire 0 ("never") becomes
 * EVR_SUB_EXPIRE_NEVER, which the matcher never expires. filters points
 * into sc. */
EVR_API void evr_config_sub_spec(const struct evr_cfg_sub *sc,
                                 struct evr_sub_spec *spec);
#define EVR_CFG_EXPIRE_NEVER EVR_SUB_EXPIRE_NEVER

#ifdef __cplusplus
}
#endif
#endif /* EVR_CONFIG_H */
