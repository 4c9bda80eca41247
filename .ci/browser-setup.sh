#!/usr/bin/env bash
# CI: the browser for tests/web. Debian's Chromium, driven by Playwright's Python package through
# `executable_path`; `playwright install` (a browser download from Playwright's CDN) is never used.
# Also a small Japanese font, so that the screenshots of Japanese conversations are readable; the
# tests themselves read text from the page and do not depend on it.
set -euo pipefail

packages=()
[ -x /usr/bin/chromium ] || packages+=(chromium)
if command -v fc-list >/dev/null && [ -z "$(fc-list :lang=ja family)" ]; then
  packages+=(fonts-ipafont-gothic)
fi

if [ "${#packages[@]}" -gt 0 ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${packages[@]}"
fi
test -x /usr/bin/chromium
echo "browser-setup: /usr/bin/chromium is ready"
