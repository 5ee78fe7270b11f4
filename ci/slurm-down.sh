#!/usr/bin/env bash
# Stops the daemons ci/slurm-up.sh started, by their process ids.
set -u
if [ -f /tmp/groklab-slurm.pids ]; then
  xargs -r kill < /tmp/groklab-slurm.pids 2>/dev/null || true
  rm -f /tmp/groklab-slurm.pids
fi
