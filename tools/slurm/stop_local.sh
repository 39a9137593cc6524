#!/usr/bin/env bash
# Stops the daemons start_local.sh started for $SLURM_DIR (munged is shared and left running).
D=${SLURM_DIR:?set SLURM_DIR}
for f in "$D/run/slurmd.pid" "$D/run/slurmctld.pid"; do
  [ -s "$f" ] || continue
  pid=$(cat "$f")
  kill -TERM "$pid" 2>/dev/null || continue
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
done
