#!/usr/bin/env bash
# GPU check: the CUDA tests and the GPU benchmarks, every result written into one folder.
#
#   bash benchmarks/gpu_check.sh OUT_DIR [--quick]
#
# On a bare machine with an NVIDIA GPU and a CUDA build of PyTorch: makes trustml importable from
# this checkout (pip install --no-deps, or PYTHONPATH=src where the machine cannot build), runs the
# `cuda`-marked tests (OUT_DIR/cuda_tests.txt and .xml) and benchmarks/bench_gpu.py
# (OUT_DIR/gpu_results.json and .md). Without CUDA it prints one line saying why and exits 0.
set -uo pipefail
out=${1:?usage: bash benchmarks/gpu_check.sh OUT_DIR [--quick]}
shift
cd "$(dirname "$0")/.."
mkdir -p "$out"
py=${PYTHON:-python3}

reason=$("$py" - <<'PY' 2>&1
try:
    import torch
except Exception as exc:  # no torch at all
    print(f"PyTorch is not importable ({type(exc).__name__})")
else:
    if not torch.cuda.is_available():
        print(f"no CUDA device visible to torch {torch.__version__}")
PY
)
if [ -n "$reason" ]; then
    echo "gpu_check: skipped: $reason" | tee "$out/skipped.txt"
    exit 0
fi

# trustml from this checkout; numpy, scipy, scikit-learn, pytest and hypothesis come with the image
if ! "$py" -m pip install --quiet --no-deps --no-build-isolation . >"$out/install.log" 2>&1; then
    export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
    echo "pip install failed (see install.log): using PYTHONPATH=src" >>"$out/install.log"
fi
nvidia-smi >"$out/nvidia-smi.txt" 2>&1 || true

status=0
PYTHONUNBUFFERED=1 "$py" -m pytest -q -p no:cacheprovider -m cuda tests/torch \
    --junitxml="$out/cuda_tests.xml" 2>&1 | tee "$out/cuda_tests.txt" || status=1
PYTHONUNBUFFERED=1 "$py" benchmarks/bench_gpu.py --out "$out" "$@" 2>&1 \
    | tee "$out/bench_gpu.log" || status=1
echo "gpu_check: done (status $status); results in $out"
exit $status
