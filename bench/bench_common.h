/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the evr_bench translation units: liburcu QSBR thread
 * state as RAII, environment knobs, and the release hook main() calls so the
 * cached matcher fixtures are destroyed while the process can still run RCU
 * callbacks (not from static destructors).
 */
#ifndef EVR_BENCH_COMMON_H
#define EVR_BENCH_COMMON_H

#include <chrono>
#include <cstdint>
#include <cstdlib>

/* The top-level header maps rcu_*() to the QSBR flavour (URCU_API_MAP). */
#include <urcu-qsbr.h>

namespace evr_bench {

/* Registers the calling thread with urcu-qsbr for the object's lifetime and
 * leaves it offline: a registered thread that is online but not reporting
 * quiescent states stalls every grace period (and with it Hyperscan delta
 * publication and frees in the matcher). Nests per thread. */
class RcuThread {
public:
	RcuThread()
	{
		if (depth_++ == 0) {
			rcu_register_thread();
			rcu_thread_offline();
		}
	}
	~RcuThread()
	{
		if (--depth_ == 0)
			rcu_unregister_thread();
	}
	RcuThread(const RcuThread &) = delete;
	RcuThread &operator=(const RcuThread &) = delete;

private:
	static inline thread_local int depth_ = 0;
};

/* Online for a scope: matcher calls (reader and writer) need it. */
class RcuOnline {
public:
	RcuOnline() { rcu_thread_online(); }
	~RcuOnline() { rcu_thread_offline(); }
	RcuOnline(const RcuOnline &) = delete;
	RcuOnline &operator=(const RcuOnline &) = delete;
};

inline uint64_t now_ns()
{
	return (uint64_t)std::chrono::duration_cast<std::chrono::nanoseconds>(
	               std::chrono::steady_clock::now().time_since_epoch())
	        .count();
}

/* Integer knob from the environment (bench/run.sh shortens runs with these). */
inline long env_long(const char *name, long def)
{
	const char *v = std::getenv(name);
	if (!v || !*v)
		return def;
	char *end;
	long x = std::strtol(v, &end, 10);
	return *end || x <= 0 ? def : x;
}

/* Fraction knob in [0, 1] from the environment (workload mix overrides). */
inline double env_frac(const char *name, double def)
{
	const char *v = std::getenv(name);
	if (!v || !*v)
		return def;
	char *end;
	double x = std::strtod(v, &end);
	return *end || x < 0 || x > 1 ? def : x;
}

/* Destroy every cached matcher fixture (bench_match.cc). */
void release_fixtures();

} // namespace evr_bench

#endif /* EVR_BENCH_COMMON_H */
