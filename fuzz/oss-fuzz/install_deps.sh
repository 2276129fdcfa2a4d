#!/bin/bash -eu
# Build-image dependencies of fuzz/oss-fuzz/build.sh, for the OSS-Fuzz and ClusterFuzzLite
# Dockerfiles: tl::expected (Debian/Ubuntu 24.04: libexpected-dev, absent from the 20.04 base image)
# from its pinned release, with its CMake package. The base image's cmake is recent enough (>= 3.25).
git clone --depth 1 --branch v1.1.0 https://github.com/TartanLlama/expected "$SRC/tl-expected"
cmake -S "$SRC/tl-expected" -B "$SRC/tl-expected/build" -DEXPECTED_BUILD_TESTS=OFF
cmake --install "$SRC/tl-expected/build"
