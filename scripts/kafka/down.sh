#!/usr/bin/env bash
# Stop the dev broker started by up.sh. Idempotent: not running -> exit 0.
# SIGTERM lets Kafka do a controlled shutdown and flush its logs (so the next
# start skips log recovery); SIGKILL only after SQUALL_KAFKA_STOP_TIMEOUT.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

# up.sh calls us with --locked while it already holds the lock.
if [[ "${1:-}" != "--locked" && -d "$KAFKA_HOME_DIR" ]]; then
  exec 9>"$KAFKA_HOME_DIR/.lock"
  flock -w 120 9 || { kafka_log "timed out waiting for $KAFKA_HOME_DIR/.lock"; exit 1; }
fi

if ! pid="$(kafka_running_pid)"; then
  if [[ -f "$KAFKA_PID_FILE" ]]; then
    kafka_log "not running (removed stale pid file)"
    rm -f "$KAFKA_PID_FILE"
  else
    kafka_log "not running"
  fi
  exit 0
fi

kafka_log "stopping broker (pid $pid)"
kill -TERM "$pid" 2>/dev/null || true
t0=$(date +%s%3N) # ms; bash's $SECONDS is too coarse for a short grace period
elapsed_ms() { echo $(($(date +%s%3N) - t0)); }
# kafka_running_pid reads /proc/<pid>/cmdline, which is empty for a zombie,
# so this also ends if the broker is dead but not yet reaped.
while kafka_running_pid >/dev/null; do
  if (($(elapsed_ms) >= KAFKA_STOP_TIMEOUT * 1000)); then
    kafka_log "still alive after ${KAFKA_STOP_TIMEOUT}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for _ in {1..100}; do kafka_running_pid >/dev/null || break; sleep 0.1; done
    break
  fi
  sleep 0.2
done
# /proc/<pid>/cmdline empties before the kernel closes the process's sockets,
# so wait (briefly) for the ports too: an immediate kafka:up would otherwise
# find them "taken".
for _ in {1..50}; do
  kafka_port_open "$KAFKA_PORT" || kafka_port_open "$KAFKA_CONTROLLER_PORT" || break
  sleep 0.1
done
rm -f "$KAFKA_PID_FILE"
kafka_log "stopped in $(awk -v ms="$(elapsed_ms)" 'BEGIN{printf "%.1f", ms/1000}')s"
