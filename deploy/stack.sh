#!/usr/bin/env bash
# The local single-node stack crmstream runs and tests against: a real Apache Kafka 4 broker
# (KRaft, built from Maven Central jars) and a real Redis server, both on loopback.
#
#   deploy/stack.sh up       start what is not running yet, then wait until both answer
#   deploy/stack.sh down     stop both (data is kept; `reset` wipes it)
#   deploy/stack.sh status   say what runs
#   deploy/stack.sh logs     tail both logs
#   deploy/stack.sh reset    stop and delete the data
#   deploy/stack.sh redis-restart   stop and start Redis only (persistence tests)
#
# Environment: STACK_DIR (default .stack in the repository), KAFKA_PORT (9092),
# KAFKA_CONTROLLER_PORT (9093), REDIS_PORT (6379), KAFKA_VERSION (4.1.1), KAFKA_HEAP (768m).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
STACK_DIR=${STACK_DIR:-$root/.stack}
KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
REDIS_PORT=${REDIS_PORT:-6379}
KAFKA_VERSION=${KAFKA_VERSION:-4.1.1}
KAFKA_HEAP=${KAFKA_HEAP:-768m}
JARS_DIR=${CRMSTREAM_CACHE:-$HOME/.cache/crmstream}/kafka-$KAFKA_VERSION/libs
PYTHON=${PYTHON:-python3}

kafka_dir=$STACK_DIR/kafka
redis_dir=$STACK_DIR/redis
log() { printf '[stack] %s\n' "$*"; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

ensure_java() {
  command -v java >/dev/null || die "java is not installed (Kafka needs Java 17+)"
  command -v mvn >/dev/null || die "mvn is not installed (it fetches the Kafka jars from Maven Central)"
}

ensure_kafka_jars() {
  if [ -f "$JARS_DIR/.complete" ]; then return; fi
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $JARS_DIR"
  mkdir -p "$JARS_DIR"
  mvn -q -B -f "$here/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$JARS_DIR" \
    || die "could not fetch the Kafka jars (see the Maven output above)"
  touch "$JARS_DIR/.complete"
}

ensure_redis() {
  if command -v redis-server >/dev/null; then return; fi
  log "installing Debian's redis-server"
  local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo apt-get install -y -qq redis-server >/dev/null \
    || die "could not install redis-server"
}

fail_with_log() {
  local name=$1 file=$2
  printf '[stack] ERROR: %s did not come up. Last lines of %s:\n' "$name" "$file" >&2
  tail -n 40 "$file" >&2 || true
  exit 1
}

kafka_up() {
  if alive "$kafka_dir/kafka.pid"; then log "kafka already running (pid $(cat "$kafka_dir/kafka.pid"))"; return; fi
  ensure_java; ensure_kafka_jars
  mkdir -p "$kafka_dir/data" "$kafka_dir/logs"
  sed -e "s#@KAFKA_PORT@#$KAFKA_PORT#g" -e "s#@CONTROLLER_PORT@#$KAFKA_CONTROLLER_PORT#g" \
      -e "s#@DATA_DIR@#$kafka_dir/data#g" "$here/kafka/server.properties.in" > "$kafka_dir/server.properties"
  local java=(java "-Xmx$KAFKA_HEAP" "-Xms256m" -XX:+UseG1GC "-Dkafka.logs.dir=$kafka_dir/logs"
              "-Dlog4j2.configurationFile=$here/kafka/log4j2.properties" -cp "$JARS_DIR/*")
  if [ ! -f "$kafka_dir/data/meta.properties" ]; then
    local cluster_id; cluster_id=$("${java[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
    "${java[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$kafka_dir/server.properties" --standalone \
      > "$kafka_dir/logs/format.log" 2>&1 || fail_with_log "kafka storage format" "$kafka_dir/logs/format.log"
  fi
  log "starting kafka on 127.0.0.1:$KAFKA_PORT"
  nohup "${java[@]}" kafka.Kafka "$kafka_dir/server.properties" > "$kafka_dir/logs/stdout.log" 2>&1 &
  echo $! > "$kafka_dir/kafka.pid"
}

redis_up() {
  if alive "$redis_dir/redis.pid"; then log "redis already running (pid $(cat "$redis_dir/redis.pid"))"; return; fi
  ensure_redis
  mkdir -p "$redis_dir"
  log "starting redis on 127.0.0.1:$REDIS_PORT (AOF persistence on)"
  # AOF with fsync every second: the state store survives a Redis restart. Rewrites wait
  # for 1 GB of log: on 2 cores a rewrite (fork + copy) every 64 MB stalled the worker.
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$redis_dir" --daemonize yes \
    --pidfile "$redis_dir/redis.pid" --logfile "$redis_dir/redis.log" \
    --appendonly yes --appendfsync everysec --save "" \
    --auto-aof-rewrite-min-size 1gb >/dev/null \
    || fail_with_log redis "$redis_dir/redis.log"
}

wait_ready() {
  local deadline=$((SECONDS + 90))
  until redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; do
    [ $SECONDS -lt $deadline ] || fail_with_log redis "$redis_dir/redis.log"
    sleep 0.2
  done
  log "redis ready"
  until "$PYTHON" "$here/wait_kafka.py" "127.0.0.1:$KAFKA_PORT" 2>/dev/null; do
    alive "$kafka_dir/kafka.pid" || fail_with_log kafka "$kafka_dir/logs/server.log"
    [ $SECONDS -lt $deadline ] || fail_with_log kafka "$kafka_dir/logs/server.log"
    sleep 1
  done
  # The checks above answer for whatever listens on the ports: make sure it is ours.
  sleep 1
  alive "$kafka_dir/kafka.pid" || fail_with_log "kafka (is port $KAFKA_PORT taken by another process?)" "$kafka_dir/logs/server.log"
  alive "$redis_dir/redis.pid" || fail_with_log "redis (is port $REDIS_PORT taken by another process?)" "$redis_dir/redis.log"
  log "kafka ready"
}

stop_pid() {
  local name=$1 pidfile=$2
  if alive "$pidfile"; then
    local pid; pid=$(cat "$pidfile")
    log "stopping $name (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  up) redis_up; kafka_up; wait_ready ;;
  down) stop_pid kafka "$kafka_dir/kafka.pid"; stop_pid redis "$redis_dir/redis.pid" ;;
  reset) "$0" down; rm -rf "$STACK_DIR"; log "removed $STACK_DIR" ;;
  redis-restart) stop_pid redis "$redis_dir/redis.pid"; redis_up; wait_ready ;;
  status)
    alive "$kafka_dir/kafka.pid" && log "kafka running (pid $(cat "$kafka_dir/kafka.pid"))" || log "kafka stopped"
    alive "$redis_dir/redis.pid" && log "redis running (pid $(cat "$redis_dir/redis.pid"))" || log "redis stopped" ;;
  logs) tail -n 50 "$kafka_dir/logs/server.log" "$redis_dir/redis.log" ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac
