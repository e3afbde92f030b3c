#!/usr/bin/env bash
# A Slurm cluster of NODES nodes (default 2: node1, node2) on this machine, loopback only, for CI:
#   scripts/slurm/cluster.sh install   # Debian's slurmctld, slurmd, slurm-client and munge
#   scripts/slurm/cluster.sh start     # configure, start munged, slurmctld, one slurmd per node; wait until all are idle
#   scripts/slurm/cluster.sh stop      # cancel jobs, stop the daemons
# Each node is its own slurmd (slurmd -N nodeK, its own port, spool, pid and log files; Debian's
# Slurm allows several per host), with an equal share of this machine's CPUs, so a job of one
# task per node really spans two nodes: its own node ids, its own step daemons, the master
# address taken from the allocation. Needs root. There is no systemd and no cgroups here: daemons
# are started by hand, processes are tracked with proctrack/linuxproc and tasks are not bound
# (task/none).
set -euo pipefail
ACTION=${1:?install, start or stop}
HOST=$(hostname -s)
CONF=/etc/slurm/slurm.conf
RUNDIR=/run/mmcascade-slurm
NODES=${NODES:-2}
NODE_NAMES=$(seq -f "node%g" 1 "$NODES" | paste -sd, -)

alive() {  # a pid whose process exists and is not a zombie
  local pid=$1
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] && [ "$(awk '{print $3}' "/proc/$pid/stat")" != "Z" ]
}

install() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v srun >/dev/null \
    && command -v munged >/dev/null && return 0
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurmctld slurmd slurm-client munge >/dev/null
}

write_conf() {
  local cpus
  cpus=$(( $(nproc) / NODES ))
  [ "$cpus" -ge 1 ] || cpus=1
  mkdir -p /etc/slurm /var/spool/slurmctld /var/log/slurm "$RUNDIR"
  for node in ${NODE_NAMES//,/ }; do mkdir -p "/var/spool/slurmd/$node"; done
  cat > "$CONF" <<CONF
ClusterName=mmcascade-ci
SlurmctldHost=$HOST
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
EnforcePartLimits=ALL
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SlurmctldPidFile=$RUNDIR/slurmctld.pid
SlurmdPidFile=$RUNDIR/slurmd-%n.pid
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd/%n
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd-%n.log
PartitionName=ci Nodes=$NODE_NAMES Default=YES MaxTime=INFINITE State=UP
CONF
  local port=17000
  for node in ${NODE_NAMES//,/ }; do
    port=$((port + 1))
    echo "NodeName=$node NodeHostname=$HOST NodeAddr=127.0.0.1 Port=$port CPUs=$cpus State=UNKNOWN" >> "$CONF"
  done
  getent hosts "$HOST" >/dev/null || echo "127.0.0.1 $HOST" >> /etc/hosts
}

start_munge() {
  [ -s /etc/munge/munge.key ] || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  if ! alive "$(cat /run/munge/munged.pid 2>/dev/null || true)"; then
    rm -f /run/munge/munged.pid /run/munge/munge.socket.2
    su -s /bin/sh munge -c /usr/sbin/munged
  fi
}

start() {
  install
  write_conf
  start_munge
  alive "$(cat "$RUNDIR/slurmctld.pid" 2>/dev/null || true)" || slurmctld
  for node in ${NODE_NAMES//,/ }; do
    alive "$(cat "$RUNDIR/slurmd-$node.pid" 2>/dev/null || true)" || slurmd -N "$node"
  done
  for _ in $(seq 1 60); do
    if [ "$(sinfo -h -N -o %T 2>/dev/null | grep -cx idle)" -ge "$NODES" ]; then
      echo "[slurm] $NODES nodes idle ($NODE_NAMES on $HOST), partition ci, $(( $(nproc) / NODES > 0 ? $(nproc) / NODES : 1 )) CPUs each"
      return 0
    fi
    sleep 0.5
  done
  echo "[slurm] the nodes did not become idle; last log lines:" >&2
  tail -5 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd-*.log >&2 || true
  return 1
}

stop() {
  scancel --user "$(id -un)" 2>/dev/null || true
  for pidfile in "$RUNDIR"/slurmd*.pid "$RUNDIR/slurmctld.pid" /run/munge/munged.pid; do
    local pid
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if alive "$pid"; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do alive "$pid" || break; sleep 0.25; done
      alive "$pid" && kill -9 "$pid" 2>/dev/null || true
    fi
  done
  echo "[slurm] stopped"
}

case "$ACTION" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *) echo "unknown action $ACTION" >&2; exit 2 ;;
esac
