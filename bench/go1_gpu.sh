#!/usr/bin/env bash
# Go1JoystickFlatTerrain, PPO and CPPO side by side on one GPU at Playground's size (8192 envs × 20 steps),
# equal env-step budget; then a video of the CPPO policy walking on a fixed command.
#
#   bash bench/go1_gpu.sh [BUDGET]        # env steps per algorithm, default 200000000 (Playground's)
#
# Writes bench/go1_gpu/compare.md (steps/s end to end, s/iteration, peak GPU memory from nvidia-smi, final
# return), bench/go1_gpu/Go1JoystickFlatTerrain.png (reward curves) and the CPPO video under
# bench/go1_gpu/runs/Go1JoystickFlatTerrain_cppo_seed1/<run>/videos/play/. Needs CUDA builds of torch and
# JAX, the playground extra, and the unitree_go1 robot folder (CPPO_MENAGERIE_DIR, default ../shared/menagerie).
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-200000000}
export CPPO_MENAGERIE_DIR=${CPPO_MENAGERIE_DIR:-../shared/menagerie}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python bench/compare.py --tasks Go1JoystickFlatTerrain --algos ppo,cppo --seeds 1 --budget "$budget" \
    --out bench/go1_gpu -- --device cuda:0
python play.py --task Go1JoystickFlatTerrain --algo cppo --log_root bench/go1_gpu/runs \
    --experiment_name Go1JoystickFlatTerrain_cppo_seed1 --device cuda:0 --num_envs 16 \
    --headless --video --video_length 500 --command 1.0 0 0
