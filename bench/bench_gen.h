/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Workload generator shared by the matcher/codec benchmarks and the appliance
 * benchmark: subscriptions and events that look like an OpenSIPS registrar
 * feeding usrloc events (E_UL_AOR_INSERT, E_UL_CONTACT_INSERT, ...) to many
 * subscribers, deterministic for a given seed.
 *
 * Subscriptions (GenConf defaults):
 *  - primary filter class: 70% exact, 20% prefix or suffix, 10% infix or
 *    multi-wildcard (globs the hybrid index takes through its substring
 *    hash or Hyperscan);
 *  - keys: mostly "aor"; 10% add a "user_agent" glob as a second filter,
 *    5% are on "uri" alone, 5% on "callid" alone;
 *  - events: 48% E_UL_CONTACT_INSERT, 47% E_UL_AOR_INSERT, 5% spread over
 *    E_UL_CONTACT_UPDATE / E_UL_CONTACT_DELETE / E_UL_AOR_DELETE;
 *  - destinations from a pool of 256 subscribers (interned by the matcher).
 *
 * Every filter targets one user of a universe of AORs
 * "user%07u@domain%02u.example.com" (user k lives in domain k % 20). Fixed
 * width numbers make every pattern match exactly its target user and no
 * other, so the expected number of notifications per event is computable:
 *   E[matches] = sum over subs of P(event name) * P(other filters) / users
 * and the universe size is chosen so that it is conf.target_matches (3).
 * The benchmarks still report the measured average, which also catches a
 * matcher that finds too few or too many.
 *
 * Events: ~370 bytes as OpenSIPS JSON-RPC, 10 attributes like
 * E_UL_CONTACT_INSERT (aor, uri, received, user_agent, callid, cseq, expires,
 * path, socket, domain), the user uniform over the universe.
 *
 * Header-only C++17 so each benchmark program includes it without another
 * library target.
 */
#ifndef EVR_BENCH_GEN_H
#define EVR_BENCH_GEN_H

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "event/evr_event.h"
#include "match/evr_sub.h"

namespace evr_bench {

/* splitmix64: tiny, fast, good enough for workload shapes, and identical on
 * every platform (std:: distributions are not specified bit-exactly). */
class Rng {
public:
	explicit Rng(uint64_t seed) : s_(seed) {}
	uint64_t next()
	{
		uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		return z ^ (z >> 31);
	}
	uint32_t below(uint32_t n) { return (uint32_t)((next() >> 32) * n >> 32); }
	double unit() { return (double)(next() >> 11) * (1.0 / 9007199254740992.0); }

private:
	uint64_t s_;
};

inline std::string fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
inline std::string fmt(const char *f, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(buf, sizeof(buf), f, ap);
	va_end(ap);
	return std::string(buf, n < 0 ? 0 : (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

struct GenConf {
	uint64_t seed = 0x5eed5eedull;
	uint32_t n_domains = 20;
	double target_matches = 3.0; /* expected notifications per event */
	double p_exact = 0.70;       /* primary filter class mix */
	double p_prefix_suffix = 0.20; /* rest: infix / multi-wildcard */
	double p_ua_extra = 0.10;    /* aor + user_agent filter */
	double p_uri = 0.05;         /* uri filter only */
	double p_callid = 0.05;      /* callid filter only */
	uint32_t n_dests = 256;
};

/* One subscription request, as text (what evrctl / JSON-RPC would send). */
struct SubDef {
	std::string event;
	std::vector<std::string> filters; /* "key=glob" */
	std::string dest;
};

/* One event: name + ordered attributes. literal = JSON number on the wire. */
struct AttrDef {
	std::string name, value;
	bool literal;
};
struct EventDef {
	std::string name;
	std::vector<AttrDef> attrs;
};

/* Event names and their share of the event stream. */
struct NameShare {
	const char *name;
	double events; /* share of events */
};
static const NameShare k_event_names[] = {
	{"E_UL_CONTACT_INSERT", 0.45}, {"E_UL_AOR_INSERT", 0.35},
	{"E_UL_CONTACT_UPDATE", 0.10}, {"E_UL_CONTACT_DELETE", 0.05},
	{"E_UL_AOR_DELETE", 0.05},
};

/* User agents: 4 families; a user_agent filter picks one family (P = 1/4). */
static const char *const k_ua[4][2] = {
	{"Linphone/5.0.14 (belle-sip/5.0.0)", "Linphone*"},
	{"Z 5.6.1 v2.10.19.9", "Z ?.*"},
	{"Grandstream GXP2170 1.0.11.23", "Grandstream*"},
	{"Yealink SIP-T46U 108.86.0.45", "*SIP-T4[0-9]*"},
};

/* Call-IDs per user: a callid filter follows one of them (P = 1/4). */
static const uint32_t k_callids_per_user = 4;

class Gen {
public:
	/* Shape n subscriptions; the universe is sized from them. */
	explicit Gen(uint32_t n_subs, const GenConf &c = GenConf()) : c_(c), rng_(c.seed)
	{
		shapes_.reserve(n_subs);
		double weight = 0;
		for (uint32_t i = 0; i < n_subs; i++) {
			Shape s = shape(rng_);
			weight += s.weight;
			shapes_.push_back(s);
		}
		/* weight = expected matches per event if there were one user. */
		double u = weight / c_.target_matches;
		n_users_ = u < 1 ? 1 : (uint32_t)(u + 0.5);
		/* A user of every domain at least, so domain-wide shapes make sense. */
		if (n_users_ < c_.n_domains)
			n_users_ = c_.n_domains;
		expected_matches_ = weight / n_users_;
	}

	uint32_t n_users() const { return n_users_; }
	/* Analytic expectation of notifications per event (for cross-checks). */
	double expected_matches() const { return expected_matches_; }
	size_t size() const { return shapes_.size(); }

	/* The i-th subscription (deterministic, rendered on demand so 1M of them
	 * need not be held as strings). */
	SubDef sub(uint32_t i) const
	{
		Rng r(c_.seed ^ (0x51ab0000ull + i) * 0x9e3779b97f4a7c15ull);
		return render(shapes_[i], r.below(n_users_), r);
	}

	/* A fresh subscription with the same mix (churn, update visibility):
	 * not one of the n_subs above, unless by chance identical. */
	SubDef extra_sub(uint64_t salt) const
	{
		Rng r(c_.seed ^ (0xc4a40000ull + salt) * 0xd1b54a32d192ed03ull);
		Shape s = shape(r);
		return render(s, r.below(n_users_), r);
	}

	/* n events, user uniform over the universe. */
	std::vector<EventDef> events(uint32_t n, uint64_t seed = 1) const
	{
		Rng r(c_.seed ^ seed * 0xa0761d6478bd642full);
		std::vector<EventDef> v;
		v.reserve(n);
		for (uint32_t i = 0; i < n; i++) {
			double x = r.unit(), acc = 0;
			const char *name = k_event_names[0].name;
			for (const NameShare &ns : k_event_names) {
				acc += ns.events;
				if (x < acc) {
					name = ns.name;
					break;
				}
			}
			v.push_back(event_for(name, r.below(n_users_), r));
		}
		return v;
	}

	/* The realistic E_UL_CONTACT_INSERT-like event for user k. */
	EventDef event_for(const char *name, uint32_t k, Rng &r) const
	{
		uint32_t d = domain_of(k);
		uint32_t ua = r.below(4), cid = r.below(k_callids_per_user);
		EventDef e;
		e.name = name;
		e.attrs = {
			{"aor", aor(k), false},
			{"uri", fmt("sip:user%07u@198.51.%u.%u:%u", k,
			            100 + k % 3, 1 + k % 250, 5060 + k % 4000), false},
			{"received", fmt("sip:203.0.113.%u:%u", 1 + r.below(250),
			                 1024 + r.below(60000)), false},
			{"user_agent", k_ua[ua][0], false},
			{"callid", callid(k, cid), false},
			{"cseq", fmt("%u", 1 + r.below(9000)), true},
			{"expires", "3600", true},
			{"path", "", false},
			{"socket", "udp:198.51.100.1:5060", false},
			{"domain", fmt("domain%02u.example.com", d), false},
		};
		return e;
	}

	std::string aor(uint32_t k) const
	{
		return fmt("user%07u@domain%02u.example.com", k, domain_of(k));
	}
	static std::string callid(uint32_t k, uint32_t n)
	{
		uint64_t h = (uint64_t)k * 0x9e3779b97f4a7c15ull ^ (uint64_t)(n + 1) * 0xbf58476d1ce4e5b9ull;
		return fmt("%016llx@client.example.net", (unsigned long long)h);
	}
	uint32_t domain_of(uint32_t k) const { return k % c_.n_domains; }

private:
	enum Kind : uint8_t {
		AOR_EXACT,
		AOR_PREFIX_USER,   /* user0001234@*                  */
		AOR_PREFIX_DOMAIN, /* user0001234@domain14.*         */
		AOR_SUFFIX,        /* *0001234@domain14.example.com  */
		AOR_SUFFIX_R,      /* *r0001234@domain14.example.com */
		AOR_INFIX_Q,       /* user000123?@domain14.example.com */
		AOR_INFIX_STARS,   /* *0001234@*.example.com         */
		AOR_INFIX_CLASS,   /* user0001234@domain1[0-9].example.com */
		AOR_INFIX_Q2,      /* u?er0001234@*                  */
		URI_PREFIX,        /* uri=sip:user0001234@*          */
		URI_INFIX,         /* uri=sip:user0001234@198.51.*:*  */
		CALLID_EXACT,      /* callid=<one of the user's call-ids> */
	};
	struct Shape {
		Kind kind;
		bool ua;     /* + user_agent filter */
		uint8_t ev;  /* index in k_sub_events */
		double weight; /* P(event name) * P(other filters) */
	};

	/* Subscription event names and their shares. */
	static constexpr uint32_t k_n_sub_events = 5;
	static const char *sub_event(uint32_t i)
	{
		return k_event_names[i].name;
	}
	static double event_share(uint32_t i) { return k_event_names[i].events; }

	Shape shape(Rng &r) const
	{
		Shape s{};
		/* event: 48% CONTACT_INSERT, 47% AOR_INSERT, 5% the others */
		double x = r.unit();
		s.ev = x < 0.48 ? 0 : x < 0.95 ? 1 : (uint8_t)(2 + r.below(3));
		double cls = r.unit(), key = r.unit();
		bool exact = cls < c_.p_exact;
		bool ps = !exact && cls < c_.p_exact + c_.p_prefix_suffix;
		double other = 1.0;
		if (key < c_.p_callid) {
			/* Call-IDs are opaque: only exact filters make sense. */
			s.kind = CALLID_EXACT;
			other = 1.0 / k_callids_per_user;
		} else if (key < c_.p_callid + c_.p_uri) {
			s.kind = exact || ps ? URI_PREFIX : URI_INFIX;
		} else {
			if (exact)
				s.kind = AOR_EXACT;
			else if (ps)
				s.kind = (Kind)(AOR_PREFIX_USER + r.below(4));
			else
				s.kind = (Kind)(AOR_INFIX_Q + r.below(4));
			if (key > 1.0 - c_.p_ua_extra) {
				s.ua = true;
				other = 0.25;
			}
		}
		s.weight = event_share(s.ev) * other;
		return s;
	}

	SubDef render(const Shape &s, uint32_t k, Rng &r) const
	{
		SubDef d;
		d.event = sub_event(s.ev);
		uint32_t dom = domain_of(k);
		switch (s.kind) {
		case AOR_EXACT:
			d.filters.push_back("aor=" + aor(k));
			break;
		case AOR_PREFIX_USER:
			d.filters.push_back(fmt("aor=user%07u@*", k));
			break;
		case AOR_PREFIX_DOMAIN:
			d.filters.push_back(fmt("aor=user%07u@domain%02u.*", k, dom));
			break;
		case AOR_SUFFIX:
			d.filters.push_back(fmt("aor=*%07u@domain%02u.example.com", k, dom));
			break;
		case AOR_SUFFIX_R:
			d.filters.push_back(fmt("aor=*r%07u@domain%02u.example.com", k, dom));
			break;
		case AOR_INFIX_Q:
			d.filters.push_back(fmt("aor=user%06u?@domain%02u.example.com", k / 10, dom));
			break;
		case AOR_INFIX_STARS:
			d.filters.push_back(fmt("aor=*%07u@*.example.com", k));
			break;
		case AOR_INFIX_CLASS:
			d.filters.push_back(fmt("aor=user%07u@domain%u[0-9].example.com", k, dom / 10));
			break;
		case AOR_INFIX_Q2:
			d.filters.push_back(fmt("aor=u?er%07u@*", k));
			break;
		case URI_PREFIX:
			d.filters.push_back(fmt("uri=sip:user%07u@*", k));
			break;
		case URI_INFIX:
			d.filters.push_back(fmt("uri=sip:user%07u@198.51.*:*", k));
			break;
		case CALLID_EXACT:
			d.filters.push_back("callid=" + callid(k, r.below(k_callids_per_user)));
			break;
		}
		if (s.ua)
			d.filters.push_back(std::string("user_agent=") + k_ua[r.below(4)][1]);
		d.dest = dest(r.below(c_.n_dests));
		return d;
	}

public:
	/* Subscriber i of the destination pool (TEST-NET-2 style range that
	 * nothing here sends to: the matcher only interns it). */
	static std::string dest(uint32_t i)
	{
		return fmt("udp:198.18.%u.%u:%u", (i / 250) % 256, 1 + i % 250,
		           9000 + (i / 64000) % 1000);
	}

private:
	GenConf c_;
	Rng rng_;
	std::vector<Shape> shapes_;
	uint32_t n_users_ = 1;
	double expected_matches_ = 0;
};

/* Events materialised as struct evr_event (what a decoder would produce):
 * every view NUL-terminated, numbers flagged EVR_STR_LITERAL. Owns storage;
 * not copyable because the evr_event arrays point into it. */
class EventSet {
public:
	explicit EventSet(std::vector<EventDef> defs) : defs_(std::move(defs))
	{
		attrs_.resize(defs_.size());
		evs_.resize(defs_.size());
		for (size_t i = 0; i < defs_.size(); i++) {
			const EventDef &d = defs_[i];
			std::vector<evr_attr> &a = attrs_[i];
			a.resize(d.attrs.size());
			for (size_t j = 0; j < d.attrs.size(); j++) {
				a[j].name = view(d.attrs[j].name, 0);
				a[j].value = view(d.attrs[j].value,
				                  d.attrs[j].literal ? EVR_STR_LITERAL : 0u);
			}
			evr_event &e = evs_[i];
			e = evr_event();
			e.name = view(d.name, 0);
			e.subclass = view(empty_, 0);
			e.body = view(empty_, 0);
			e.priority = EVR_PRIO_NORMAL;
			e.src_format = EVR_FMT_JSONRPC;
			e.n_attrs = (uint32_t)a.size();
			e.attrs = a.data();
		}
	}
	EventSet(const EventSet &) = delete;
	EventSet &operator=(const EventSet &) = delete;

	size_t size() const { return evs_.size(); }
	const evr_event &operator[](size_t i) const { return evs_[i]; }
	const EventDef &def(size_t i) const { return defs_[i]; }

private:
	static evr_str view(const std::string &s, uint32_t flags)
	{
		evr_str v;
		v.p = s.c_str();
		v.len = (uint32_t)s.size();
		v.flags = flags;
		return v;
	}
	std::vector<EventDef> defs_;
	std::vector<std::vector<evr_attr>> attrs_;
	std::vector<evr_event> evs_;
	std::string empty_;
};

/* evr_sub_spec over a SubDef (which must outlive it). */
struct SpecView {
	evr_sub_spec spec;
	std::vector<const char *> filters;

	explicit SpecView(const SubDef &d, uint32_t expire = EVR_EXPIRE_DEFAULT,
	                  evr_format f = EVR_FMT_JSONRPC)
	{
		for (const std::string &s : d.filters)
			filters.push_back(s.c_str());
		spec = evr_sub_spec();
		spec.event = d.event.c_str();
		spec.subclass = nullptr;
		spec.filters = filters.data();
		spec.n_filters = (uint32_t)filters.size();
		spec.dest = d.dest.c_str();
		spec.format = f;
		spec.expire = expire;
		spec.once = false;
		spec.lenient = false;
	}
	SpecView(const SpecView &) = delete;
	SpecView &operator=(const SpecView &) = delete;
};

/* ---- wire renderers (independent of the encoders under test) ---------- */

inline void json_escape(std::string &o, const std::string &s)
{
	for (unsigned char ch : s) {
		switch (ch) {
		case '"': o += "\\\""; break;
		case '\\': o += "\\\\"; break;
		case '\n': o += "\\n"; break;
		case '\r': o += "\\r"; break;
		case '\t': o += "\\t"; break;
		default:
			if (ch < 0x20)
				o += fmt("\\u%04x", ch);
			else
				o += (char)ch;
		}
	}
}

/* OpenSIPS event_datagram JSON-RPC notification (compact, numbers bare). */
inline std::string render_jsonrpc(const EventDef &e)
{
	std::string o = "{\"jsonrpc\":\"2.0\",\"method\":\"";
	json_escape(o, e.name);
	o += "\",\"params\":{";
	for (size_t i = 0; i < e.attrs.size(); i++) {
		if (i)
			o += ',';
		o += '"';
		json_escape(o, e.attrs[i].name);
		o += "\":";
		if (e.attrs[i].literal) {
			o += e.attrs[i].value;
		} else {
			o += '"';
			json_escape(o, e.attrs[i].value);
			o += '"';
		}
	}
	o += "}}";
	return o;
}

/* FreeSWITCH text/event-plain (switch_event_serialize style, no ESL
 * envelope): Event-Name first, url-encoded values, blank line at the end. */
inline std::string render_plain(const EventDef &e)
{
	auto enc = [](std::string &o, const std::string &s) {
		static const char hex[] = "0123456789ABCDEF";
		for (unsigned char ch : s) {
			if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' ||
			    ch == '~') {
				o += (char)ch;
			} else {
				o += '%';
				o += hex[ch >> 4];
				o += hex[ch & 15];
			}
		}
	};
	std::string o = "Event-Name: ";
	enc(o, e.name);
	o += '\n';
	for (const AttrDef &a : e.attrs) {
		o += a.name;
		o += ": ";
		if (a.value.empty())
			o += "_undef_";
		else
			enc(o, a.value);
		o += '\n';
	}
	o += '\n';
	return o;
}

/* FreeSWITCH JSON event: flat object of strings, Event-Name first. */
inline std::string render_json(const EventDef &e)
{
	std::string o = "{\"Event-Name\":\"";
	json_escape(o, e.name);
	o += '"';
	for (const AttrDef &a : e.attrs) {
		o += ",\"";
		json_escape(o, a.name);
		o += "\":\"";
		json_escape(o, a.value);
		o += '"';
	}
	o += '}';
	return o;
}

} // namespace evr_bench

#endif /* EVR_BENCH_GEN_H */
