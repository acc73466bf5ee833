#!/usr/bin/env bash
# Install what the report-in-a-browser test (tests/inspect/test_report_browser.py) needs:
#   - Debian's chromium package (the browser; /usr/bin/chromium), from apt;
#   - the Python `playwright` package (only its driver, to steer that chromium), from PyPI,
#     into the Python environment that is active (the CI's .venv).
# Playwright's own browser download (`playwright install`) is never used: the test launches
# /usr/bin/chromium through executable_path.
#
# Idempotent: what is already there is not installed again. Run it as root (CI is) or with sudo.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "ci_browser_setup: need root (or sudo) to apt-get install chromium" >&2; exit 1
    fi
fi

if [ ! -x /usr/bin/chromium ]; then
    echo "ci_browser_setup: installing Debian's chromium ..."
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi

PY="${PYTHON:-python}"
if ! "$PY" -c "import playwright.sync_api" >/dev/null 2>&1; then
    echo "ci_browser_setup: installing the playwright Python package ..."
    "$PY" -m pip install --quiet "playwright>=1.40"
fi

# Fail here, with a clear line, if the browser cannot start headless.
/usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --dump-dom 'data:text/html,<p>ok</p>' 2>/dev/null | grep -q '<p>ok</p>' || {
    echo "ci_browser_setup: /usr/bin/chromium does not start headless" >&2; exit 1; }
echo "ci_browser_setup: $(/usr/bin/chromium --version 2>/dev/null), playwright $("$PY" -c 'import importlib.metadata as m; print(m.version("playwright"))')"
