#!/usr/bin/env bash
# `meson install` into a temporary DESTDIR puts the binary, man page, completions and unit where
# Debian looks for them; the man page renders and covers every option of `tapsrv up --help`;
# the completions offer every option and the service names; systemd-analyze verifies the unit.
set -euo pipefail
BUILD=${1:?usage: $0 BUILD_DIR}
TMP=$(mktemp -d /tmp/tapsrv-install.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

D=$TMP/root
meson install -C "$BUILD" --destdir "$D" --no-rebuild --quiet >"$TMP/install.log" 2>&1 ||
  fail "meson install: $(tail -n 5 "$TMP/install.log")"
prefix=$(meson introspect "$BUILD" --buildoptions |
  python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
unit=$prefix/lib/systemd/system/tapsrv@.service
[ "$prefix" = /usr ] && unit=$(pkg-config --variable=systemdsystemunitdir systemd)/tapsrv@.service
for f in "$prefix/sbin/tapsrv" "$prefix/share/man/man8/tapsrv.8" \
  "$prefix/share/bash-completion/completions/tapsrv" "$prefix/share/zsh/vendor-completions/_tapsrv" \
  "$unit" "$prefix/share/doc/tapsrv/example.conf"; do
  [ -f "$D$f" ] || fail "not installed: $f (installed: $(cd "$D" && find . -type f | tr '\n' ' '))"
done
[ -x "$D$prefix/sbin/tapsrv" ] || fail "the binary is not executable"
pass "meson install --destdir: binary, man page, bash and zsh completions, unit, example"

"$D$prefix/sbin/tapsrv" up --help >"$TMP/help.txt"
mapfile -t options < <(grep -oE -- '--[a-z][a-z-]+' "$TMP/help.txt" | sort -u)
[ "${#options[@]}" -gt 20 ] || fail "only ${#options[@]} options read from --help"
# The subcommands that ask a running tapsrv, with their own options.
subcommands=(status stats)
declare -A sub_options
for sub in "${subcommands[@]}"; do
  "$D$prefix/sbin/tapsrv" "$sub" --help >"$TMP/help-$sub.txt"
  sub_options[$sub]=$(grep -oE -- '--[a-z][a-z-]+' "$TMP/help-$sub.txt" | sort -u | tr '\n' ' ')
  [ "$(wc -w <<<"${sub_options[$sub]}")" -ge 4 ] || fail "$sub --help: ${sub_options[$sub]}"
done

MANPAGER=cat MANWIDTH=100 man -l "$D$prefix/share/man/man8/tapsrv.8" >"$TMP/man.txt" 2>"$TMP/man.err" ||
  fail "man -l: $(cat "$TMP/man.err")"
[ -s "$TMP/man.err" ] && fail "man -l warned: $(cat "$TMP/man.err")"
for s in NAME SYNOPSIS OPTIONS "EXIT STATUS" EXAMPLES; do
  grep -q "^$s" "$TMP/man.txt" || fail "man page has no $s section"
done
for o in "${options[@]}"; do
  grep -q -- "$o" "$TMP/man.txt" || fail "man page does not describe $o"
done
for sub in "${subcommands[@]}"; do
  grep -qE "^ +tapsrv $sub " "$TMP/man.txt" || fail "man page SYNOPSIS lacks tapsrv $sub"
  for o in ${sub_options[$sub]}; do
    grep -q -- "$o" "$TMP/man.txt" || fail "man page does not describe $sub $o"
  done
done
pass "man -l renders tapsrv(8) with all ${#options[@]} options of tapsrv up, and status and stats"

# Bash: drive the completion function as readline would.
complete_bash() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _tapsrv; printf "%s\n" "${COMPREPLY[@]}"' \
    _ "$D$prefix/share/bash-completion/completions/tapsrv" "$@"
}
complete_bash tapsrv up -- >"$TMP/bash_opts.txt"
for o in "${options[@]}"; do
  grep -qx -- "$o" "$TMP/bash_opts.txt" || fail "bash completion does not offer $o"
done
[ "$(complete_bash tapsrv u)" = up ] || fail "bash completion of 'u' is not 'up'"
[ "$(complete_bash tapsrv up --port 8080:ht)" = 8080:http ] || fail "bash does not complete 8080:ht"
[ "$(complete_bash tapsrv up --cc bb)" = bbr ] || fail "bash does not complete --cc bb"
for sub in "${subcommands[@]}"; do
  complete_bash tapsrv "$sub" - >"$TMP/bash_$sub.txt"
  for o in ${sub_options[$sub]} -i -j; do
    grep -qx -- "$o" "$TMP/bash_$sub.txt" || fail "bash completion of $sub does not offer $o"
  done
done
[ "$(complete_bash tapsrv st | tr '\n' ' ')" = "status stats " ] ||
  fail "bash completion of 'st': $(complete_bash tapsrv st)"
[ "$(complete_bash tapsrv status --state close_w)" = CLOSE_WAIT ] ||
  fail "bash does not complete --state close_w"
pass "bash completion offers every option, the subcommands, services, algorithms and states"

zsh_file=$D$prefix/share/zsh/vendor-completions/_tapsrv
zsh -n "$zsh_file" || fail "zsh -n $zsh_file"
for o in "${options[@]}"; do
  grep -q -- "'[(]*[^']*$o\[" "$zsh_file" || grep -q -- "$o\[" "$zsh_file" || fail "zsh completion lacks $o"
done
for sub in "${subcommands[@]}"; do
  grep -q "'$sub\[" "$zsh_file" || fail "zsh completion lacks the $sub subcommand"
  grep -qE "^ +$sub\) _arguments" "$zsh_file" || fail "zsh completion has no arguments for $sub"
  for o in ${sub_options[$sub]}; do
    grep -q -- "$o\[" "$zsh_file" || grep -q -- "$o'\}" "$zsh_file" || grep -q -- ",$o}" "$zsh_file" ||
      fail "zsh completion lacks $sub $o"
  done
done
pass "zsh completion parses and lists every option and subcommand"

# systemd-analyze verify resolves the unit's dependencies and its ExecStart inside --root, so the
# system's own units are copied beside it; bad values are only warnings, so any output fails.
mkdir -p "$D/lib/systemd" "$D$prefix/etc/tapsrv"
cp -a /lib/systemd/system "$D/lib/systemd/"
MANPATH=$D$prefix/share/man systemd-analyze verify --root="$D" "${unit%@.service}@tapsrv0.service" \
  >"$TMP/verify.txt" 2>&1 || fail "systemd-analyze verify: $(cat "$TMP/verify.txt")"
[ -s "$TMP/verify.txt" ] && fail "systemd-analyze verify warned: $(cat "$TMP/verify.txt")"
grep -q '^Type=notify' "$D$unit" || fail "unit is not Type=notify"
grep -q "^ExecStart=$prefix/sbin/tapsrv up --ifname %i --config " "$D$unit" || fail "ExecStart: $(grep ExecStart "$D$unit")"
pass "systemd-analyze verify: tapsrv@tapsrv0.service is clean"
