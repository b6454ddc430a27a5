#!/usr/bin/env bash
# hookport load benchmark: install what it needs, then run every configuration (bench/run.py).
#   bench/run.sh            full run (3 repeats x 10 s, ~20 min)
#   bench/run.sh --quick    1 repeat x 5 s, for iterating
#   bench/run.sh --only "a',c" --connections 64 --no-profile
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pair in wrk:wrk webhook:webhook taskset:util-linux psql:postgresql-client; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if ((${#need[@]})); then
    echo "installing: ${need[*]}"
    if [ "$(id -u)" = 0 ]; then sudo=(); else sudo=(sudo); fi
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -x .venv/bin/hookport ]; then
    echo "creating the project venv (.venv) with hookport installed editable"
    python3 -m venv .venv
    .venv/bin/pip install -q -e ".[test]"
fi
# An editable install picks up new source, not new dependencies: reinstall if hookport's
# imports fail (e.g. after pyproject.toml gained a dependency).
if ! .venv/bin/python -c "import hookport.app, hookport.store.sqlite" \
        2>/dev/null; then
    .venv/bin/pip install -q -e .
fi
# FastAPI for baseline (e) is a test extra of the project; install it if the venv lacks it.
.venv/bin/python -c "import fastapi" 2>/dev/null || .venv/bin/pip install -q "fastapi>=0.110"

# py-spy (profiles) lives in its own venv, bench/.venv (gitignored), never in pyproject.
if [ ! -x bench/.venv/bin/py-spy ]; then
    python3 -m venv bench/.venv
    bench/.venv/bin/pip install -q py-spy || echo "py-spy not installed: profiles skipped"
fi

exec .venv/bin/python bench/run.py "$@"
