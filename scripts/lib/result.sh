# Shared PASS/FAIL bookkeeping for the shell test suites (emulator checks).
# Source it, call `pass NAME` / `fail NAME WHY` / `expect NAME CMD...`, and
# finish with `summary SUITE`, which prints "N passed, N failed", writes it
# to build/results/SUITE and returns non-zero when anything failed.
RESULT_PASSED=0
RESULT_FAILED=0

pass() { RESULT_PASSED=$((RESULT_PASSED + 1)); echo "PASS $1"; }
fail() { RESULT_FAILED=$((RESULT_FAILED + 1)); echo "FAIL $1: $2"; }

# expect NAME CMD... — pass when CMD succeeds.
expect() {
  local name=$1; shift
  if "$@" >/dev/null 2>&1; then pass "$name"; else fail "$name" "'$*' did not hold"; fi
}

# expect_log NAME LOG REGEX — pass when an extended regex matches a line of LOG.
expect_log() {
  if grep -Eq -- "$3" "$2"; then pass "$1"; else fail "$1" "no line matching /$3/ in $2"; fi
}

summary() {
  local suite=$1 dir=${BUILD:-build}/results
  mkdir -p "$dir"
  echo "$RESULT_PASSED $RESULT_FAILED" > "$dir/$suite"
  echo "$suite: $RESULT_PASSED passed, $RESULT_FAILED failed"
  [ "$RESULT_FAILED" -eq 0 ]
}
