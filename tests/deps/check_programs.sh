#!/usr/bin/env bash
# tests/deps/check_programs.sh SOURCE_DIR — every program the project runs is installed by
# scripts/install-deps.sh or comes with Debian's base system (CTest deps.programs).
#
# A developer's machine has programs from earlier work that a fresh Debian 12 lacks (a missing
# `zstd` once failed the suite on a fresh machine while CI stayed green). This check makes that
# class of bug fail here instead:
#   1. Scan: the programs the project runs are found in the code and scripts — find_program("X")
#      and "/usr/bin/X"-style literals in src/, tests/, bench/; the command words of the shell
#      scripts (scripts/, quickstart.sh, .ci/run, tests/**/*.sh), of the Makefile's recipes and
#      of the docs' ```sh blocks (README.md, docs/*.md) — and each must be listed in
#      scripts/programs.txt ("PROGRAM PACKAGE  what runs it").
#   2. Packages: each listed PACKAGE must be one install-deps.sh installs (`install-deps.sh
#      --list`) or part of the base system (Priority: required, or Essential: yes — what a
#      debootstrap minbase root has). PACKAGE "-" is allowed only for a program that the docs
#      alone show (an operator's own tool, e.g. a cloud provider's CLI in an example script).
#   3. This machine: each listed program resolves on PATH, and the package that owns it
#      (`dpkg -S`) is the listed PACKAGE or one of its dependencies (recursively), so the list
#      cannot name the wrong package.
# Shell scripts that C++ tests write at run time (a few lines of sh for a fake tool) are not
# scanned. Exit 1 listing every problem with its fix.
set -u
src=${1:?usage: check_programs.sh SOURCE_DIR}
cd "$src" || exit 2
here=tests/deps
list=scripts/programs.txt
problems=0
problem() { echo "PROGRAMS: $*"; problems=$((problems + 1)); }

# ---- 1. what the tree runs ---------------------------------------------------------------------
found=$(mktemp)
trap 'rm -f "$found"' EXIT
# C++: find_program("X") and absolute program paths in string literals.
grep -rnoE 'find_program\("[A-Za-z0-9._+-]+"\)' src tests bench --include='*.cpp' --include='*.h' |
  grep -v 'tests/unit/util/process_test.cpp' |
  sed -E 's/^([^:]+:[0-9]+):find_program\("([^"]+)"\)$/\2\t\1/' >>"$found"
grep -rnoE '"/(usr/)?s?bin/[A-Za-z0-9._+-]+' src tests bench --include='*.cpp' --include='*.h' |
  sed -E 's#^([^:]+:[0-9]+):"/(usr/)?s?bin/(.+)$#\3\t\1#' >>"$found"
# Shell scripts (each file given twice: the scanner collects its functions first).
while IFS= read -r f; do
  awk -v file="$f" -f "$here/shell_commands.awk" "$f" "$f" >>"$found"
done < <({ ls scripts/*.sh quickstart.sh .ci/run; find tests -path tests/deps/data -prune -o -name '*.sh' -print; } 2>/dev/null | sort -u)
# Makefile recipes: make's $(VAR) and $$ undone, $(shell X) read as a command substitution; other
# lines blanked so the line numbers stay.
mk=$(mktemp)
awk '{ l = $0
       if (l ~ /^\t/) sub(/^\t/, "", l)
       else if (l ~ /\$\(shell /) sub(/^[^$]*\$\(shell /, "x=$(shell ", l)
       else { print ""; next }
       gsub(/\$\$/, "$", l); gsub(/\$\(shell /, "$(", l); gsub(/\$\([A-Z_]+\)/, "$V", l); print l }' Makefile >"$mk"
awk -v file=Makefile -f "$here/shell_commands.awk" "$mk" "$mk" >>"$found"
rm -f "$mk"
# The docs' ```sh blocks (commands a user types; "KEY=value" configuration lines are assignments).
for f in README.md docs/*.md; do
  [ -f "$f" ] || continue
  block=$(mktemp)
  awk '/^```/ { if (inb) { inb = 0 } else { inb = 1; sh = ($0 ~ /^```(sh|bash|shell|console)[ \t]*$/) } ; print ""; next }
       !(inb && sh) { print ""; next }
       { l = $0   # a synopsis: [--opt a|b] groups are options, not pipelines
         while (l ~ /\[[^][]*--[^][]*\]/) gsub(/\[[^][]*\]/, "", l)
         print l }' "$f" >"$block"
  awk -v file="$f" -f "$here/shell_commands.awk" "$block" "$block" >>"$found"
  rm -f "$block"
done

declare -A listed_pkg listed_where
while read -r prog pkg _; do
  [[ -z "$prog" || "$prog" == \#* ]] && continue
  listed_pkg[$prog]=$pkg
done <"$list"

declare -A seen_where seen_outside_docs
while IFS=$'\t' read -r prog where; do
  [ -n "$prog" ] || continue
  [ "$prog" = corecell ] && continue   # ours, built by the project
  seen_where[$prog]=${seen_where[$prog]:-$where}
  case "$where" in README.md:* | docs/*) ;; *) seen_outside_docs[$prog]=1 ;; esac
done <"$found"

for prog in $(printf '%s\n' "${!seen_where[@]}" | sort); do
  if [ -z "${listed_pkg[$prog]+x}" ]; then
    problem "'$prog' is run by ${seen_where[$prog]} but is not in $list: add it with the Debian package that provides it (and add that package to scripts/install-deps.sh unless it is in the base system)"
  fi
done

# ---- 2. the listed packages ---------------------------------------------------------------------
installed=$(bash scripts/install-deps.sh --list) || { problem "scripts/install-deps.sh --list failed"; exit 1; }
declare -A by_install_deps
for p in $installed; do by_install_deps[$p]=1; done
is_base_package() {  # Priority required or Essential: what a minbase root has
  local fields
  fields=$(dpkg-query -W -f='${Priority} ${Essential}' "$1" 2>/dev/null) ||
    fields=$(apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^\(Priority\|Essential\): //p' | tr '\n' ' ')
  [[ "$fields" == required* || "$fields" == *yes* ]]
}

# The recursive Depends/Pre-Depends of each package, from dpkg's database (installed packages).
deps_db=$(mktemp)
dpkg-query -W -f='${Package} ${Pre-Depends}, ${Depends}, ${Provides}\n' >"$deps_db"
closure_of() {
  awk -v root="$1" '
    { name = $1; line = $0; sub(/^[^ ]+ /, "", line)
      gsub(/\([^)]*\)/, "", line); gsub(/:[a-z0-9]+/, "", line); gsub(/[|]/, ",", line)
      n = split(line, d, /[ ,]+/); for (i = 1; i <= n; i++) if (d[i] != "") { dep[name] = dep[name] " " d[i]; prov[d[i]] = prov[d[i]] " " name }
      have[name] = 1 }
    END { q[1] = root; seen[root] = 1; h = 1; t = 1
      while (h <= t) { p = q[h++]; m = split(dep[p] " " prov[p], ds, / +/)
        for (i = 1; i <= m; i++) { x = ds[i]; if (x != "" && !(x in seen)) { seen[x] = 1; q[++t] = x } } }
      for (x in seen) print x }' "$deps_db"
}

for prog in $(printf '%s\n' "${!listed_pkg[@]}" | sort); do
  pkg=${listed_pkg[$prog]}
  if [ "$pkg" = "-" ]; then
    if [ -n "${seen_outside_docs[$prog]+x}" ]; then
      problem "'$prog' is listed with no package (\"-\": an operator's own tool shown in the docs), but ${seen_where[$prog]} runs it: name its Debian package in $list and install it in scripts/install-deps.sh"
    fi
    continue
  fi
  # PACKAGE may be "a|b": either provides it (install-deps.sh picks one); each must qualify
  ok=1
  for alt in ${pkg//|/ }; do
    if [ -z "${by_install_deps[$alt]+x}" ] && ! is_base_package "$alt"; then
      problem "'$prog' comes from package $alt, which scripts/install-deps.sh does not install and a minimal Debian 12 lacks: add $alt to scripts/install-deps.sh"
      ok=0
    fi
  done
  [ $ok -eq 1 ] || continue
  # ---- 3. on this machine: the program exists and the listed package (or a dependency) owns it
  path=$(type -P "$prog" 2>/dev/null)   # the program on PATH, never a shell builtin
  if [ -z "$path" ]; then
    for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
      [ -x "$d/$prog" ] && path=$d/$prog && break
    done
  fi
  if [ -z "$path" ]; then
    problem "'$prog' (package $pkg) is not installed on this machine: run scripts/install-deps.sh (or fix its package in $list)"
    continue
  fi
  owner=""
  real=$(readlink -f "$path")
  for candidate in "$path" "$real" "${path/#\/usr/}" "/usr$path" "${real/#\/usr/}" "/usr$real"; do
    owner=$(dpkg -S "$candidate" 2>/dev/null | grep -v '^diversion' | head -n 1 | cut -d: -f1)
    [ -n "$owner" ] && break
  done
  owner=${owner%%,*}
  if [ -z "$owner" ]; then
    # e.g. a Node.js from another distribution in /usr/local: install-deps.sh keeps it and
    # installs the listed package only where the program is missing
    echo "programs: note: $prog ($path) is not from a Debian package here; $pkg provides it on a fresh machine"
    continue
  fi
  owned=0
  for alt in ${pkg//|/ }; do
    if [ "$owner" = "$alt" ] || closure_of "$alt" | grep -qxF "$owner"; then owned=1; break; fi
  done
  if [ $owned -eq 0 ]; then
    problem "'$prog' is listed as package $pkg, but $path belongs to $owner, which $pkg does not pull in: correct $list"
  fi
done
rm -f "$deps_db"

if [ "$problems" -ne 0 ]; then
  echo "programs: $problems problem(s)"
  exit 1
fi
echo "programs: ${#seen_where[@]} programs run by the tree, ${#listed_pkg[@]} listed in $list; each installed by scripts/install-deps.sh or in the base system"
