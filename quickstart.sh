#!/usr/bin/env bash
# The README's quick start. `./quickstart.sh demo` installs what is missing, builds and runs the
# demo; `./quickstart.sh test` installs, builds and runs the whole test suite. Debian 12, as root.
set -euo pipefail
cd "$(dirname "$0")"
what=${1:-}
case "$what" in
  demo|test) ;;
  *) echo "usage: ./quickstart.sh demo|test" >&2; exit 2 ;;
esac
bash scripts/install-deps.sh
exec make "$what"
