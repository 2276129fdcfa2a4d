#!/usr/bin/env bash
# Mutant helpers.
#   mutant.sh apply PATCH DIR    copy the tree to DIR (fresh) and apply PATCH; exit 1 if it does not apply
#   mutant.sh field PATCH NAME   print a header field ("# NAME: value") of PATCH
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cmd=${1:?usage: mutant.sh apply PATCH DIR | field PATCH NAME}
case "$cmd" in
  apply)
    patch_file=$(realpath "${2:?patch}"); dir=${3:?dir}
    rm -rf "$dir"; mkdir -p "$dir"
    tar -C "$root" --exclude=./build --exclude=./.git -cf - . | tar -C "$dir" -xf -
    grep -q '^+++ ' "$patch_file" || exit 0  # a header without a diff: the clean tree (baseline)
    if ! patch -s -p1 -d "$dir" --dry-run <"$patch_file" >/dev/null; then
      echo "mutant $(basename "$patch_file"): patch does not apply" >&2
      exit 1
    fi
    patch -s -p1 -d "$dir" <"$patch_file" >/dev/null
    ;;
  field)
    sed -n "s/^# ${3:?name}: //p" "${2:?patch}" | head -n 1
    ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
