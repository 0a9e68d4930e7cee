#!/usr/bin/env bash
# A real, single-node Apache Kafka broker (KRaft: broker and controller in one JVM) on
# localhost, for the integration tests. No Docker: the broker's jars come from Maven Central
# through scripts/kafka/pom.xml and are cached between runs.
#
#   scripts/kafka/broker.sh start    fetch the jars if needed, format fresh storage, start the
#                                    broker, wait until it serves; last stdout line: host:port.
#                                    If it already runs, reuse it.
#   scripts/kafka/broker.sh stop     stop the broker this script started, delete its data
#   scripts/kafka/broker.sh release  end the lease of $GAIA_KAFKA_OWNER_PID (see below); the
#                                    broker stops when no lease is left
#   scripts/kafka/broker.sh status   say whether it runs (exit 0 running, 1 not)
#   scripts/kafka/broker.sh secure   print the TLS listeners of the running broker as
#                                    "host:port ca-file user password mtls-host:port client-cert
#                                    client-key" (exit 1 if it has none)
#
# Needs Java 17+ (java on PATH or $JAVA_HOME) and, for the first download only, Maven (mvn).
# Progress and errors go to stderr; stdout carries only the bootstrap address.
#
# Environment (all optional):
#   GAIA_KAFKA_HOME             jar cache   (default ~/.cache/gaia-sentinel/kafka/<version>)
#   GAIA_KAFKA_STATE            pid, config, log and data of the running broker
#                               (default ${TMPDIR:-/tmp}/gaia-kafka)
#   GAIA_KAFKA_HOST             listener address (default 127.0.0.1)
#   GAIA_KAFKA_PORT             client port      (default 19092)
#   GAIA_KAFKA_CONTROLLER_PORT  KRaft controller port (default 19093)
#   GAIA_KAFKA_SECURE_PORT      SASL_SSL listener (TLS + SASL/PLAIN, user gaia) for the
#                               tests of the agent's SSL/SASL settings (default 19094). Its
#                               CA and certificate are made with openssl at each start;
#                               without openssl the broker starts without this listener.
#   GAIA_KAFKA_MTLS_PORT        SSL listener requiring a client certificate (mutual TLS;
#                               client cert and key made with the CA) (default 19095)
#   GAIA_KAFKA_HEAP             -Xmx of the broker JVM (default 512m)
#   GAIA_KAFKA_JAVA_OPTS        extra JVM options
#   GAIA_KAFKA_MVN_ARGS         extra Maven arguments (e.g. -s settings.xml, -o)
#   GAIA_KAFKA_START_TIMEOUT    seconds to wait for the broker (default 90)
#   GAIA_KAFKA_OWNER_PID        start/reuse the broker on behalf of this process (the test
#                               runner sets its own pid). The broker is then shared: every
#                               such start takes a lease, and the broker stops once all leases
#                               are released or their processes are gone, so runs in parallel
#                               do not stop each other's broker and a killed run leaves none
#                               behind. Without it, start makes a broker that runs until `stop`.
# GAIA_KAFKA_HOME=.kafka/cache GAIA_KAFKA_STATE=.kafka/state keeps both inside the checkout
# (.kafka/ is git-ignored).
#
# Exit status: 0 ok, 1 failure (the log tail is printed), 2 usage, 3 Java/Maven missing.
set -euo pipefail

SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
HERE="$(dirname "$SELF")"
POM="$HERE/pom.xml"

KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n1)"
[[ -n "$KAFKA_VERSION" ]] || { echo "broker.sh: no <kafka.version> in $POM" >&2; exit 1; }

CACHE="${GAIA_KAFKA_HOME:-${HOME:-/tmp}/.cache/gaia-sentinel/kafka/$KAFKA_VERSION}"
STATE="${GAIA_KAFKA_STATE:-${TMPDIR:-/tmp}/gaia-kafka}"
HOST="${GAIA_KAFKA_HOST:-127.0.0.1}"
PORT="${GAIA_KAFKA_PORT:-19092}"
CPORT="${GAIA_KAFKA_CONTROLLER_PORT:-19093}"
SPORT="${GAIA_KAFKA_SECURE_PORT:-19094}"
MPORT="${GAIA_KAFKA_MTLS_PORT:-19095}"
HEAP="${GAIA_KAFKA_HEAP:-512m}"
TIMEOUT="${GAIA_KAFKA_START_TIMEOUT:-90}"
# Relative folders are taken from the current directory, once: the broker outlives this shell.
[[ "$CACHE" == /* ]] || CACHE="$PWD/$CACHE"
[[ "$STATE" == /* ]] || STATE="$PWD/$STATE"
LIB="$CACHE/lib"

PIDFILE="$STATE/broker.pid"
WATCHFILE="$STATE/watcher.pid"
LEASES="$STATE/leases"
MANUAL="$STATE/manual"
OWNER="${GAIA_KAFKA_OWNER_PID:-}"
[[ -z "$OWNER" || "$OWNER" =~ ^[0-9]+$ ]] || { echo "broker.sh: GAIA_KAFKA_OWNER_PID must be a pid, got '$OWNER'" >&2; exit 2; }
ADDRFILE="$STATE/bootstrap"
DATAFILE="$STATE/datadir"
PROPS="$STATE/server.properties"
TLS="$STATE/tls"
# Credentials of the test-only SASL listener (loopback, throwaway broker).
SASL_USER=gaia
SASL_PASSWORD=gaia-test-secret
LOG="$STATE/broker.log"

say() { echo "broker.sh: $*" >&2; }
die() { say "$*"; exit 1; }

for v in PORT CPORT SPORT MPORT TIMEOUT; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || { say "$v must be a number, got '${!v}'"; exit 2; }
done
[[ "$PORT" != "$CPORT" ]] || { say "client and controller ports must differ (both $PORT)"; exit 2; }

# ---------------------------------------------------------------------------------------------
# helpers

JAVA=""
JAVA_PROBLEM=""
# Finds java (JAVA_HOME first) and checks it is 17 or newer; sets JAVA, or JAVA_PROBLEM.
find_java() {
  local cand="" out major
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then cand="$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then cand="$(command -v java)"
  else
    JAVA_PROBLEM="java: not found (looked in \$JAVA_HOME/bin and on PATH); Kafka $KAFKA_VERSION needs Java 17 or newer"
    return 1
  fi
  out="$("$cand" -version 2>&1 | head -n1)" || true
  # 'openjdk version "17.0.15" ...' -> 17; old scheme '"1.8.0_402"' -> 8
  major="$(sed -n 's/.*version "\([0-9][0-9]*\)[^"]*".*/\1/p' <<<"$out")"
  if [[ "$major" == 1 ]]; then major="$(sed -n 's/.*version "1\.\([0-9][0-9]*\).*/\1/p' <<<"$out")"; fi
  if ! [[ "$major" =~ ^[0-9]+$ ]]; then
    JAVA_PROBLEM="java: cannot tell the version of $cand (it printed: $out); Kafka $KAFKA_VERSION needs Java 17 or newer"
    return 1
  fi
  if ((major < 17)); then
    JAVA_PROBLEM="java: $cand is Java $major; Kafka $KAFKA_VERSION needs Java 17 or newer"
    return 1
  fi
  JAVA="$cand"
}

pom_hash() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$POM" | cut -d' ' -f1
  else shasum -a 256 "$POM" | cut -d' ' -f1; fi
}

cache_complete() { [[ -f "$LIB/.complete" && "$(cat "$LIB/.complete")" == "$(pom_hash)" ]]; }

# Is something accepting TCP connections on host:port? (bash's /dev/tcp; no nc needed)
# shellcheck disable=SC2016  # $1/$2 expand in the inner bash, on purpose
port_open() {
  if command -v timeout >/dev/null 2>&1; then
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" >/dev/null 2>&1
  else
    bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" >/dev/null 2>&1
  fi
}

cmdline_of() {
  if [[ -r "/proc/$1/cmdline" ]]; then tr '\0' ' ' <"/proc/$1/cmdline"
  else ps -o args= -p "$1" 2>/dev/null || true; fi
}

# The pid of the broker this script started, if that process still runs (guards against a
# reused pid by checking its command line).
broker_pid() {
  local pid
  [[ -f "$PIDFILE" ]] || return 1
  pid="$(cat "$PIDFILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  [[ "$(cmdline_of "$pid")" == *kafka.Kafka*"$PROPS"* ]] || return 1
  echo "$pid"
}

log_tail() {
  if [[ -f "$LOG" ]]; then
    say "last lines of $LOG:"
    tail -n "${1:-40}" "$LOG" | sed 's/^/    /' >&2
  fi
}

# Serialise start/stop of the same state dir (two test runs at once). fd 9 must not leak into
# the broker, or the lock would live as long as the JVM.
lock() {
  mkdir -p "$STATE"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$STATE/.lock"
    flock -w 600 9 || die "could not lock $STATE/.lock within 600 s (another start or stop holds it)"
  fi
}

# detach PIDFILE CMD...: run CMD in the background in its own session, with no inherited pipes
# or lock, and write its pid to PIDFILE. The pid is written by the process itself (then exec'd
# into CMD): setsid forks when the caller leads a process group, so $! could be another pid.
# shellcheck disable=SC2016  # expands in the inner bash
detach() {
  local pidfile="$1" i
  shift
  rm -f "$pidfile"
  if command -v setsid >/dev/null 2>&1; then
    setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$pidfile" "$@" </dev/null 9>&- &
  else
    nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$pidfile" "$@" </dev/null 9>&- &
  fi
  for ((i = 0; i < 100; i++)); do [[ -s "$pidfile" ]] && return 0; sleep 0.05; done
  die "could not start $1 in the background"
}

random_cluster_id() {
  # 16 random bytes, base64url without padding: Kafka's Uuid text form. One starting with '-'
  # would read as an option on the command line, so draw again.
  local id
  while :; do
    id="$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "$id" == -* ]] || { echo "$id"; return; }
  done
}

# ---------------------------------------------------------------------------------------------
# commands

fetch_jars() {
  cache_complete && return 0
  local tmp="$CACHE/lib.tmp.$$" started=$SECONDS
  say "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $LIB (once; cached)..."
  mkdir -p "$CACHE"
  rm -rf "$tmp"
  # shellcheck disable=SC2086  # GAIA_KAFKA_MVN_ARGS is a word list on purpose
  # (Maven 3.8 prints bare colour codes even with -q -B: strip them and blank lines.)
  if ! mvn -q -B -Dstyle.color=never -f "$POM" ${GAIA_KAFKA_MVN_ARGS:-} \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" 2>&1 9>&- |
      sed -e $'s/\x1b\\[[0-9;]*m//g' -e '/^[[:space:]]*$/d' >&2; then
    rm -rf "$tmp"
    die "Maven could not fetch the Kafka jars (see its output above). Check access to Maven Central (https://repo.maven.apache.org), or a mirror in ~/.m2/settings.xml, or pass Maven options via GAIA_KAFKA_MVN_ARGS; or run tests against your own broker with KAFKA_BROKERS=host:port"
  fi
  compgen -G "$tmp/kafka_2.13-*.jar" >/dev/null || { rm -rf "$tmp"; die "Maven finished but no kafka_2.13 jar is in $tmp"; }
  pom_hash >"$tmp/.complete"
  rm -rf "$LIB"
  mv "$tmp" "$LIB"
  say "fetched $(find "$LIB" -name '*.jar' | wc -l | tr -d ' ') jars in $((SECONDS - started)) s"
}

# A throwaway CA and a server certificate for $HOST (PEM, unencrypted key), for the SASL_SSL
# listener. Returns 1 (and the broker starts without that listener) when openssl is missing.
make_tls() {
  command -v openssl >/dev/null 2>&1 || { say "openssl not found: no SASL_SSL listener (the SSL/SASL tests will say so)"; return 1; }
  rm -rf "$TLS" && mkdir -p "$TLS"
  (
    cd "$TLS"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=gaia-sentinel test CA" -keyout ca.key -out ca.pem
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$HOST" -keyout server.key -out server.csr
    printf 'subjectAltName=IP:%s,DNS:localhost\n' "$HOST" >san.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.crt
    # Kafka's PEM keystore: the PKCS#8 key, then the certificate chain, in one file.
    openssl pkcs8 -topk8 -nocrypt -in server.key -out server.p8
    cat server.p8 server.crt ca.pem >keystore.pem
    # A client certificate from the same CA, for the mutual-TLS listener.
    openssl req -newkey rsa:2048 -nodes -subj "/CN=gaia-sentinel test client" -keyout client.key -out client.csr
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out client.crt
  ) >>"$LOG" 2>&1 || { say "making the test TLS certificates failed (see $LOG): no SASL_SSL listener"; return 1; }
}

write_properties() {
  local data="$1" secure="$2"
  local listeners="PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CPORT" advertised="PLAINTEXT://$HOST:$PORT"
  if [[ "$secure" == yes ]]; then
    listeners+=",SASL_SSL://$HOST:$SPORT,SSL://$HOST:$MPORT"
    advertised+=",SASL_SSL://$HOST:$SPORT,SSL://$HOST:$MPORT"
  fi
  cat >"$PROPS" <<EOF
# Written by scripts/kafka/broker.sh for the gaia-sentinel integration tests; regenerated on
# every start. Single node, KRaft combined mode, plaintext on loopback.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$CPORT
listeners=$listeners
advertised.listeners=$advertised
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$data

# One node: every internal topic has one replica. Few partitions for internal topics keeps
# the first consumer group / transaction quick to set up.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0

auto.create.topics.enable=true
delete.topic.enable=true
num.partitions=1
default.replication.factor=1

# Image frames: allow record batches up to 10 MiB (topics may set max.message.bytes lower).
message.max.bytes=10485760
replica.fetch.max.bytes=10485760
socket.request.max.bytes=104857600

# A small machine: fewer threads, small segments.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.segment.bytes=67108864
EOF
  if [[ "$secure" == yes ]]; then
    cat >>"$PROPS" <<EOF

# SASL_SSL listener for the agent's SSL/SASL settings: TLS with a throwaway CA ($TLS/ca.pem),
# SASL/PLAIN with one user.
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SASL_USER="$SASL_PASSWORD";
ssl.keystore.type=PEM
ssl.keystore.location=$TLS/keystore.pem
# SSL listener with mutual TLS: clients must present a certificate from the same CA.
listener.name.ssl.ssl.client.auth=required
listener.name.ssl.ssl.truststore.type=PEM
listener.name.ssl.ssl.truststore.location=$TLS/ca.pem
EOF
  fi
}

# Starts the broker JVM on the existing $PROPS (and its data) and waits until it serves.
launch_broker() {
  # Only what this launch logs counts as its "started" line (a bounce reuses the log).
  local from
  from=$(wc -c <"$LOG" 2>/dev/null || echo 0)
  # shellcheck disable=SC2086  # GAIA_KAFKA_JAVA_OPTS is a word list on purpose
  detach "$PIDFILE" "$JAVA" -Xms128m "-Xmx$HEAP" -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=info \
    -Dorg.slf4j.simpleLogger.showDateTime=true \
    "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSS" \
    -Dorg.slf4j.simpleLogger.log.org.apache.kafka.clients=warn \
    -Dorg.slf4j.simpleLogger.log.kafka.server.KafkaConfig=warn \
    -Dorg.slf4j.simpleLogger.log.org.apache.kafka.common.config.AbstractConfig=warn \
    ${GAIA_KAFKA_JAVA_OPTS:-} \
    -cp "$LIB/*" kafka.Kafka "$PROPS" >>"$LOG" 2>&1
  pid="$(cat "$PIDFILE")"
  addr="$HOST:$PORT"
  say "started Kafka $KAFKA_VERSION (pid $pid), log $LOG; waiting for $addr (up to $TIMEOUT s)"

  local deadline=$((SECONDS + TIMEOUT))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log_tail 60; say "the broker exited during startup"; return 1
    fi
    # grep reads a process substitution, not a pipe: under pipefail, grep -q leaving early made
    # tail die of SIGPIPE and the test false whenever this launch had logged more than a pipe
    # holds (a broker with many consumer groups logs thousands of lines as it loads them).
    if grep -q 'Kafka Server started' < <(tail -c "+$((from + 1))" "$LOG" 2>/dev/null) && port_open "$HOST" "$PORT"; then
      break
    fi
    if ((SECONDS >= deadline)); then
      log_tail 60; stop_pid "$pid"
      say "the broker did not start within $TIMEOUT s (GAIA_KAFKA_START_TIMEOUT)"; return 1
    fi
    sleep 0.25
  done
}

# Outage drill for tests: stop the running broker, keep its data, wait N seconds, start it again.
cmd_bounce() {
  local seconds=${1:-20} pid
  pid="$(broker_pid)" || die "no broker is running"
  find_java || die "$JAVA_PROBLEM"
  say "bounce: stopping the broker (pid $pid) for $seconds s, keeping its data"
  : >"$STATE/bouncing"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  alive "$pid" && kill -KILL "$pid" 2>/dev/null
  sleep "$seconds"
  # A restarted single-node KRaft broker now and then never finishes starting (its controller
  # registration races itself: NotControllerException): stop it and start it again.
  local attempt TIMEOUT=${GAIA_KAFKA_BOUNCE_START_TIMEOUT:-45}
  for attempt in 1 2 3; do
    launch_broker && break
    ((attempt < 3)) || { rm -f "$STATE/bouncing"; die "bounce: the broker did not come back"; }
    say "bounce: the broker did not come back; starting it again (attempt $((attempt + 1)) of 3)"
  done
  rm -f "$STATE/bouncing"
  if [[ -f "$WATCHFILE" ]]; then
    detach "$WATCHFILE" env GAIA_KAFKA_STATE="$STATE" GAIA_KAFKA_HOME="$CACHE" bash "$SELF" _watch "$pid" >>"$LOG" 2>&1
  fi
  say "bounce: the broker is back (pid $pid)"
}

cmd_start() {
  lock
  local pid addr
  if pid="$(broker_pid)"; then
    addr="$(cat "$ADDRFILE" 2>/dev/null || echo "$HOST:$PORT")"
    if [[ -n "$OWNER" && ! -f "$MANUAL" ]]; then
      prune_leases
      say "already running (pid $pid) at $addr; sharing it with $(lease_count) other run(s)"
      take_lease
    else
      say "already running (pid $pid) at $addr; reusing it (it runs until 'broker.sh stop')"
    fi
    echo "$addr"
    return 0
  fi
  stop_watcher
  cleanup_state

  # Prerequisites: say everything that is missing at once.
  local missing=()
  find_java || missing+=("$JAVA_PROBLEM")
  if ! cache_complete && ! command -v mvn >/dev/null 2>&1; then
    missing+=("mvn: not found on PATH; Apache Maven is needed once, to fetch the Kafka $KAFKA_VERSION jars from Maven Central into $LIB")
  fi
  if ((${#missing[@]})); then
    {
      echo "broker.sh: cannot start the test Kafka broker; missing:"
      printf '  - %s\n' "${missing[@]}"
      echo "Install on Debian/Ubuntu:  apt-get install -y openjdk-17-jre-headless maven"
      echo "  (where openjdk-17 is not packaged: apt-get install -y default-jre-headless maven; any Java 17+ works)"
      echo "Or run the tests against a broker you already run:  KAFKA_BROKERS=host:port npm test"
    } >&2
    exit 3
  fi

  for p in "$PORT" "$CPORT" "$SPORT" "$MPORT"; do
    if port_open "$HOST" "$p"; then
      die "port $HOST:$p is already in use by another process (not a broker started by this script). Free it, choose other ports with GAIA_KAFKA_PORT / GAIA_KAFKA_CONTROLLER_PORT, or, if it is a Kafka broker you run, use it with KAFKA_BROKERS=$HOST:$PORT"
    fi
  done

  fetch_jars

  local data cid started=$SECONDS
  data="$(mktemp -d "$STATE/data.XXXXXX")"
  echo "$data" >"$DATAFILE"
  : >"$LOG"
  local secure=no
  make_tls && secure=yes
  write_properties "$data" "$secure"
  cid="$(random_cluster_id)"
  say "formatting storage in $data (cluster id $cid)"
  if ! "$JAVA" -Xmx256m -cp "$LIB/*" kafka.tools.StorageTool format \
      --config "$PROPS" --cluster-id "$cid" --standalone >>"$LOG" 2>&1 9>&-; then
    log_tail; cleanup_state; die "formatting the Kafka storage failed"
  fi

  launch_broker || { cleanup_state; die "the broker did not start"; }
  pid="$(cat "$PIDFILE")"
  addr="$HOST:$PORT"
  echo "$addr" >"$ADDRFILE"

  if [[ -n "$OWNER" ]]; then
    take_lease
    detach "$WATCHFILE" env GAIA_KAFKA_STATE="$STATE" GAIA_KAFKA_HOME="$CACHE" \
      bash "$SELF" _watch "$pid" >>"$LOG" 2>&1
  else
    : >"$MANUAL"
  fi

  say "ready in $((SECONDS - started)) s"
  echo "$addr"
}

# SIGTERM, wait up to 30 s, then SIGKILL.
stop_pid() {
  local pid="$1" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 120; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.25
  done
  say "pid $pid ignored SIGTERM for 30 s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 40; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
}

# Removes what a previous broker left (data dir, pid/address files); keeps the log.
cleanup_state() {
  local data
  if [[ -f "$DATAFILE" ]]; then
    data="$(cat "$DATAFILE")"
    [[ "$data" == "$STATE"/data.* ]] && rm -rf "$data"
  fi
  rm -rf "$STATE"/data.* 2>/dev/null || true
  rm -f "$PIDFILE" "$ADDRFILE" "$DATAFILE" "$MANUAL"
  rm -rf "$LEASES"
}

alive() { kill -0 "$1" 2>/dev/null || [[ -d "/proc/$1" ]]; }

take_lease() { mkdir -p "$LEASES" && : >"$LEASES/$OWNER"; }

# Drops the leases of processes that are gone.
prune_leases() {
  local f
  for f in "$LEASES"/*; do
    [[ -e "$f" ]] || continue
    alive "$(basename "$f")" || rm -f "$f"
  done
}

lease_count() {
  local f n=0
  for f in "$LEASES"/*; do [[ -e "$f" ]] && n=$((n + 1)); done
  echo "$n"
}

unlock() { if command -v flock >/dev/null 2>&1; then flock -u 9; exec 9>&-; fi; }

stop_watcher() {
  local w
  [[ -f "$WATCHFILE" ]] || return 0
  w="$(cat "$WATCHFILE")"
  rm -f "$WATCHFILE"
  # Only if that pid is still our watcher (pids get reused).
  if [[ "$w" =~ ^[0-9]+$ && "$(cmdline_of "$w")" == *"$SELF"* ]]; then kill "$w" 2>/dev/null || true; fi
}

cmd_stop() {
  lock
  local pid
  if pid="$(broker_pid)"; then
    say "stopping the broker (pid $pid)"
    stop_pid "$pid"
  else
    say "not running"
  fi
  stop_watcher
  cleanup_state
}

cmd_release() {
  [[ -n "$OWNER" ]] || { say "release needs GAIA_KAFKA_OWNER_PID"; exit 2; }
  lock
  rm -f "$LEASES/$OWNER"
  prune_leases
  local pid
  if ! pid="$(broker_pid)"; then
    say "not running"
  elif [[ -f "$MANUAL" ]]; then
    say "leaving the broker running (started without GAIA_KAFKA_OWNER_PID; 'broker.sh stop' stops it)"
  elif (($(lease_count) > 0)); then
    say "leaving the broker running for $(lease_count) other run(s)"
  else
    say "stopping the broker (pid $pid)"
    stop_pid "$pid"
    stop_watcher
    cleanup_state
  fi
}

# The watcher (detached by start): stops the broker once no lease holder is alive, and
# cleans up if the broker dies by itself.
cmd_watch() {
  local bpid="$1"
  while sleep 2; do
    kill -0 "$bpid" 2>/dev/null || break
    prune_leases 2>/dev/null || true
    (($(lease_count) > 0)) && continue
    lock
    prune_leases
    if [[ "$(broker_pid || true)" == "$bpid" ]] && (($(lease_count) == 0)); then
      say "no process holds the broker any more; stopping it (pid $bpid)"
      stop_pid "$bpid"
      rm -f "$WATCHFILE"
      cleanup_state
      return 0
    fi
    unlock
  done
  # A bounce (outage drill) stops the broker on purpose and starts a new watcher after.
  [[ -f "$STATE/bouncing" ]] && return 0
  lock
  if [[ ! -f "$PIDFILE" || "$(cat "$PIDFILE" 2>/dev/null)" == "$bpid" ]]; then
    say "the broker (pid $bpid) is gone; cleaning up"
    rm -f "$WATCHFILE"
    cleanup_state
  fi
}

cmd_status() {
  local pid
  if pid="$(broker_pid)"; then
    local held
    if [[ -f "$MANUAL" ]]; then held="runs until 'broker.sh stop'"; else prune_leases; held="$(lease_count) lease(s)"; fi
    echo "running: Kafka $KAFKA_VERSION, pid $pid, bootstrap $(cat "$ADDRFILE" 2>/dev/null || echo "(starting)"), $held, state $STATE"
  else
    echo "not running (state $STATE)"
    return 1
  fi
}

# The SASL_SSL listener of the running broker, from its properties: host:port ca user password.
cmd_secure() {
  broker_pid >/dev/null || { say "no broker started by this script is running"; return 1; }
  local addr maddr
  addr="$(sed -n 's:^listeners=.*SASL_SSL\://\([^,]*\).*:\1:p' "$PROPS")"
  maddr="$(sed -n 's:^listeners=.*,SSL\://\([^,]*\).*:\1:p' "$PROPS")"
  [[ -n "$addr" && -n "$maddr" && -f "$TLS/ca.pem" ]] || { say "the running broker has no SASL_SSL/SSL listeners (was openssl missing at its start?)"; return 1; }
  echo "$addr $TLS/ca.pem $SASL_USER $SASL_PASSWORD $maddr $TLS/client.crt $TLS/client.key"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  release) cmd_release ;;
  status) cmd_status ;;
  secure) cmd_secure ;;
  bounce) shift; cmd_bounce "$@" ;;
  _watch) cmd_watch "${2:?}" ;;
  *) echo "usage: $0 start|stop|release|status|secure|bounce [seconds]" >&2; exit 2 ;;
esac
