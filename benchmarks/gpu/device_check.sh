#!/usr/bin/env bash
# The one prepared GPU check of the CUDA backend (issue 15): from the repo root on a bare GPU
# machine with PyTorch (CUDA), nvcc, cuBLAS, CMake, pybind11 and compute-sanitizer, no registry
# and no MindSpore. Builds crnn_fast._C with the CUDA backend (and the C++ tests), runs the GPU
# tests (pytest -m gpu: the DLPack case table on CUDA tensors), compute-sanitizer memcheck and
# racecheck on one small case per kernel, and the benchmarks; writes results.json, report.md and
# device_check.log into the output folder. About 5-8 minutes on an H100.
#
#   benchmarks/gpu/device_check.sh [OUT_DIR] [--quick] [--dry-run]
#
# OUT_DIR: default $OUT (the device tool's folder) or benchmarks/results/gpu. --quick: one shape
# per benchmark. --dry-run: check the tools and print the plan, run nothing (works anywhere).
# scipy-openblas32 (the CPU kernels' BLAS, linked into _C) is not on the GPU image: carry its
# wheel in .whl/ (see benchmarks/README.md); it is installed from there without a registry.
set -uo pipefail
cd "$(dirname "$0")/../.."

OUT_DIR="" QUICK="" DRY=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK="--quick" ;;
    --dry-run) DRY=1 ;;
    -h | --help) sed -n 2,16p "$0"; exit 0 ;;
    -*) echo "unknown option $arg" >&2; exit 2 ;;
    *) OUT_DIR="$arg" ;;
  esac
done
OUT_DIR=${OUT_DIR:-${OUT:-benchmarks/results/gpu}}
mkdir -p "$OUT_DIR"
LOG="$OUT_DIR/device_check.log"
: >"$LOG"
PY=${PYTHON:-python3}
FAILED=()

say() { printf '\n=== %s ===\n' "$*" | tee -a "$LOG"; }
run() {  # run NAME TIMEOUT CMD...: logs, times, records a failure, goes on
  local name=$1 limit=$2; shift 2
  say "$name"
  if ((DRY)); then echo "(dry run) $*" | tee -a "$LOG"; return 0; fi
  local t0=$SECONDS
  if timeout "$limit" "$@" >>"$LOG" 2>&1; then
    echo "ok: $name ($((SECONDS - t0)) s)" | tee -a "$LOG"
  else
    echo "FAILED: $name (rc $?, $((SECONDS - t0)) s)" | tee -a "$LOG"
    FAILED+=("$name")
  fi
}

say "environment"
for tool in nvidia-smi nvcc cmake compute-sanitizer "$PY"; do
  printf '%-18s %s\n' "$tool" "$(command -v "$tool" || echo MISSING)" | tee -a "$LOG"
done
if ((!DRY)); then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >>"$LOG" 2>&1
  nvcc --version | tail -2 >>"$LOG" 2>&1
  "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
torch.cuda.get_device_name())" >>"$LOG" 2>&1
fi

SITE=/tmp/crnn_site
if ls .whl/*.whl >/dev/null 2>&1; then
  run "carried wheels (no registry)" 120 "$PY" -m pip install -q --no-index --no-deps \
    --no-compile --target "$SITE" .whl/*.whl
fi
export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}"

# cuBLAS: the toolkit's, else the nvidia-cublas wheel PyTorch brings
CUBLAS_DIR=$("$PY" - <<'EOF' 2>/dev/null
import os
try:
    import nvidia
    for sub in ("cu13", "cublas"):
        p = os.path.join(nvidia.__path__[0], sub)
        if os.path.exists(os.path.join(p, "include", "cublas_v2.h")):
            print(p)
            break
except ImportError:
    pass
EOF
)
echo "cuBLAS fallback dir: ${CUBLAS_DIR:-none}" | tee -a "$LOG"
export CRNN_FAST_CUDA=ON CRNN_CUBLAS_DIR="$CUBLAS_DIR"
export CMAKE_ARGS="-DCRNN_FAST_TESTS=ON -DCMAKE_CUDA_ARCHITECTURES=90"
run "build crnn_fast._C with CUDA (sm_90) and the C++ tests" 420 \
  "$PY" setup.py -q build_ext --inplace
run "backends" 60 "$PY" -c "import crnn_fast, json; b = crnn_fast.backends(); \
print(json.dumps(b['registry'])); assert b['cuda'], 'CUDA backend not built'"
run "GPU tests: the DLPack case table and the MindSpore _gpu aot entries on CUDA tensors" 300 \
  "$PY" -m pytest -q -m gpu -p no:cacheprovider tests/test_dlpack.py \
  tests/test_aot_device_entries.py
SAN=$(find build -name test_cuda_sanitize -type f 2>/dev/null | head -1)
run "C++ smoke on the GPU" 60 "${SAN:-false}"
run "compute-sanitizer memcheck" 180 compute-sanitizer --tool memcheck --error-exitcode 1 \
  "${SAN:-false}"
run "compute-sanitizer racecheck" 240 compute-sanitizer --tool racecheck --error-exitcode 1 \
  "${SAN:-false}"
run "benchmarks vs PyTorch (CUDA events)" 300 "$PY" benchmarks/gpu/bench_cuda.py \
  --out "$OUT_DIR" $QUICK

say "summary"
if ((${#FAILED[@]})); then
  printf 'failed: %s\n' "${FAILED[@]}" | tee -a "$LOG"
  exit 1
fi
echo "all steps passed; results in $OUT_DIR" | tee -a "$LOG"
