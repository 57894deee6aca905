#!/usr/bin/env bash
# Debian packages the system tests use:
#   xvfb, xdotool             — the preview window tests (a real OpenCV window, keys sent with xdotool)
#   chromium, chromium-driver — the overlay browser test (the page in a real headless Chromium)
# Installs only what is missing; needs root or sudo; never fails the build (those tests skip instead,
# naming what is missing). Chromium is large: its first install takes a few minutes.
set -u
need=()
command -v Xvfb >/dev/null 2>&1 || need+=(xvfb)
command -v xdotool >/dev/null 2>&1 || need+=(xdotool)
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else
  echo "install_system_deps: not root and no sudo; window/browser tests will skip (missing: ${need[*]})"; exit 0
fi
command -v apt-get >/dev/null 2>&1 || { echo "install_system_deps: no apt-get; window/browser tests will skip"; exit 0; }
$sudo apt-get update -qq >/dev/null 2>&1
# one package at a time: a distribution without one of them (e.g. Ubuntu's snap-only chromium)
# still gets the others
for package in "${need[@]}"; do
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$package" >/dev/null 2>&1 \
    || echo "install_system_deps: could not install $package; the tests that need it will skip"
done
exit 0
