#!/usr/bin/env bash
# `make check`: runs every suite (make check-SUITE), keeps going after a
# failure, and ends with the total over all suites.
#
# Two cores, one of them idle while Bochs runs (it is single-threaded): the
# host suites in CHECK_BACKGROUND (unit tests, host fuzzers: no emulator,
# no timing) run in the background while the Bochs-only suites in
# CHECK_ALONGSIDE run first in the foreground; the background's output is
# printed in one piece when it ends. CHECK_BACKGROUND= runs all in order.
set -u
BUILD=${BUILD:-build}
rm -rf "$BUILD/results"
mkdir -p "$BUILD"
background=${CHECK_BACKGROUND-unit fuzz}
alongside=${CHECK_ALONGSIDE-vmx}
status=0

run_suite() {
  local s=$1 start rc=0
  echo "==== check-$s ===="
  start=$(date +%s)
  make --no-print-directory "check-$s" || rc=1
  [ -f "$BUILD/results/$s" ] || { echo "check-$s: produced no result"; rc=1; }
  echo "==== check-$s took $(( $(date +%s) - start ))s ===="
  return $rc
}

has() { [[ " $1 " == *" $2 "* ]]; }

bg_pid= bg_log=$BUILD/check-background.log
bg=() fg=()
for s in "$@"; do
  if [ -n "$background" ] && has "$background" "$s"; then bg+=("$s"); fi
done
for s in "$@"; do
  if [ ${#bg[@]} -gt 0 ] && has "$alongside" "$s"; then fg+=("$s"); fi
done
for s in "$@"; do
  has "${bg[*]:-}" "$s" || has "${fg[*]:-}" "$s" || fg+=("$s")
done

finish_background() {
  [ -n "$bg_pid" ] || return 0
  wait "$bg_pid" || status=1
  bg_pid=
  cat "$bg_log"
}

if [ ${#bg[@]} -gt 0 ]; then
  echo "==== in the background, printed when they end: ${bg[*]} ===="
  ( rc=0; for s in "${bg[@]}"; do run_suite "$s" || rc=1; done; exit $rc ) > "$bg_log" 2>&1 &
  bg_pid=$!
fi
for s in "${fg[@]}"; do
  # The background ends before the first suite that is not Bochs-only.
  has "$alongside" "$s" || finish_background
  run_suite "$s" || status=1
done
finish_background

passed=0; failed=0
printf '\n%-14s %8s %8s\n' suite passed failed
for s in "$@"; do
  if [ -f "$BUILD/results/$s" ]; then read -r p f < "$BUILD/results/$s"; else p=0; f=1; fi
  printf '%-14s %8d %8d\n' "$s" "$p" "$f"
  passed=$((passed + p)); failed=$((failed + f))
done
echo "total: $passed passed, $failed failed"
[ $status -eq 0 ] && [ $failed -eq 0 ]
