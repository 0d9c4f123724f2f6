#!/usr/bin/env bash
# Runs cmocka test binaries and adds up their results.
# usage: run-unit.sh SUITE BINARY...
set -u
. "$(dirname "$0")/lib/result.sh"
suite=$1; shift
for t in "$@"; do
  out=$("$t" 2>&1); rc=$?
  echo "$out" | grep -E '^\[ +(RUN|OK|FAILED|PASSED|ERROR|SKIPPED) +\]|error|Error|ERROR' | grep -v '^\[ RUN' || true
  p=$(echo "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' | tail -1)
  f=$(echo "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' | tail -1)
  p=${p:-0}; f=${f:-0}
  RESULT_PASSED=$((RESULT_PASSED + p))
  RESULT_FAILED=$((RESULT_FAILED + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    # crashed or sanitizer abort before cmocka could count
    echo "$out" | tail -20
    fail "$(basename "$t")" "exited $rc"
  fi
done
summary "$suite"
