#!/usr/bin/env bash
# Installs clq's build and test dependencies from Debian 12's own packages.
# Each one and why:
#   cmake, gcc, make, pkg-config     build
#   ocl-icd-opencl-dev opencl-headers   the OpenCL ICD loader and headers
#   pocl-opencl-icd                  OpenCL on the CPU (the default device without a GPU)
#   libclblast-dev                   CLBlast, the benchmark's baseline
#   libcriterion-dev                 the test framework
#   libxxhash-dev                    XXH64 for the program cache (header-only use)
#   oclgrind                         simulates OpenCL to catch kernel out-of-bounds and races
set -euo pipefail
packages=(cmake gcc make pkg-config ocl-icd-opencl-dev opencl-headers pocl-opencl-icd libclblast-dev
          libcriterion-dev libxxhash-dev oclgrind)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
