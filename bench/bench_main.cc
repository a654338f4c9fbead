// SPDX-License-Identifier: Apache-2.0
// evr_bench entry point: BENCHMARK_MAIN() plus releasing the cached matcher
// fixtures before exit, so their background threads and RCU callbacks finish
// while the process is intact (and an ASan build of the bench reports no
// leaks from them).
#include <benchmark/benchmark.h>

#include "bench_common.h"

int main(int argc, char **argv)
{
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	evr_bench::release_fixtures();
	return 0;
}
