# Sourced: makes sure Debian's Chromium is installed for the headless UI test
# and exports DMIG_CHROMIUM with its path.
if [ -z "${DMIG_CHROMIUM:-}" ]; then
  for c in /usr/bin/chromium /usr/bin/chromium-browser; do
    [ -x "$c" ] && export DMIG_CHROMIUM="$c" && break
  done
fi
if [ -z "${DMIG_CHROMIUM:-}" ]; then
  echo "==> installing Chromium (Debian package chromium)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null && \
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium >/dev/null || exit 1
  export DMIG_CHROMIUM=/usr/bin/chromium
fi
