#!/usr/bin/env bash
# A sample for the scanner's self-test: every program it must find is named in expected.txt.
set -euo pipefail
helper() { zstd -d "$1"; }               # a function: helper is not a program, zstd is
pkgs=(
  notacommand  # (a comment with a paren) and 'quotes'
  alsonot
)
x=$(jq -r .a file.json | sort -u)
echo "text; with | separators && words" "$(date +%s)"
if grep -q foo bar; then tar -xf a.tar; fi
nice -n 19 xargs -P 2 -n 1 clang-tidy <list
timeout 5 curl -s http://127.0.0.1:1/
FOO=1 BAR=2 awk '{ print $1 }
  next_line_of_awk_is_not_a_command' input
case "$1" in
  start|stop) systemctl "$1" x ;;
  *) exit 2 ;;
esac
n=$((3 + 4))
[[ -f /x ]] && rsync a b
cat <<EOT
heredoc_is_text only
EOT
command -v optional_tool >/dev/null || true
"$build"/bin/ours --flag
for w in one two; do head -n1 "$w"; done
