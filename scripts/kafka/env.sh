# shellcheck shell=bash disable=SC2034 # vars are used by the scripts sourcing this
# Common settings for scripts/kafka/*.sh. Sourced, never run.
# Every value can be overridden from the environment so CI or a developer can
# move the broker (port clash, a second checkout) without editing files.

_kafka_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Everything (jars, data, logs, pid) lives in one git-ignored dir, so a clean
# clone starts from nothing and `rm -rf .kafka` is a full reset.
KAFKA_HOME_DIR="$(realpath -m "${SQUALL_KAFKA_HOME:-$_kafka_root/.kafka}")"
KAFKA_VERSION="${SQUALL_KAFKA_VERSION:-4.1.2}"
KAFKA_PORT="${SQUALL_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${SQUALL_KAFKA_CONTROLLER_PORT:-9093}"
# Small heap: a single dev broker with a few test topics needs far less than
# Kafka's default 1G, and CI machines have 2 cores shared with the tests.
KAFKA_HEAP_OPTS="${SQUALL_KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
KAFKA_START_TIMEOUT="${SQUALL_KAFKA_START_TIMEOUT:-60}" # seconds
KAFKA_STOP_TIMEOUT="${SQUALL_KAFKA_STOP_TIMEOUT:-30}"   # seconds before SIGKILL

# Jars are per version so switching SQUALL_KAFKA_VERSION never mixes them.
KAFKA_LIB_DIR="$KAFKA_HOME_DIR/lib/$KAFKA_VERSION"
KAFKA_CONF_DIR="$KAFKA_HOME_DIR/config"
KAFKA_DATA_DIR="$KAFKA_HOME_DIR/data"
KAFKA_LOG_DIR="$KAFKA_HOME_DIR/logs"
KAFKA_PID_FILE="$KAFKA_HOME_DIR/kafka.pid"
KAFKA_CLUSTER_ID_FILE="$KAFKA_HOME_DIR/cluster.id"
KAFKA_SERVER_LOG="$KAFKA_LOG_DIR/server.log"
KAFKA_OUT_LOG="$KAFKA_LOG_DIR/kafka.out" # JVM stdout/stderr (crashes, GC errors)

kafka_log() { printf 'kafka: %s\n' "$*" >&2; }

# Prints the pid if the pid file names a live process that is *our* broker.
# A pid file left by a crash (or a reboot that recycled the pid for some
# unrelated process) is stale: we check /proc/<pid>/cmdline, not just kill -0.
kafka_running_pid() {
  [[ -f "$KAFKA_PID_FILE" ]] || return 1
  local pid
  pid="$(<"$KAFKA_PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "kafka\.Kafka $KAFKA_CONF_DIR/server.properties" || return 1
  printf '%s\n' "$pid"
}

# True while process $1 exists and is not a zombie. Used during startup,
# where the child may not have exec'd java yet (cmdline still says bash).
kafka_pid_alive() {
  local state
  state="$(sed -E 's/.*\) //; s/ .*//' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z ]]
}

# True if something accepts TCP connections on 127.0.0.1:$1 (bash /dev/tcp,
# so no nc/curl needed).
kafka_port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
