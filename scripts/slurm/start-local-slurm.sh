#!/usr/bin/env bash
# Starts a real single-node Slurm (munged, slurmctld, slurmd) on this machine, for the Slurm
# executor's tests and for trying `executor: slurm` without a cluster. Needs root and Debian's
# slurm-wlm and munge packages (installed here when missing). No systemd: the daemons run in the
# background and write their pid files and logs under $SIRA_SLURM_DIR (default
# /tmp/sira-local-slurm). Safe to run again: a running, responsive Slurm is left alone.
#
# The configuration is the smallest that behaves like a cluster: proctrack/linuxproc and
# task/none (no cgroups), select/cons_tres with the node's real CPUs and memory as consumable
# resources, no accounting (so state comes only from squeue/scontrol, as on many clusters) and a
# short MinJobAge, so finished jobs leave the controller within seconds.
#
# /etc/slurm/slurm.conf is written (clients find it there without SLURM_CONF); an existing one
# that this script did not write is never touched (when that Slurm answers, it is used as it is).
# Stop everything with stop-local-slurm.sh.
set -euo pipefail

BASE="${SIRA_SLURM_DIR:-/tmp/sira-local-slurm}"
CONF=/etc/slurm/slurm.conf
MARK="# written by sira-pipeline scripts/slurm/start-local-slurm.sh"
# sinfo %T states in which a node cannot take jobs. Any other (idle, mixed, allocated, completing,
# planned — a pending job's backfill reservation —, reserved) counts as usable; an empty line is not.
UNUSABLE='^$|down|drain|fail|unk|not_responding|future|inval|power|maint|reboot|[*]$'
PARTITION="${SIRA_SLURM_PARTITION:-debug}"
MIN_JOB_AGE="${SIRA_SLURM_MIN_JOB_AGE:-10}"
WAIT_SECONDS="${SIRA_SLURM_WAIT:-60}"

say() { echo "start-local-slurm: $*"; }
die() { echo "start-local-slurm: error: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (munged, slurmctld and slurmd are started here)"

# 1. packages
need=()
for pkg in slurm-wlm munge; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  has_candidates() { # every package in "$@" has an installable version
    local policy
    policy="$(apt-cache policy "$@" 2>/dev/null || true)"
    [ "$(printf '%s\n' "$policy" | grep -c 'Candidate: [0-9]')" -eq "$#" ]
  }
  has_candidates "${need[@]}" || apt-get update -qq
  has_candidates "${need[@]}" || die "apt has no installable version of ${need[*]} (apt-cache policy ${need[*]})"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
for bin in /usr/sbin/munged /usr/sbin/slurmctld /usr/sbin/slurmd /usr/bin/sinfo /usr/bin/sbatch; do
  [ -x "$bin" ] || die "$bin is missing after installing slurm-wlm and munge"
done

# 2. munge: a key shared by every daemon and client on the "cluster" (here one machine)
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
chown munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
chmod 0700 /etc/munge /var/log/munge
chmod 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  say "creating /etc/munge/munge.key"
  if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key --force
  else dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none; fi
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  say "starting munged"
  rm -f /run/munge/munged.pid
  runuser -u munge -- /usr/sbin/munged
  mkdir -p "$BASE" && touch "$BASE/munged.started"   # stop-local-slurm.sh stops only a munged started here
  for _ in $(seq 1 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.2; done
  munge -n | unmunge >/dev/null || die "munged does not answer (see /var/log/munge/munged.log)"
fi

# 3. slurm.conf
if [ -f "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
  states="$(sinfo -h -o '%T' 2>/dev/null || true)"
  if printf '%s\n' "$states" | grep -qvE "$UNUSABLE"; then
    say "this machine has its own Slurm ($CONF) and it answers: using it, starting nothing"
    exit 0
  fi
  die "$CONF exists and was not written by this script, and that Slurm does not answer; fix it or move the file away"
fi
node_line="$(slurmd -C | head -n 1)"        # NodeName=vm CPUs=2 ... RealMemory=24105
case "$node_line" in NodeName=*) ;; *) die "slurmd -C gave no node description: $node_line" ;; esac
node_name="${node_line%% *}"; node_name="${node_name#NodeName=}"
ctl_host="$(hostname)"
mkdir -p "$BASE/state" "$BASE/spool" "$BASE/log"
conf_tmp="$(mktemp "$CONF.tmp.XXXXXX")"
cat >"$conf_tmp" <<CONFEOF
$MARK
# One node, no cgroups, no systemd, no accounting. State and spool under $BASE.
ClusterName=sira-local
SlurmctldHost=$ctl_host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
MinJobAge=$MIN_JOB_AGE
KillWait=10
ReturnToService=2
StateSaveLocation=$BASE/state
SlurmdSpoolDir=$BASE/spool
SlurmctldPidFile=$BASE/slurmctld.pid
SlurmdPidFile=$BASE/slurmd.pid
SlurmctldLogFile=$BASE/log/slurmctld.log
SlurmdLogFile=$BASE/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
$node_line NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=$PARTITION Nodes=$node_name Default=YES MaxTime=INFINITE State=UP
CONFEOF
chmod 0644 "$conf_tmp"
if [ -f "$CONF" ] && cmp -s "$conf_tmp" "$CONF"; then
  rm -f "$conf_tmp"; conf_changed=0
else
  mv -f "$conf_tmp" "$CONF"; conf_changed=1
fi

# 4. daemons (they daemonize themselves; pid files and logs under $BASE)
if [ "$conf_changed" -eq 1 ] && { alive "$BASE/slurmctld.pid" || alive "$BASE/slurmd.pid"; }; then
  say "configuration changed: restarting"
  bash "$(dirname "$0")/stop-local-slurm.sh" --keep-munge
fi
if ! alive "$BASE/slurmctld.pid"; then
  say "starting slurmctld"
  /usr/sbin/slurmctld -i || die "slurmctld did not start (see $BASE/log/slurmctld.log)"
fi
# slurmd registers once at start and retries only much later: start it after the controller answers.
for _ in $(seq 1 $((WAIT_SECONDS * 5))); do scontrol ping 2>/dev/null | grep -q 'is UP' && break; sleep 0.2; done
scontrol ping 2>/dev/null | grep -q 'is UP' || die "slurmctld does not answer (see $BASE/log/slurmctld.log)"
if ! alive "$BASE/slurmd.pid"; then
  say "starting slurmd"
  /usr/sbin/slurmd || die "slurmd did not start (see $BASE/log/slurmd.log)"
fi

# 5. wait for the node to be idle (or busy with jobs from a previous start)
state=""
for _ in $(seq 1 $((WAIT_SECONDS * 2))); do
  state="$(sinfo -h -n "$node_name" -o '%T' 2>/dev/null | head -n 1 || true)"
  if ! printf '%s\n' "$state" | grep -qE "$UNUSABLE"; then break; fi
  case "$state" in
    down*|drain*|fail*) scontrol update NodeName="$node_name" State=RESUME >/dev/null 2>&1 || true ;;
  esac
  sleep 0.5
done
if printf '%s\n' "$state" | grep -qE "$UNUSABLE"; then
  tail -n 20 "$BASE/log/slurmctld.log" "$BASE/log/slurmd.log" 2>/dev/null | grep -v pmix >&2 || true
  die "node $node_name is '${state:-unknown}' after ${WAIT_SECONDS}s (logs above)"
fi
say "ready: node $node_name $state, partition $PARTITION ($(sinfo -h -o '%c CPUs, %m MB' | head -n 1)); logs in $BASE/log"
