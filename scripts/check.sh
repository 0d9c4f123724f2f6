#!/usr/bin/env bash
# `make check`: runs every suite (make check-SUITE), keeps going after a
# failure, and ends with the total over all suites.
set -u
BUILD=${BUILD:-build}
rm -rf "$BUILD/results"
status=0
for s in "$@"; do
  echo "==== check-$s ===="
  start=$(date +%s)
  make --no-print-directory "check-$s" || status=1
  [ -f "$BUILD/results/$s" ] || { echo "check-$s: produced no result"; status=1; }
  echo "==== check-$s took $(( $(date +%s) - start ))s ===="
done
passed=0; failed=0
printf '\n%-14s %8s %8s\n' suite passed failed
for s in "$@"; do
  if [ -f "$BUILD/results/$s" ]; then read -r p f < "$BUILD/results/$s"; else p=0; f=1; fi
  printf '%-14s %8d %8d\n' "$s" "$p" "$f"
  passed=$((passed + p)); failed=$((failed + f))
done
echo "total: $passed passed, $failed failed"
[ $status -eq 0 ] && [ $failed -eq 0 ]
