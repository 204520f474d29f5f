#!/usr/bin/env bash
# Isaac Lab 3 in its own virtual environment, kit-less (Newton physics, no Isaac Sim), on a CPU machine.
#
#   bash envs/install_isaaclab.sh [VENV]          # default .venv-isaaclab; then: VENV/bin/python train.py ...
#
# Isaac Lab 3.0.0 declares Python 3.12 and pins torch 2.11 (a CUDA build, gigabytes). Here: the running
# python3 (3.11 or 3.12), torch's CPU build, every other requirement of the isaaclab wheel as it declares it,
# then the wheel itself without its torch pins. Playground cannot share this environment (it resolves
# mujoco 4, Newton wants mujoco 3.x). With a GPU, install as Isaac Lab documents it instead (README).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv-isaaclab}
PYTHON=${PYTHON:-python3}
ISAACLAB=isaaclab==3.0.0
TORCH=torch==2.13.0

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
pip=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT
"$VENV/bin/python" -m pip download -q --disable-pip-version-check --no-deps --python-version 3.12 \
  --only-binary=:all: -d "$wheels" "$ISAACLAB"
# The wheel's requirements for this platform and no extra, less torch/torchvision (pinned to CUDA builds).
"${pip[@]}" packaging
"$VENV/bin/python" - "$wheels"/isaaclab-*.whl > "$wheels/requirements.txt" <<'PY'
import sys, zipfile
from packaging.requirements import Requirement
wheel = zipfile.ZipFile(sys.argv[1])
meta = wheel.read(next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))).decode()
for line in meta.splitlines():
    if line.startswith("Requires-Dist: "):
        req = Requirement(line.removeprefix("Requires-Dist: "))
        env = {"python_version": "3.12", "extra": ""}
        if req.name not in ("torch", "torchvision") and (req.marker is None or req.marker.evaluate(env)):
            print(str(req).split(";")[0])
PY
"${pip[@]}" "$TORCH" -r "$wheels/requirements.txt"
"${pip[@]}" --no-deps --ignore-requires-python "$wheels"/isaaclab-*.whl
"${pip[@]}" -e ".[dev]"
"$VENV/bin/python" -c "import isaaclab, isaaclab_tasks, isaaclab_rl, newton, cppo; print('[isaaclab] installed in $VENV')"
