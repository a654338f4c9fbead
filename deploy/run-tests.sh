#!/usr/bin/env bash
# evrouter test command (what README and CI run: `bash deploy/run-tests.sh`).
#
#   0. deps     deploy/install-deps.sh (no-op when everything is installed)
#   1. release  gcc, buildtype=release, --werror; meson test --suite unit
#   2. asan     gcc, ASan+UBSan, --werror; meson test --suite unit
#   3. fuzz     clang-14, ASan+UBSan, --werror; every libFuzzer target for
#               EVR_FUZZ_SECONDS from a copy of tests/fuzz/corpus/<target>
#   4. e2e      every tests/e2e/*.sh, run with bash (exit 0 = pass)
#   5. summary  one row per test, then the last line `N passed, N failed`
#
# Counting: each unit test (per build), each fuzz target and each e2e script
# is one test; each build is one test too (it is a -Werror check with that
# compiler), so a build failure is a failed test and the run goes on to the
# next step. A test whose executable did not build counts as failed, never
# as skipped. Exit status is non-zero iff anything failed.
#
# Environment (all optional):
#   EVR_BUILD_PREFIX   build dir prefix (default "build": build/, build-asan/,
#                      build-fuzz/); e.g. "build-ci" keeps a developer's dirs
#   EVR_FUZZ_SECONDS   seconds per fuzz target (default 30)
#   EVR_FUZZ_RSS_MB    libFuzzer -rss_limit_mb (default 2048)
#   EVR_BUILD_TIMEOUT  seconds per configure+build (default 1500)
#   EVR_TEST_TIMEOUT   seconds per `meson test` run (default 1800)
#   EVR_E2E_TIMEOUT    seconds per e2e script (default 600)
#   EVR_SKIP_DEPS=1    do not run install-deps.sh (offline developer runs)
#   EVR_STEPS          subset of "release asan fuzz e2e" (default all); a
#                      developer shortcut: CI always runs every step
set -uo pipefail # no -e: a failing step is counted and the run goes on

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1

prefix=${EVR_BUILD_PREFIX:-build}
fuzz_secs=${EVR_FUZZ_SECONDS:-30}
fuzz_rss=${EVR_FUZZ_RSS_MB:-2048}
build_to=${EVR_BUILD_TIMEOUT:-1500}
test_to=${EVR_TEST_TIMEOUT:-1800}
e2e_to=${EVR_E2E_TIMEOUT:-600}
steps=${EVR_STEPS:-release asan fuzz e2e}

# Sanitizer runtime options for every sanitized run (unit tests and fuzzers):
# any report aborts, so it cannot scroll past as a pass.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

t_start=$SECONDS
res_step=() res_name=() res_result=() res_secs=() res_note=()
n_pass=0 n_fail=0

# record STEP NAME pass|fail SECONDS [NOTE]
record() {
	res_step+=("$1") res_name+=("$2") res_result+=("$3") res_secs+=("$4")
	res_note+=("${5:-}")
	if [[ $3 == pass ]]; then n_pass=$((n_pass + 1)); else n_fail=$((n_fail + 1)); fi
}

banner() { printf '\n=== %s ===\n' "$*"; }

want() { [[ " $steps " == *" $1 "* ]]; }

# Configure DIR (fresh or existing) with the given compilers and options, then
# build everything. Stale test executables are removed first, so a source that
# no longer compiles cannot leave an old binary behind that still passes.
# build DIR STEP CC CXX meson-options...
build() {
	local dir=$1 step=$2 cc=$3 cxx=$4
	shift 4
	local t0=$SECONDS ok=1 cur="" want_id=gcc
	[[ $cc == clang* ]] && want_id=clang
	banner "$step: configure + build $dir ($cc $*)"
	if [[ -f $dir/meson-info/intro-targets.json ]]; then
		# The C compiler a configured dir was set up with (gcc or clang).
		cur=$(jq -r '[.[].target_sources[]? | select(.language == "c")
		              | .compiler[0]][0] // empty' "$dir/meson-info/intro-targets.json" 2>/dev/null)
		if [[ -n $cur ]]; then
			if "$cur" --version 2>/dev/null | head -n 1 | grep -q clang; then cur=clang; else cur=gcc; fi
		fi
	fi
	if [[ -n $cur && $cur != "$want_id" ]]; then
		# meson cannot change the compiler of a configured dir.
		CC=$cc CXX=$cxx timeout "$build_to" meson setup --wipe "$dir" "$@" || ok=0
	elif [[ -f $dir/meson-private/coredata.dat ]]; then
		CC=$cc CXX=$cxx timeout "$build_to" meson setup --reconfigure "$dir" "$@" ||
			CC=$cc CXX=$cxx timeout "$build_to" meson setup --wipe "$dir" "$@" || ok=0
	else
		rm -rf "$dir"
		CC=$cc CXX=$cxx timeout "$build_to" meson setup "$dir" "$@" || ok=0
	fi
	if ((ok)); then
		local f
		while read -r f; do rm -f -- "$f"; done < <(
			meson introspect "$dir" --targets |
				jq -r '.[] | select(.type == "executable") | .filename[]')
		# -k 0: build every target that can be built, so one broken file
		# does not hide the results of unrelated tests.
		timeout "$build_to" ninja -C "$dir" -k 0 || ok=0
	fi
	if ((ok)); then
		record "$step" "build" pass $((SECONDS - t0))
	else
		record "$step" "build" fail $((SECONDS - t0)) "configure/build failed (see above)"
	fi
	return $((!ok))
}

# Run the unit suite of DIR and record one result per registered test.
# unit_tests DIR STEP [extra meson test args...]
unit_tests() {
	local dir=$1 step=$2
	shift 2
	local t0=$SECONDS names=() missing=() name exe
	banner "$step: meson test --suite unit ($dir)"
	[[ -f $dir/meson-private/coredata.dat ]] || {
		record "$step" "unit tests" fail 0 "not configured"
		return
	}
	# Registered unit tests and their executables; one not built is a
	# failure (meson test would refuse to run any test at all).
	while IFS=$'\t' read -r name exe; do
		if [[ -x $exe ]]; then names+=("$name"); else missing+=("$name"); fi
	done < <(meson introspect "$dir" --tests |
		jq -r '.[] | select(any(.suite[]; test(":unit$"))) | [.name, .cmd[0]] | @tsv')
	for name in "${missing[@]}"; do
		record "$step" "$name" fail 0 "not built"
	done
	if ((${#names[@]} + ${#missing[@]} == 0)); then
		record "$step" "unit tests" fail 0 "no unit test registered"
		return
	fi
	((${#names[@]})) || return

	local log=$dir/meson-logs/evr-unit.json
	rm -f "$log"
	timeout -k 30 "$test_to" meson test -C "$dir" --no-rebuild --print-errorlogs \
		--suite unit --logbase evr-unit "$@" "${names[@]}" </dev/null
	local rc=$?
	((rc == 124)) && echo "$step: meson test timed out after ${test_to}s"

	# testlog JSON: one object per finished test. A test absent from it
	# (meson killed by the timeout) counts as failed.
	local -A got=() secs=()
	if [[ -f $log ]]; then
		while IFS=$'\t' read -r name r d; do
			got[$name]=$r secs[$name]=$d
		done < <(jq -r '[.name, .result, (.duration | floor)] | @tsv' "$log")
	fi
	for name in "${names[@]}"; do
		case ${got[$name]:-} in
		OK | EXPECTEDFAIL) record "$step" "$name" pass "${secs[$name]}" ;;
		"") record "$step" "$name" fail $((SECONDS - t0)) "no result (meson test rc=$rc)" ;;
		*) record "$step" "$name" fail "${secs[$name]}" "${got[$name]}" ;;
		esac
	done
}

# ---------------------------------------------------------------- 0. deps
banner "deps: deploy/install-deps.sh"
if [[ ${EVR_SKIP_DEPS:-0} == 1 ]]; then
	echo "skipped (EVR_SKIP_DEPS=1)"
else
	t0=$SECONDS
	# Only a failure is a row: installing packages is not a test.
	timeout -k 30 1800 bash deploy/install-deps.sh </dev/null ||
		record deps install-deps fail $((SECONDS - t0)) "see above"
fi

rel_dir=$prefix
asan_dir=$prefix-asan
fuzz_dir=$prefix-fuzz

# ------------------------------------------------------------- 1. release
if want release; then
	build "$rel_dir" release gcc g++ --buildtype=release --werror
	unit_tests "$rel_dir" release
fi

# ---------------------------------------------------------------- 2. asan
if want asan; then
	# b_lundef=false: the sanitizer runtimes resolve symbols at run time.
	build "$asan_dir" asan gcc g++ --buildtype=debugoptimized --werror \
		-Db_sanitize=address,undefined -Db_lundef=false
	# Sanitized code runs several times slower than the timeouts assume.
	unit_tests "$asan_dir" asan --timeout-multiplier 3
fi

# ---------------------------------------------------------------- 3. fuzz
if want fuzz; then
	# Also the clang-14 -Werror build of everything. The fuzz targets carry
	# -fsanitize=fuzzer (tests/meson.build); ASan+UBSan make a memory or UB
	# bug a crash libFuzzer reports.
	build "$fuzz_dir" fuzz clang-14 clang++-14 --buildtype=debugoptimized --werror \
		-Db_sanitize=address,undefined -Db_lundef=false
	if [[ -f $fuzz_dir/meson-private/coredata.dat ]]; then
		mapfile -t fuzzers < <(meson introspect "$fuzz_dir" --targets |
			jq -r '.[] | select(.type == "executable" and (.name | startswith("fuzz_")))
			       | "\(.name)\t\(.filename[0])"' | sort)
		if ((${#fuzzers[@]} == 0)); then
			record fuzz "fuzz targets" fail 0 "none configured (clang-14/libFuzzer missing?)"
		fi
		for line in "${fuzzers[@]}"; do
			name=${line%%$'\t'*} exe=${line#*$'\t'}
			banner "fuzz: $name ${fuzz_secs}s"
			if [[ ! -x $exe ]]; then
				record fuzz "$name" fail 0 "not built"
				continue
			fi
			work=$fuzz_dir/fuzz-run/$name
			rm -rf "$work" && mkdir -p "$work/corpus"
			# Fuzz a copy: new inputs land in the copy, the kept corpus
			# in git only changes when someone minimises into it.
			kept=tests/fuzz/corpus/$name
			if [[ -d $kept ]]; then
				cp -a "$kept/." "$work/corpus/"
			else
				echo "fuzz: $name has no kept corpus ($kept): starting empty"
			fi
			t0=$SECONDS
			timeout -k 10 $((fuzz_secs + 120)) "$exe" \
				-max_total_time="$fuzz_secs" -rss_limit_mb="$fuzz_rss" \
				-timeout=25 -print_final_stats=1 \
				-artifact_prefix="$work/" "$work/corpus" \
				</dev/null >"$work/fuzz.log" 2>&1
			rc=$?
			grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$work/fuzz.log"
			if ((rc == 0)); then
				record fuzz "$name" pass $((SECONDS - t0))
			else
				tail -n 60 "$work/fuzz.log"
				art=$(ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null | head -n 1)
				record fuzz "$name" fail $((SECONDS - t0)) "rc=$rc ${art:+reproducer $art}"
			fi
		done
	fi
fi

# ----------------------------------------------------------------- 4. e2e
if want e2e; then
	banner "e2e: tests/e2e/*.sh"
	# Scripts find the binaries of the release build through these.
	export EVR_ROOT=$root
	export EVR_BUILD_DIR=$root/$rel_dir
	shopt -s nullglob
	e2e=(tests/e2e/*.sh)
	shopt -u nullglob
	((${#e2e[@]})) || echo "no e2e scripts yet"
	for s in "${e2e[@]}"; do
		name=$(basename "$s" .sh)
		log=$rel_dir/e2e-logs/$name.log
		mkdir -p "$(dirname "$log")"
		# Always through bash: the suites are bash scripts, and one without
		# a shebang (lib.sh's self-test) would otherwise run under
		# /bin/sh (dash). A missing mode bit is reported, never skipped.
		run=(bash "$s")
		[[ -x $s ]] || echo "e2e: WARNING: $s is not executable (running it anyway)"
		echo "--- $name"
		t0=$SECONDS
		# timeout signals the script's whole process group on expiry.
		timeout -k 15 "$e2e_to" "${run[@]}" </dev/null >"$log" 2>&1
		rc=$?
		if ((rc == 0)); then
			record e2e "$name" pass $((SECONDS - t0))
		else
			tail -n 40 "$log"
			note="rc=$rc"
			((rc == 124)) && note="timed out after ${e2e_to}s"
			record e2e "$name" fail $((SECONDS - t0)) "$note, log $log"
		fi
	done
fi

# ------------------------------------------------------------- 5. summary
if ((n_pass + n_fail == 0)); then
	record summary "no tests" fail 0 "nothing ran (EVR_STEPS='$steps')"
fi
banner "summary ($((SECONDS - t_start))s)"
printf '%-8s %-28s %-6s %6s  %s\n' STEP TEST RESULT SECS NOTE
for i in "${!res_name[@]}"; do
	printf '%-8s %-28s %-6s %6s  %s\n' "${res_step[$i]}" "${res_name[$i]}" \
		"${res_result[$i]}" "${res_secs[$i]}" "${res_note[$i]}"
done
echo
echo "$n_pass passed, $n_fail failed"
((n_fail == 0))
