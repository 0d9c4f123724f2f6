#!/usr/bin/env bash
# Runs each libFuzzer target for FUZZ_SECONDS from its seed corpus and
# reports executions. A crash, leak or sanitizer report is a failure.
# usage: run-fuzz.sh SUITE BINARY...
set -u
. "$(dirname "$0")/lib/result.sh"
suite=$1; shift
secs=${FUZZ_SECONDS:-20}
for t in "$@"; do
  name=$(basename "$t")
  seeds=tests/fuzz/corpus/$name
  work=${BUILD:-build}/fuzz/corpus-$name
  mkdir -p "$work"
  [ -d "$seeds" ] && cp -n "$seeds"/* "$work"/ 2>/dev/null
  log=${BUILD:-build}/fuzz/$name.log
  "$t" -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 "$work" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ $rc -eq 0 ]; then
    pass "$name: ${execs:-?} executions in ${secs}s"
  else
    grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5
    fail "$name" "fuzzer exited $rc (log: $log)"
  fi
done
summary "$suite"
