#!/usr/bin/env bash
# The project's virtual environment, made and kept up to date by the commands that need it:
#   . tools/setup_env.sh; tr2m_setup_env "dev"      # from bash, at the repository root
# (tools/quickstart.sh and tools/run_tests.sh source this file; run it alone to set up only:
#   bash tools/setup_env.sh [EXTRAS], e.g. bash tools/setup_env.sh dev)
#
# Creates .venv when it is missing, installs torch and torchvision when they cannot be imported
# there, then `pip install -e .[EXTRAS]`, and activates it. A stamp (.venv/.tr2m-stamp: the hash
# of setup.py and requirements/*.txt, and the extras installed) makes a second run start at once.
#
# Which torch build:
#   - a machine with an NVIDIA driver (nvidia-smi, /proc/driver/nvidia): pip's default torch
#     (the CUDA build, on Linux);
#   - a machine without one: PyTorch's CPU build from its CPU index (a much smaller download)
#     when that index answers within 5 s, else pip's default torch;
#   - TR2M_TORCH_INDEX=URL chooses the index yourself, e.g. a CUDA build:
#     TR2M_TORCH_INDEX=https://download.pytorch.org/whl/cu126 bash tools/run_tests.sh
# Environment:
#   TR2M_VENV=DIR     the environment to make or use (default .venv of the repository); point it
#                     at an existing environment (e.g. TR2M_VENV=$VIRTUAL_ENV) to install there
#   TR2M_NO_SETUP=1   use the python on PATH as it is: no environment made, nothing installed
#   PYTHON=python3.X  the interpreter that makes the environment (default python3, >= 3.9)

TR2M_CPU_INDEX=https://download.pytorch.org/whl/cpu

tr2m_has_cuda_driver() {
    command -v nvidia-smi > /dev/null 2>&1 || [ -e /proc/driver/nvidia/version ]
}

tr2m_install_torch() {
    if python -c "import torch, torchvision" > /dev/null 2>&1; then
        return 0
    fi
    if [ -n "${TR2M_TORCH_INDEX:-}" ]; then
        echo "[setup] torch from $TR2M_TORCH_INDEX (TR2M_TORCH_INDEX)"
        python -m pip install -q torch torchvision --index-url "$TR2M_TORCH_INDEX"
    elif tr2m_has_cuda_driver; then
        echo "[setup] NVIDIA driver found: pip's default torch build (CUDA)"
        python -m pip install -q torch torchvision
    elif python -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)" \
            "$TR2M_CPU_INDEX/torch/" > /dev/null 2>&1; then
        echo "[setup] no NVIDIA driver: PyTorch's CPU build ($TR2M_CPU_INDEX)"
        python -m pip install -q torch torchvision --index-url "$TR2M_CPU_INDEX"
    else
        echo "[setup] no NVIDIA driver, and PyTorch's CPU index does not answer: pip's default" \
            "torch build (for another build set TR2M_TORCH_INDEX, see tools/setup_env.sh)"
        python -m pip install -q torch torchvision
    fi
}

tr2m_requirements_hash() {
    cat setup.py requirements/*.txt | python -c \
        "import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest()[:16])"
}

# tr2m_setup_env [EXTRAS]: EXTRAS is a comma-separated list of setup.py extras ('' for none).
tr2m_setup_env() {
    local want=${1:-}
    if [ -n "${TR2M_NO_SETUP:-}" ] && [ "${TR2M_NO_SETUP}" != 0 ]; then
        echo "[setup] TR2M_NO_SETUP: using $(command -v python) as it is"
        return 0
    fi
    local venv=${TR2M_VENV:-.venv}
    if [ ! -x "$venv/bin/python" ]; then
        echo "[setup] creating the virtual environment $venv"
        "${PYTHON:-python3}" -m venv "$venv"
    fi
    # shellcheck disable=SC1091
    . "$venv/bin/activate"
    local hash stamp have extras missing e
    hash=$(tr2m_requirements_hash)
    stamp="$venv/.tr2m-stamp"
    have="" missing=1  # a new environment
    if [ -f "$stamp" ]; then
        have=$(cut -s -d' ' -f2 "$stamp")  # extras installed before: kept up to date too
        [ "$(cut -d' ' -f1 "$stamp")" = "$hash" ] && missing=0  # else requirements changed
    fi
    extras=$have
    for e in ${want//,/ }; do
        case ",$have," in
            *",$e,"*) ;;
            *) missing=1; extras=${extras:+$extras,}$e ;;
        esac
    done
    if [ "$missing" = 0 ]; then
        return 0  # up to date: nothing to install
    fi
    echo "[setup] installing tr2m${extras:+[$extras]} and its requirements into $venv"
    python -m pip install -q --upgrade pip
    tr2m_install_torch
    python -m pip install -q -e ".${extras:+[$extras]}"
    echo "$hash ${extras}" > "$stamp"
    echo "[setup] done: $(python -c 'import torch; print("torch", torch.__version__)')"
}

# Run alone: set up with the extras given.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    case "${1:-}" in
        -h|--help) sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    esac
    cd "$(dirname "$0")/.."
    tr2m_setup_env "${1:-}"
fi
