#!/usr/bin/env bash
# Installs the Debian packages regula needs to build, test and run its main job.
# Idempotent: packages already present are left alone; apt-get runs only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libdnnl-dev
  libhdf5-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libfmt-dev libstb-dev zlib1g-dev
  libprotobuf-dev protobuf-compiler
  libgtest-dev libgmock-dev libbenchmark-dev
  dataset-fashion-mnist
  # Open MPI: training on several processes and machines (mpirun), and its tests.
  openmpi-bin libopenmpi-dev
  # Independent readers of regula's files in the tests (HDF5 model files read by h5py and loaded
  # into the PyTorch seed model; TensorBoard event files decoded by Python's protobuf with their
  # CRC-32C checked), and the PyTorch peer of the benchmarks.
  python3-h5py python3-numpy python3-torch python3-protobuf python3-crc32c
  # Debian's PyTorch runs its Linear layers on the system BLAS: with only the netlib reference
  # BLAS the peer trains about 2.3x and predicts about 4x slower than a PyTorch user's does, so the
  # benchmark installs OpenBLAS to keep the comparison fair.
  libopenblas0-openmp
  # The learning-curve report's test opens the report in headless Chromium.
  chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
