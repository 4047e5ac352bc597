# Shared by tools/run, tools/test and tools/bench: install what is missing, configure, build.
# Sourced, not run. Idempotent: with everything present it costs a dpkg query and a no-op ninja.

TAPSRV_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TAPSRV_BUILD=${TAPSRV_BUILD:-$TAPSRV_ROOT/build}
TAPSRV_FUZZ_BUILD=${TAPSRV_FUZZ_BUILD:-$TAPSRV_ROOT/build-fuzz}

# Build and runtime needs, the fuzzers' (clang, libFuzzer's runtime, llvm-symbolizer for their
# reports), then what the integration tests drive (real kernel clients).
TAPSRV_PACKAGES=(
  g++ meson ninja-build pkg-config
  libnl-3-dev libnl-route-3-dev libspdlog-dev libcli11-dev doctest-dev libsodium-dev
  clang libclang-rt-14-dev llvm
  clang-format iproute2 iputils-ping tcpdump python3 netcat-openbsd curl nftables util-linux procps
  hping3 nmap
  libsystemd-dev scdoc man-db bash-completion zsh systemd
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

tapsrv_install_deps() {
  local missing=()
  local p
  for p in "${TAPSRV_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "tapsrv: installing ${missing[*]}" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >&2
}

# tapsrv_build [BUILD_DIR [meson setup options...]]
tapsrv_build() {
  local dir=${1:-$TAPSRV_BUILD}
  shift || true
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$TAPSRV_ROOT" "$@" >&2
  fi
  ninja -C "$dir" >&2
}

# tapsrv_build_fuzz: the clang build, under AddressSanitizer and UndefinedBehaviorSanitizer: the
# libFuzzer targets (tests/fuzz) and the whole unit suite, so clang's sanitizers check what g++'s
# build-san checks too (tests/support/source_loc.hpp stands in for std::source_location there).
tapsrv_build_fuzz() {
  if [ ! -f "$TAPSRV_FUZZ_BUILD/build.ninja" ]; then
    CC=clang CXX=clang++ meson setup "$TAPSRV_FUZZ_BUILD" "$TAPSRV_ROOT" \
      -Db_sanitize=address,undefined -Db_lundef=false >&2
  fi
  ninja -C "$TAPSRV_FUZZ_BUILD" fuzzers tests/unit_tests >&2
}
