#!/usr/bin/env bash
# Issue 21's GPU check in one call of ≤ 8 minutes: Playground's brax PPO vs our train.py (ppo, cppo) on
# Go1JoystickFlatTerrain at 8192 envs for a fixed budget each, the VecEnv/raw step ratio, the per-part breakdown
# of one iteration (bench/breakdown.py), and (when MuJoCo
# Warp is importable) the same with impl=warp.
#
#   bash bench/throughput_gpu.sh [BUDGET]     # env steps per trainer, default 10000000
#
# Writes bench/gpu/throughput.md. Needs CUDA builds of torch and JAX; Playground, MuJoCo, MJX, brax and
# rsl_rl may travel as wheels in ./wheels (installed here with --no-deps). Not yet run: no GPU was lent
# in the session that wrote it.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-10000000}
if compgen -G "wheels/*.whl" >/dev/null; then pip install -q --no-deps wheels/*.whl; fi
pip install -q --no-deps -e . >/dev/null
export CPPO_MENAGERIE_DIR=${CPPO_MENAGERIE_DIR:-../shared/menagerie}
mkdir -p bench/gpu
out=bench/gpu/throughput.md
{
  echo "# $(date -u +%F) $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)"
  echo
  echo '    bash bench/throughput_gpu.sh '"$budget"
  echo
  timeout 300 python bench/brax_vs_ours.py --num_envs 8192 --mini_batches 32 --steps "$budget" --eval_envs 128 \
      --menagerie_dir "$CPPO_MENAGERIE_DIR"
  echo
  timeout 60 python bench/env_throughput.py --task Go1JoystickFlatTerrain --num_envs 8192 --steps 100 --repeats 2
  echo
  timeout 90 python bench/breakdown.py --num_envs 8192 --algos ppo,cppo --iterations 2 \
      --menagerie_dir "$CPPO_MENAGERIE_DIR"
  if python -c "import warp" 2>/dev/null; then
    echo
    timeout 90 python bench/brax_vs_ours.py --num_envs 8192 --mini_batches 32 --steps $((budget / 2)) --eval_envs 128 --algos ppo \
        --impl warp --menagerie_dir "$CPPO_MENAGERIE_DIR"
  else
    echo; echo "(warp-lang is not importable here: no impl=warp row)"
  fi
} 2>&1 | grep -v "solver iterations\|warn_overflow" | tee "$out"
