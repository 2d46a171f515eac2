#!/usr/bin/env bash
# Quick start, first command: installs what is missing, builds Release, and runs the main job:
# the seed model on Fashion-MNIST (`regula fit`, default experiment). Extra arguments go to
# `regula fit`, e.g. `scripts/train.sh --epochs 20` or `scripts/train.sh experiment.yaml`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DREGULA_BUILD_TESTS=OFF
cmake --build build -j2
exec build/tools/regula fit "$@"
