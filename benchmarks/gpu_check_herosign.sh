#!/usr/bin/env bash
# HERO-Sign (paper 13) on a CUDA machine: GPU tests, then the GPU benchmark and the notebook at smoke scale.
# Results and figures go to $OUT when set (else ./gpu_out). Needs: the project installed with [gpu] (cupy-cuda13x).
set -uo pipefail
OUT="${OUT:-$PWD/gpu_out}"
mkdir -p "$OUT"
PY="${PYTHON:-python}"
export PAPER_REPRO_QUIET=1 HEROSIGN_TUNING_CACHE="$OUT/herosign_tuning.json"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/gpu.txt" 2>&1
"$PY" -c "import cupy; print('cupy', cupy.__version__)" >> "$OUT/gpu.txt" 2>&1
timeout 300 "$PY" -m pytest tests/herosign/test_gpu.py -q -p no:cacheprovider 2>&1 | tee "$OUT/herosign_gpu_tests.txt"
OUT="$OUT" timeout 400 "$PY" benchmarks/herosign.py --no-cpu --gpu-sets "${GPU_SETS:-sha2-128f,sha2-192f,sha2-256f}" \
    --gpu-batches "${GPU_BATCHES:-1024,8192,32768}" 2>&1 | tee "$OUT/herosign_benchmark.txt"
PAPER_REPRO_OUT="$OUT/notebook" timeout 300 "$PY" -m papermill notebooks/13_herosign.ipynb "$OUT/notebook/run.ipynb" \
    -p scale smoke -k python3 > "$OUT/notebook.log" 2>&1 || echo "notebook run failed (see notebook.log)"
echo "done: $OUT"
