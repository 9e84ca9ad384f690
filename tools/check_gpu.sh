#!/usr/bin/env bash
# The GPU check: the CUDA test tier and the benchmarks on the GPU, on one
# GPU machine without internet, in at most 8 minutes.
#
#   tools/check_gpu.sh WHEELS OUT
#
# WHEELS  a folder with the OpenMMLab wheels (mmengine, mmcv-lite, mmpretrain,
#         mmrazor) and their pure-Python dependencies, downloaded beforehand
#         on a machine with PyPI (README, "Checking a GPU machine"); never
#         committed (wheels/ is git-ignored)
# OUT     where everything goes (made if missing): log, env.json, steps.tsv,
#         cuda_tier.xml, speed_cuda.json, fidelity_cuda_{fp16,bf16}.json,
#         teacher_cost_cuda.json, and site/ (the installed wheels)
#
# The machine's own python3 and torch are used (PYTHON=... for another).
# Every step is capped with `timeout`; a failed or stopped step is logged and
# the next one runs; the exit status is 1 when any step failed.
set -uo pipefail

usage() {
    echo "usage: $0 WHEELS OUT" >&2
    exit 2
}
[ "$#" -eq 2 ] || usage
[ -d "$1" ] || { echo "WHEELS: no folder $1" >&2; exit 2; }
WHEELS=$(cd "$1" && pwd)
for name in mmengine mmcv_lite mmpretrain mmrazor; do
    if ! compgen -G "$WHEELS/${name}-*.whl" >/dev/null; then
        echo "WHEELS: no ${name} wheel in $WHEELS (download them first:" \
            "README, \"Checking a GPU machine\")" >&2
        exit 2
    fi
done
mkdir -p "$2"
OUT=$(cd "$2" && pwd)
REPO=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
SITE="$OUT/site"
export PYTHONUNBUFFERED=1
# The repository first: mmrazor's and model-index's wheels install a
# top-level `tests` package.
export PYTHONPATH="$REPO:$SITE"
cd "$REPO" || exit 2
: >"$OUT/steps.tsv"
FAILED=0

# step NAME SECONDS COMMAND...: run COMMAND capped at SECONDS, log it, note
# its exit status and duration in steps.tsv.
step() {
    local name=$1 limit=$2 start rc
    shift 2
    echo "=== $name (at most ${limit} s): $*"
    start=$(date +%s)
    timeout --kill-after=10 "$limit" "$@" 2>&1 | tee -a "$OUT/log"
    rc=$?
    printf '%s\t%s\t%s\n' "$name" "$rc" "$(($(date +%s) - start))" \
        >>"$OUT/steps.tsv"
    [ "$rc" -eq 0 ] || { FAILED=1; echo "=== $name failed ($rc)"; }
    return "$rc"
}

# 45 + 15 + 150 + 60 + 2 x 50 + 75 = 445 s at most, besides the set-up checks.
if [ ! -f "$SITE/.installed" ]; then
    step install 45 "$PYTHON" -m pip install -q --no-index --no-deps \
        --target "$SITE" "$WHEELS"/*.whl && touch "$SITE/.installed" ||
        exit 1
fi
step environment 15 "$PYTHON" -c "
import json, torch
import pwkd_plugin
from pwkd_plugin.models.algorithms.fast_teacher import (
    native_reduced_precision, tf32_in_use)
assert torch.cuda.is_available(), 'no CUDA GPU is visible'
device = torch.device('cuda')
env = dict(
    gpu=torch.cuda.get_device_name(device),
    capability=list(torch.cuda.get_device_capability(device)),
    torch=torch.__version__, cuda=torch.version.cuda,
    cudnn=torch.backends.cudnn.version(),
    teacher_auto=str(native_reduced_precision(device)),
    tf32_by_default=tf32_in_use(device))
print(json.dumps(env, indent=2))
json.dump(env, open('$OUT/env.json', 'w'), indent=2)
" || exit 1

step cuda_tier 150 env PWKD_TEST_CUDA=1 "$PYTHON" -m pytest -m cuda \
    -p no:cacheprovider -rs --junitxml "$OUT/cuda_tier.xml" tests/cuda
step speed 60 "$PYTHON" benchmarks/speed.py --device cuda --warmup 2 \
    --repeats 5 --json "$OUT/speed_cuda.json"
for precision in fp16 bf16; do
    step "fidelity_$precision" 50 "$PYTHON" benchmarks/fidelity.py \
        --device cuda --precision "$precision" --teacher-epochs 3 \
        --json "$OUT/fidelity_cuda_$precision.json"
done
step teacher_cost 75 "$PYTHON" benchmarks/teacher_cost.py --device cuda \
    --warmup 2 --repeats 5 --profile-repeats 3 \
    --json "$OUT/teacher_cost_cuda.json"

echo "=== steps (name, exit status, seconds):"
cat "$OUT/steps.tsv"
exit "$FAILED"
