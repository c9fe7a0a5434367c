#!/usr/bin/env bash
# The system libraries Qt's xcb platform plugin (Qt 6.5 and later) needs to open a window on X11.
# Many desktops lack some of them (libxcb-cursor0 above all), and Qt then aborts with "could not
# load the Qt platform plugin xcb". Installs the missing ones when it can (root, or sudo that
# needs no password); otherwise says exactly what to install and exits 1.
#   packaging/display_deps.sh          check, install if possible
#   packaging/display_deps.sh --check  check only (exit 1 and the apt-get line when missing)
set -euo pipefail

# library file:Debian/Ubuntu package
PAIRS="libxcb-cursor.so.0:libxcb-cursor0 libxcb-icccm.so.4:libxcb-icccm4
libxcb-keysyms.so.1:libxcb-keysyms1 libxcb-shape.so.0:libxcb-shape0
libxkbcommon-x11.so.0:libxkbcommon-x11-0 libEGL.so.1:libegl1 libGL.so.1:libgl1
libfontconfig.so.1:libfontconfig1 libdbus-1.so.3:libdbus-1-3"

ldconfig=$(command -v ldconfig || echo /sbin/ldconfig)
known=$("$ldconfig" -p 2>/dev/null || true)
missing=""
for pair in $PAIRS; do
  lib=${pair%%:*}
  grep -q "$lib " <<<"$known" || missing="$missing ${pair##*:}"
done
[ -z "$missing" ] && exit 0

line="apt-get install -y --no-install-recommends$missing"
if [ "${1:-}" != "--check" ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO=none; fi
  if [ "$SUDO" != none ] && command -v apt-get >/dev/null; then
    echo "installing the libraries Qt needs for a window:$missing"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO $line -qq && exit 0
  fi
fi
cat >&2 <<MSG
opsconsole needs these system packages to open its window (Qt's xcb platform plugin):
   $missing
Install them, then run 'make run' again:
   sudo $line
MSG
exit 1
