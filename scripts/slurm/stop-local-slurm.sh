#!/usr/bin/env bash
# Stops the single-node Slurm started by start-local-slurm.sh: slurmd, slurmctld (by their pid
# files under $SIRA_SLURM_DIR) and munged when start-local-slurm.sh started it. Jobs still running
# die with slurmd; the controller's state stays under $SIRA_SLURM_DIR for the next start.
# Safe to run when nothing is running. `--keep-munge` leaves munged alone (a restart after a
# configuration change).
set -euo pipefail
BASE="${SIRA_SLURM_DIR:-/tmp/sira-local-slurm}"

stop() { # name pidfile
  local pid
  [ -f "$2" ] || return 0
  pid="$(cat "$2")"
  if kill -0 "$pid" 2>/dev/null; then
    echo "stop-local-slurm: stopping $1 ($pid)"
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$2"
}
stop slurmd "$BASE/slurmd.pid"
stop slurmctld "$BASE/slurmctld.pid"
if [ "${1:-}" != "--keep-munge" ] && [ -f "$BASE/munged.started" ]; then
  stop munged /run/munge/munged.pid
  rm -f "$BASE/munged.started"
fi
