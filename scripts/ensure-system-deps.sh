#!/usr/bin/env bash
# Installs the Debian packages the test suite needs when they are missing (PostgreSQL for the
# multi-worker tests). Runs apt only as root; otherwise says what to install and fails.
set -euo pipefail

need=()
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need+=(postgresql)
fi
# Debian's chromium for the dashboard's browser tests (Playwright drives /usr/bin/chromium).
if [ ! -x /usr/bin/chromium ]; then
  need+=(chromium)
fi

# Mesa's EGL (llvmpipe) for MuJoCo's offscreen rendering of the episode cameras (MUJOCO_GL=egl).
for pkg in libegl1 libegl-mesa0 libgl1-mesa-dri; do
  if ! dpkg -s "$pkg" >/dev/null 2>&1; then
    need+=("$pkg")
  fi
done

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages: ${need[*]} (install them with apt-get as root)" >&2
  exit 1
fi
echo "installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
