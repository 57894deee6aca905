#!/usr/bin/env bash
# Debian packages the window tests use (a real OpenCV window under Xvfb, keys sent with xdotool).
# Installs only what is missing; needs root or sudo; never fails the build (tests skip instead).
set -u
need=()
command -v Xvfb >/dev/null 2>&1 || need+=(xvfb)
command -v xdotool >/dev/null 2>&1 || need+=(xdotool)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; else
  echo "install_system_deps: not root and no sudo; window tests will skip (missing: ${need[*]})"; exit 0
fi
command -v apt-get >/dev/null 2>&1 || { echo "install_system_deps: no apt-get; window tests will skip"; exit 0; }
$sudo apt-get update -qq >/dev/null 2>&1
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 \
  || echo "install_system_deps: could not install ${need[*]}; window tests will skip"
exit 0
