# Installs the Debian packages the project needs, if any is missing. Sourced by ci/* scripts.
# apt-get update runs once, and only when something has to be installed.
AMX_PACKAGES="cmake ninja-build g++ clang-14 libclang-rt-14-dev llvm-14 libgtest-dev librapidcheck-dev relacy-dev libexpected-dev libbenchmark-dev libboost-dev valgrind python3 pkg-config libcli11-dev libfmt-dev nlohmann-json3-dev"
amx_install_deps() {
  local missing=()
  for p in $AMX_PACKAGES "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  command -v clang++ >/dev/null || ln -sf /usr/bin/clang++-14 /usr/local/bin/clang++
}
