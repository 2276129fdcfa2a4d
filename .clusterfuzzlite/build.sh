#!/bin/bash -eu
# ClusterFuzzLite runs this in WORKDIR ($SRC/atomic-matrix): the build is the OSS-Fuzz one.
exec "$SRC/atomic-matrix/fuzz/oss-fuzz/build.sh"
