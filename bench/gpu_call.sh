#!/usr/bin/env bash
# Issue 32's GPU calls, one script, each mode one `device` call of ≤ 9 minutes. On the device machine:
#
#   ../shared/tools/gpu_pack.sh                        # here, once: wheels + the Go1 model into .gpu/ (git-ignored)
#   device run, carry [".gpu"]:  source .gpu/env.sh; bash bench/gpu_call.sh measure
#   device run, carry [".gpu"]:  source .gpu/env.sh; bash bench/gpu_call.sh train 420
#
# measure: where one iteration's time goes at 8192 envs on Go1JoystickFlatTerrain (bench/breakdown.py, ppo and cppo),
#   the VecEnv vs a raw jitted step loop (bench/env_throughput.py), Playground's brax PPO beside our ppo and cppo for
#   the same env steps (bench/brax_vs_ours.py), peak GPU memory (nvidia-smi, sampled). → $OUT/measure.md
# train SECONDS: CPPO on Go1JoystickFlatTerrain at GPU sizes, continued from the committed run under
#   pretrained/go1_cppo/runs (or started there), stopped by SIGTERM after SECONDS — train.py saves a checkpoint on
#   SIGTERM — then exported (policy.onnx + deploy.yaml). → $OUT/runs (commit it back under pretrained/go1_cppo/runs)
#
# --tiny rehearses either mode on a CPU at toy sizes (no nvidia-smi): `OUT=/tmp/out bash bench/gpu_call.sh measure
# --tiny` — run it before spending device time.
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: bench/gpu_call.sh measure|train SECONDS [--tiny]}
OUT=${OUT:?set OUT (the device machine sets it)}
mkdir -p "$OUT"
tiny=false; for a in "$@"; do [[ $a == --tiny ]] && tiny=true; done
export CPPO_MENAGERIE_DIR=${CPPO_MENAGERIE_DIR:-../shared/menagerie}
if $tiny; then  # a CPU compiles Go1's step for minutes: longer limits
  envs=16; mini=4; budget=20000; device=cpu; iters=1; slow=5
else
  envs=8192; mini=32; budget=5000000; device=cuda:0; iters=2; slow=1
  nvidia-smi --query-gpu=name,memory.total,clocks.sm --format=csv,noheader
fi
task=Go1JoystickFlatTerrain

gpu_peak() {  # peak GPU memory (MiB) while the command runs, sampled every 0.5 s
  if $tiny; then "$@"; return; fi
  local log; log=$(mktemp)
  (while true; do nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits >> "$log"; sleep 0.5; done) &
  local sampler=$!
  "$@"; local rc=$?
  kill $sampler; echo "peak GPU memory: $(sort -n "$log" | tail -1) MiB (nvidia-smi, whole GPU)"
  return $rc
}

case $mode in
measure)
  {
    echo "# $(date -u +%F) $( $tiny && echo 'CPU rehearsal (--tiny)' || nvidia-smi --query-gpu=name --format=csv,noheader | head -1)"
    echo; echo "    source .gpu/env.sh; bash bench/gpu_call.sh measure"; echo
    # limits: 180 + 90 + 240 s, so the call ends within 9 minutes whatever hangs; a limit hit says so
    gpu_peak timeout $((180 * slow)) python bench/breakdown.py --num_envs $envs --algos ppo,cppo --iterations $iters \
        --device $device --menagerie_dir "$CPPO_MENAGERIE_DIR" || echo "(breakdown stopped: exit $?)"
    echo
    timeout $((90 * slow)) python bench/env_throughput.py --task $task --num_envs $envs --steps 100 --repeats 2 \
        --device $device || echo "(env_throughput stopped: exit $?)"
    echo
    gpu_peak timeout $((240 * slow)) python bench/brax_vs_ours.py --num_envs $envs --mini_batches $mini \
        --steps $budget --eval_envs $($tiny && echo 4 || echo 128) --menagerie_dir "$CPPO_MENAGERIE_DIR" \
        || echo "(brax_vs_ours stopped: exit $?)"
  } 2>&1 | grep -v "solver iterations\|warn_overflow" | tee "$OUT/measure.md"
  ;;
train)
  seconds=${2:?usage: bench/gpu_call.sh train SECONDS}
  runs=pretrained/go1_cppo/runs
  sizes=(); $tiny && sizes=(--num_envs $envs agent.num_steps_per_env=4 agent.algorithm.num_mini_batches=2)
  timeout -s TERM -k 60 "$seconds" python train.py --task $task --algo cppo --device $device --sizes gpu \
      --log_root $runs --run_name walk --resume auto --max_iterations 1300 "${sizes[@]}" \
      agent.save_interval=25 agent.keep_checkpoints=2 2>&1 | grep -v "solver iterations" | tail -40
  echo "train.py stopped (124/143: the time limit, a checkpoint was saved)"
  python play.py --task $task --algo cppo --log_root $runs --load_run '.*_walk' --export_only --device cpu | tail -3
  cp -r $runs "$OUT/runs"
  du -sh "$OUT/runs"
  ;;
*) echo "unknown mode $mode: measure or train SECONDS" >&2; exit 2 ;;
esac
