#!/usr/bin/env bash
# Starts a single-node Slurm cluster (munged, slurmctld, slurmd) as root without systemd, with its
# state under $SLURM_DIR, on ports $SLURM_PORT and $SLURM_PORT+1. For tests; stop it with
# stop_local.sh. Prints the slurm.conf path. Exits non-zero if Slurm cannot start here.
set -euo pipefail
D=${SLURM_DIR:?set SLURM_DIR}
PORT=${SLURM_PORT:-6817}
command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
  || { echo "slurm or munge is not installed" >&2; exit 1; }
mkdir -p "$D"/{etc,state,spool,log,run}
NCPU=$(nproc)
MEM=$(( $(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo) * 8 / 10 ))
cat >"$D/etc/slurm.conf" <<CONF
ClusterName=bendtest
SlurmctldHost=localhost
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/run/slurmctld.pid
SlurmdPidFile=$D/run/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MailProg=/bin/true
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$NCPU Boards=1 SocketsPerBoard=1 CoresPerSocket=$NCPU ThreadsPerCore=1 RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$D/etc/slurm.conf
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 2>/dev/null
  chown munge:munge /etc/munge/munge.key 2>/dev/null || true
  chmod 400 /etc/munge/munge.key
fi
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged 2>/dev/null || /usr/sbin/munged --force
slurmctld
slurmd -N localhost
for _ in $(seq 1 150); do
  [ "$(sinfo -h -n localhost -o %T 2>/dev/null)" = idle ] && { echo "$SLURM_CONF"; exit 0; }
  sleep 0.2
done
echo "slurm did not come up" >&2
tail -20 "$D"/log/*.log >&2 || true
exit 1
