#!/usr/bin/env bash
# Replays a fuzzguest failure (issue 16): the same seed, each CPU's stream
# stopped before STEP, and the last operations printed (the guest's log
# ring, and with TRACE=N each of the BSP's operations from step N on, as it
# runs, which survives a guest that dies). An AP's stream runs on the BSP
# alone with CPU=N (stream=N cpus=1: its operations are the same ones, in
# the same order, without the other CPU's).
# usage: scripts/fuzzguest-replay.sh SEED STEP [qemu|bochs]
#   CPU=N      replay CPU N's stream on the BSP alone (default: every CPU)
#   TRACE=N    print the BSP's operations from step N (default STEP-32)
#   SECONDS_MAX=N  guest seconds before it gives up (default 600)
#   FUZZGUEST_ARGS  more guest options (tf=, kinds=, batch=: as in the failing run)
# Logs in $BUILD/emu/fuzzguest/{q,b}-seed-replay/.
set -u
[ $# -ge 2 ] || { sed -n '2,13p' "$0"; exit 2; }
seed=$1 step=$2 emu=${3:-qemu}
trace=${TRACE:-$(( step > 32 ? step - 32 : 1 ))}
args="until=$step trace=$trace"
[ -n "${CPU:-}" ] && args="$args cpus=1 stream=$CPU"
BUILD=${BUILD:-build}
make -s BUILD="$BUILD" "$BUILD/minihv.efi" "$BUILD/fuzzguest.efi" || exit 1
BUILD=$BUILD FUZZGUEST_EMU=$emu FUZZGUEST_SEED=$seed FUZZGUEST_SECONDS=${SECONDS_MAX:-600} FUZZGUEST_BOCHS_SECONDS=${SECONDS_MAX:-600} \
  FUZZGUEST_NAME=replay FUZZGUEST_ARGS="$args${FUZZGUEST_ARGS:+ $FUZZGUEST_ARGS}" bash tests/emu/fuzzguest.sh
dir=$BUILD/emu/fuzzguest/$([ "$emu" = qemu ] && echo q || echo b)-seed-replay
echo "the BSP's operations as they ran (the last one printed is where a dying guest stopped):"
grep -a '^fuzzguest: trace ' "$dir/firmware.txt" 2>/dev/null | tail -40
