#!/usr/bin/env bash
# Builds the guest BPF programs (guest-progs/src/*.bpf.c) with clang.
#
#   scripts/build-guest.sh           rebuild guest-progs/obj/*.bpf.o in place
#   scripts/build-guest.sh --check   rebuild a copy of guest-progs/ in a
#                                    temporary directory (another path, so
#                                    the check also proves the objects do
#                                    not depend on where the tree is) and
#                                    fail, listing them, if any rebuilt
#                                    object differs from the committed one
#                                    or is missing / extra.
#
# Without clang (or llvm-strip, or libbpf's headers) it prints why and
# exits 0: the committed objects are what the tests load.
set -euo pipefail
cd "$(dirname "$0")/.."
GUEST=guest-progs

missing=()
command -v "${CLANG:-clang}" >/dev/null || missing+=("clang")
command -v "${LLVM_STRIP:-llvm-strip}" >/dev/null || missing+=("llvm-strip")
command -v make >/dev/null || missing+=("make")
[ -f /usr/include/bpf/bpf_helpers.h ] || missing+=("libbpf headers (libbpf-dev)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "build-guest: skipped, missing: ${missing[*]} (the committed objects in $GUEST/obj are used as they are)"
  exit 0
fi

echo "build-guest: $("${CLANG:-clang}" --version | head -1)"

case "${1:-}" in
  "")
    make -s -C "$GUEST"
    echo "build-guest: built $(ls "$GUEST"/obj/*.bpf.o | wc -l) objects in $GUEST/obj"
    ;;
  --check)
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    mkdir -p "$tmp/elsewhere/guest-progs"
    cp -r "$GUEST/Makefile" "$GUEST/src" "$GUEST/include" "$tmp/elsewhere/guest-progs/"
    make -s -C "$tmp/elsewhere/guest-progs" OUT="$tmp/out"
    bad=()
    for built in "$tmp"/out/*.bpf.o; do
      name=$(basename "$built")
      if [ ! -f "$GUEST/obj/$name" ]; then
        bad+=("$name (not committed)")
      elif ! cmp -s "$built" "$GUEST/obj/$name"; then
        bad+=("$name (differs)")
      fi
    done
    for committed in "$GUEST"/obj/*.bpf.o; do
      name=$(basename "$committed")
      [ -f "$tmp/out/$name" ] || bad+=("$name (no source)")
    done
    if [ ${#bad[@]} -gt 0 ]; then
      echo "build-guest: committed objects out of date with their sources:"
      printf '  %s\n' "${bad[@]}"
      echo "rebuild with scripts/build-guest.sh and commit $GUEST/obj"
      exit 1
    fi
    echo "build-guest: $(ls "$tmp"/out/*.bpf.o | wc -l) objects match their sources byte for byte"
    ;;
  *)
    echo "usage: $0 [--check]" >&2
    exit 2
    ;;
esac
