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
#   deploy/stack.sh secure-up    a second, secured pair: Kafka with SASL/SCRAM-SHA-512 over TLS
#                                and Redis over TLS with an ACL user; certificates and
#                                passwords are made on first start, and the settings a
#                                worker needs are written to $STACK_DIR/secure/env
#   deploy/stack.sh secure-down  stop the secured pair
#   deploy/stack.sh ensure-prometheus  install Debian's prometheus (and promtool) if missing:
#                                the dashboard test runs it against a live worker
#
# Environment: STACK_DIR (default .stack in the repository), KAFKA_PORT (9092),
# KAFKA_CONTROLLER_PORT (9093), REDIS_PORT (6379), KAFKA_VERSION (4.1.1), KAFKA_HEAP (768m),
# SECURE_KAFKA_PORT (9094), SECURE_KAFKA_CONTROLLER_PORT (9095), SECURE_REDIS_PORT (6380).
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
SECURE_KAFKA_PORT=${SECURE_KAFKA_PORT:-9094}
SECURE_KAFKA_CONTROLLER_PORT=${SECURE_KAFKA_CONTROLLER_PORT:-9095}
SECURE_REDIS_PORT=${SECURE_REDIS_PORT:-6380}

kafka_dir=$STACK_DIR/kafka
redis_dir=$STACK_DIR/redis
secure_dir=$STACK_DIR/secure
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

ensure_prometheus() {
  if command -v prometheus >/dev/null && command -v promtool >/dev/null; then return; fi
  log "installing Debian's prometheus"
  local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
    --no-install-recommends prometheus >/dev/null || die "could not install prometheus"
}

fail_with_log() {
  local name=$1 file=$2
  printf '[stack] ERROR: %s did not come up. Last lines of %s:\n' "$name" "$file" >&2
  tail -n 40 "$file" >&2 || true
  exit 1
}

# start_kafka NAME DIR TEMPLATE PORT CONTROLLER_PORT [StorageTool format options...]
start_kafka() {
  local name=$1 dir=$2 template=$3 port=$4 controller_port=$5; shift 5
  if alive "$dir/kafka.pid"; then log "$name already running (pid $(cat "$dir/kafka.pid"))"; return; fi
  ensure_java; ensure_kafka_jars
  mkdir -p "$dir/data" "$dir/logs"
  ( umask 077; sed -e "s#@KAFKA_PORT@#$port#g" -e "s#@CONTROLLER_PORT@#$controller_port#g" \
      -e "s#@DATA_DIR@#$dir/data#g" -e "s#@CERT_DIR@#$secure_dir/certs#g" \
      -e "s#@BROKER_PASSWORD@#${BROKER_PASSWORD:-}#g" "$template" > "$dir/server.properties" )
  local java=(java "-Xmx$KAFKA_HEAP" "-Xms256m" -XX:+UseG1GC "-Dkafka.logs.dir=$dir/logs"
              "-Dlog4j2.configurationFile=$here/kafka/log4j2.properties" -cp "$JARS_DIR/*")
  if [ ! -f "$dir/data/meta.properties" ]; then
    local cluster_id; cluster_id=$("${java[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
    "${java[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" --standalone "$@" \
      > "$dir/logs/format.log" 2>&1 || fail_with_log "$name storage format" "$dir/logs/format.log"
  fi
  log "starting $name on 127.0.0.1:$port"
  nohup "${java[@]}" kafka.Kafka "$dir/server.properties" > "$dir/logs/stdout.log" 2>&1 &
  echo $! > "$dir/kafka.pid"
}

kafka_up() {
  start_kafka kafka "$kafka_dir" "$here/kafka/server.properties.in" "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"
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
  wait_kafka "$kafka_dir" "127.0.0.1:$KAFKA_PORT" CRMSTREAM_KAFKA_SECURITY_PROTOCOL=PLAINTEXT
  # The checks above answer for whatever listens on the ports: make sure it is ours.
  sleep 1
  alive "$kafka_dir/kafka.pid" || fail_with_log "kafka (is port $KAFKA_PORT taken by another process?)" "$kafka_dir/logs/server.log"
  alive "$redis_dir/redis.pid" || fail_with_log "redis (is port $REDIS_PORT taken by another process?)" "$redis_dir/redis.log"
  log "kafka ready"
}

# wait_kafka DIR BOOTSTRAP [VAR=value ...]: until the broker answers, as a client configured so
wait_kafka() {
  local dir=$1 bootstrap=$2; shift 2
  local deadline=$((SECONDS + 90))
  until env "$@" "$PYTHON" "$here/wait_kafka.py" "$bootstrap" 2>/dev/null; do
    alive "$dir/kafka.pid" || fail_with_log kafka "$dir/logs/server.log"
    [ $SECONDS -lt $deadline ] || fail_with_log kafka "$dir/logs/server.log"
    sleep 1
  done
}

# Certificates (a local CA and a server certificate for 127.0.0.1) and random passwords,
# made once per secure directory; the worker's settings for the pair go to $secure_dir/env.
make_secrets() {
  [ -f "$secure_dir/env" ] && return
  command -v openssl >/dev/null || die "openssl is not installed"
  local certs=$secure_dir/certs
  ( umask 077; mkdir -p "$certs" )
  log "making a local CA, the server certificate and passwords in $secure_dir"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$certs/ca.key" -out "$certs/ca.pem" \
    -days 825 -subj "/CN=crmstream local CA" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$certs/server.key" -out "$certs/server.csr" \
    -subj "/CN=127.0.0.1" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$certs/san.ext"
  openssl x509 -req -in "$certs/server.csr" -CA "$certs/ca.pem" -CAkey "$certs/ca.key" \
    -CAcreateserial -out "$certs/server.pem" -days 825 -extfile "$certs/san.ext" 2>/dev/null
  cat "$certs/server.key" "$certs/server.pem" "$certs/ca.pem" > "$certs/broker.pem"  # PEM keystore
  ( umask 077
    printf 'BROKER_PASSWORD=%s\n' "$(openssl rand -hex 16)" > "$secure_dir/broker.secret"
    local kafka_password redis_password
    kafka_password=$(openssl rand -hex 16); redis_password=$(openssl rand -hex 16)
    cat > "$secure_dir/env" <<ENV
CRMSTREAM_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$SECURE_KAFKA_PORT
CRMSTREAM_KAFKA_SECURITY_PROTOCOL=SASL_SSL
CRMSTREAM_KAFKA_SASL_MECHANISM=SCRAM-SHA-512
CRMSTREAM_KAFKA_SASL_USERNAME=crmstream
CRMSTREAM_KAFKA_SASL_PASSWORD=$kafka_password
CRMSTREAM_KAFKA_SSL_CAFILE=$certs/ca.pem
CRMSTREAM_REDIS_URL=rediss://crmstream:$redis_password@127.0.0.1:$SECURE_REDIS_PORT/0?ssl_ca_certs=$certs/ca.pem
ENV
  )
}

secret() { sed -n "s/^$1=//p" "$2"; }

secure_up() {
  make_secrets
  local redis_password kafka_password
  redis_password=$(secret CRMSTREAM_REDIS_URL "$secure_dir/env" | sed -E 's#^rediss://crmstream:([^@]*)@.*#\1#')
  kafka_password=$(secret CRMSTREAM_KAFKA_SASL_PASSWORD "$secure_dir/env")
  BROKER_PASSWORD=$(secret BROKER_PASSWORD "$secure_dir/broker.secret")
  if ! alive "$secure_dir/redis/redis.pid"; then
    ensure_redis
    mkdir -p "$secure_dir/redis"
    ( umask 077; cat > "$secure_dir/redis/redis.conf" <<CONF
bind 127.0.0.1
port 0
tls-port $SECURE_REDIS_PORT
tls-cert-file $secure_dir/certs/server.pem
tls-key-file $secure_dir/certs/server.key
tls-ca-cert-file $secure_dir/certs/ca.pem
tls-auth-clients no
dir $secure_dir/redis
daemonize yes
pidfile $secure_dir/redis/redis.pid
logfile $secure_dir/redis/redis.log
appendonly yes
save ""
user default off
user crmstream on >$redis_password ~* &* +@all
CONF
    )
    log "starting secured redis on 127.0.0.1:$SECURE_REDIS_PORT (TLS, ACL user crmstream)"
    redis-server "$secure_dir/redis/redis.conf" >/dev/null || fail_with_log redis "$secure_dir/redis/redis.log"
  fi
  BROKER_PASSWORD=$BROKER_PASSWORD start_kafka "secured kafka" "$secure_dir/kafka" \
    "$here/kafka/server-secure.properties.in" "$SECURE_KAFKA_PORT" "$SECURE_KAFKA_CONTROLLER_PORT" \
    --add-scram "SCRAM-SHA-512=[name=broker,password=$BROKER_PASSWORD]" \
    --add-scram "SCRAM-SHA-512=[name=crmstream,password=$kafka_password]"
  local deadline=$((SECONDS + 90))
  until REDISCLI_AUTH=$redis_password redis-cli --tls --cacert "$secure_dir/certs/ca.pem" \
      -p "$SECURE_REDIS_PORT" --user crmstream ping 2>/dev/null | grep -q PONG; do
    [ $SECONDS -lt $deadline ] || fail_with_log redis "$secure_dir/redis/redis.log"
    sleep 0.2
  done
  log "secured redis ready"
  local settings=()
  mapfile -t settings < <(grep '^CRMSTREAM_KAFKA_' "$secure_dir/env")
  wait_kafka "$secure_dir/kafka" "127.0.0.1:$SECURE_KAFKA_PORT" "${settings[@]}"
  log "secured kafka ready; a worker's settings for them: $secure_dir/env"
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
  down) stop_pid kafka "$kafka_dir/kafka.pid"; stop_pid redis "$redis_dir/redis.pid"
        "$0" secure-down ;;
  reset) "$0" down; rm -rf "$STACK_DIR"; log "removed $STACK_DIR" ;;
  redis-restart) stop_pid redis "$redis_dir/redis.pid"; redis_up; wait_ready ;;
  secure-up) secure_up ;;
  ensure-prometheus) ensure_prometheus ;;
  secure-down) stop_pid "secured kafka" "$secure_dir/kafka/kafka.pid"; stop_pid "secured redis" "$secure_dir/redis/redis.pid" ;;
  status)
    alive "$kafka_dir/kafka.pid" && log "kafka running (pid $(cat "$kafka_dir/kafka.pid"))" || log "kafka stopped"
    alive "$redis_dir/redis.pid" && log "redis running (pid $(cat "$redis_dir/redis.pid"))" || log "redis stopped"
    alive "$secure_dir/kafka/kafka.pid" && log "secured kafka running" || log "secured kafka stopped"
    alive "$secure_dir/redis/redis.pid" && log "secured redis running" || log "secured redis stopped" ;;
  logs) tail -n 50 "$kafka_dir/logs/server.log" "$redis_dir/redis.log" ;;
  *) sed -n '2,19p' "$0"; exit 2 ;;
esac
