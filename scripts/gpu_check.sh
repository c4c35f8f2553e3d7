#!/usr/bin/env bash
# GPU check: run on a CUDA box with CuPy (and PyTorch, for the benchmark) installed, from any
# directory, with no network:
#
#     bash scripts/gpu_check.sh            # PYTHON=python3.12 bash scripts/gpu_check.sh
#
# Steps: the GPU's name, the GPU test suite (tests/gpu), a training smoke on gpu0 compared with
# cpu0, `mgectl train --device gpu0` when the trainer and its dependencies import, and the
# benchmark in GPU mode when benchmarks/ offers --device gpu0. Each step has a timeout and the
# whole script stays under GPU_CHECK_BUDGET seconds (default 290); a failing step is reported
# and the next one runs. Exit status: 0 when no step failed.
#
# GPU_CHECK_DEVICE=sim0 dry-runs the flow on the simulated device, without a GPU.
set -u

cd "$(dirname "$0")/.." || exit 2
REPO=$(pwd)
PY=${PYTHON:-python3}
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
export NVIDIA_TF32_OVERRIDE=0  # float32 matmuls in full precision, as on the CPU
DEVICE=${GPU_CHECK_DEVICE:-gpu0}
export MGE_TEST_GPU=$DEVICE  # the device tests/gpu runs on
BUDGET=${GPU_CHECK_BUDGET:-290}
DEADLINE=$((SECONDS + BUDGET))
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
SUMMARY=()
FAILED=0

# step NAME SECONDS CMD...: run CMD with a timeout capped by the time left; record the outcome
step() {
    local name=$1 limit=$2 left rc start
    shift 2
    left=$((DEADLINE - SECONDS))
    if ((left < 10)); then
        SUMMARY+=("$(printf '%-22s SKIP  (out of time)' "$name")")
        return
    fi
    ((limit > left)) && limit=$left
    echo
    echo "=== $name (timeout ${limit}s) ==="
    start=$SECONDS
    timeout --kill-after=5 "$limit" "$@"
    rc=$?
    local took=$((SECONDS - start))
    if ((rc == 0)); then
        SUMMARY+=("$(printf '%-22s PASS  %4ds' "$name" "$took")")
    elif ((rc == 124 || rc == 137)); then
        SUMMARY+=("$(printf '%-22s FAIL  %4ds  timed out after %ss' "$name" "$took" "$limit")")
        FAILED=$((FAILED + 1))
    else
        SUMMARY+=("$(printf '%-22s FAIL  %4ds  exit %s' "$name" "$took" "$rc")")
        FAILED=$((FAILED + 1))
    fi
}

skip() {
    SUMMARY+=("$(printf '%-22s SKIP  (%s)' "$1" "$2")")
    echo
    echo "=== $1: skipped ($2) ==="
}

echo "=== GPU ==="
if command -v nvidia-smi >/dev/null 2>&1; then
    timeout 20 nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader \
        || echo "nvidia-smi failed"
else
    echo "nvidia-smi not found"
fi
timeout 60 "$PY" - <<'EOF' || true
import numpy
import engine
try:
    import cupy
    print(f"numpy {numpy.__version__}, cupy {cupy.__version__}, "
          f"engine sees CUDA: {engine.is_cuda_available()}")
except Exception as exc:  # the steps below report it too
    print(f"numpy {numpy.__version__}, CuPy unusable: {type(exc).__name__}: {exc}")
EOF

if [[ $DEVICE == gpu* ]] \
    && ! timeout 60 "$PY" -c "import engine, sys; sys.exit(0 if engine.is_cuda_available() else 1)"
then
    echo "the engine sees no GPU (CuPy missing, or no CUDA device answers): every step would skip"
    exit 1
fi

step "pytest tests/gpu" 170 "$PY" -m pytest tests/gpu -q -p no:cacheprovider -rfE --durations=5

step "training smoke $DEVICE" 60 "$PY" -m engine.testing.devcheck --device "$DEVICE" --steps 30

if [[ $DEVICE != gpu0 ]]; then
    skip "mgectl train gpu0" "device $DEVICE"
elif timeout 30 "$PY" -c "import mgectl.train.loop, pydantic, typer, yaml" >/dev/null 2>&1; then
    step "mgectl train gpu0" 60 "$PY" -m mgectl train configs/moons_mlp.yaml --device gpu0 \
        --quiet --output-dir "$WORK/run"
else
    skip "mgectl train gpu0" "mgectl.train.loop or its dependencies do not import"
fi

if [[ $DEVICE != gpu0 ]]; then
    skip "benchmarks gpu0" "device $DEVICE"
elif timeout 30 "$PY" -m benchmarks --help 2>/dev/null | grep -q -- "--device"; then
    step "benchmarks gpu0" 90 "$PY" -m benchmarks --device gpu0 --quick --rounds 1 \
        --frameworks engine,torch --out "$WORK/bench"
else
    skip "benchmarks gpu0" "benchmarks/ has no --device option"
fi

echo
echo "=== summary ($((SECONDS))s of ${BUDGET}s) ==="
printf '%s\n' "${SUMMARY[@]}"
if ((FAILED)); then
    echo "$FAILED step(s) failed"
    exit 1
fi
echo "all steps passed"
