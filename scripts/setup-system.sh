#!/usr/bin/env bash
# Debian packages the project needs: chromium (browser tests), and the sound sources the
# factory renders its training clips from. Installs only what is missing.
set -euo pipefail
needed=()
command -v chromium >/dev/null || needed+=(chromium)
command -v fluidsynth >/dev/null || needed+=(fluidsynth)
[ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || needed+=(fluid-soundfont-gm)
command -v espeak-ng >/dev/null || needed+=(espeak-ng)
command -v sox >/dev/null || needed+=(sox)
if [ ${#needed[@]} -gt 0 ]; then
  echo "setup-system: installing ${needed[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${needed[@]}" >/dev/null
fi
