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
#   mesa-opencl-icd                  rusticl, a second OpenCL implementation: its llvmpipe device
#                                    (RUSTICL_ENABLE=llvmpipe) runs work-items in SIMD lanes as a
#                                    GPU does, so the tests labelled rusticl run the GPU-shaped
#                                    kernels on real hardware threads, not only in oclgrind. It
#                                    exposes no device unless RUSTICL_ENABLE is set, so PoCL
#                                    stays the default device
#   clang-format                     tools/check-format.sh (Debian 12's is version 14)
#   libjansson-dev                   the library's JSON parser (safetensors headers, bitsandbytes
#                                    quant states, PEFT adapter configs) and the benchmark's
#                                    JSON output (clq bench --json)
#   gnuplot-nox                      the benchmark's charts (clq bench --plot)
#   python3-pip, then PyPI's gguf, safetensors and numpy: the reference GGUF and
#                                    safetensors writers the tests check clq's readers
#                                    against (tests/gen/make_gguf.py, make_safetensors.py)
set -euo pipefail
packages=(cmake gcc make pkg-config ocl-icd-opencl-dev opencl-headers pocl-opencl-icd libclblast-dev
          libcriterion-dev libxxhash-dev oclgrind mesa-opencl-icd libjansson-dev gnuplot-nox python3-pip
          clang-format)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ ${#missing[@]} -gt 0 ]; then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
# Debian 12 marks its Python as externally managed; these test-only
# packages go in beside it (--user would hide them from root's CI).
if ! python3 -c "import gguf, safetensors, numpy" 2>/dev/null; then
    $sudo python3 -m pip install --quiet --break-system-packages "gguf==0.19.0" "safetensors==0.8.0" numpy
fi
