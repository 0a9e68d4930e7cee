#!/usr/bin/env bash
# Makes sure a Docker engine answers, for the image build and the container test.
#   scripts/image/engine.sh start   # installs docker.io when missing, starts dockerd when none answers
#   scripts/image/engine.sh stop    # stops the dockerd that `start` started (and only that one)
# `start` prints "started" or "running" on its last line; it exits non-zero, saying why, when
# no engine can run here. The pid of a dockerd it started is kept in ~/.cache/gaia-sentinel/dockerd.pid.
set -uo pipefail
PIDFILE="${HOME:-/tmp}/.cache/gaia-sentinel/dockerd.pid"
LOG="${HOME:-/tmp}/.cache/gaia-sentinel/dockerd.log"
SUDO=; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO=sudo

answers() { $SUDO docker info >/dev/null 2>&1; }

case "${1:-}" in
  start)
    if answers; then echo "running"; exit 0; fi
    if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
      echo "== installing docker.io (Debian's Docker engine)" >&2
      $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends docker.io >&2 \
        || { echo "could not install docker.io" >&2; exit 1; }
    fi
    mkdir -p "$(dirname "$PIDFILE")"
    # setsid: the engine outlives this script, not the CI run (stop ends it).
    $SUDO setsid dockerd >"$LOG" 2>&1 < /dev/null &
    echo $! >"$PIDFILE"
    for _ in $(seq 1 60); do
      if answers; then echo "started"; exit 0; fi
      kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break
      sleep 1
    done
    echo "dockerd did not answer within 60 s; its log ($LOG) ends:" >&2
    tail -n 20 "$LOG" >&2
    exit 1
    ;;
  stop)
    [ -f "$PIDFILE" ] || exit 0
    pid=$(cat "$PIDFILE")
    if kill -0 "$pid" 2>/dev/null; then
      $SUDO kill -TERM "$pid"
      for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    fi
    rm -f "$PIDFILE"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
