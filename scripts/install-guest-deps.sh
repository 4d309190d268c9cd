#!/usr/bin/env bash
# Installs what the built-in QEMU test guest and the target loop need on a Debian/Ubuntu host.
# Idempotent: packages already present are skipped. The kernel image itself is NOT installed on
# the host (that would pull initramfs-tools and write /boot): LKM Dev fetches it with
# `apt-get download` into its cache folder when the guest first starts.
set -euo pipefail

packages=(
  qemu-system-x86      # the guest
  linux-headers-amd64  # modules are built on the host against the guest kernel's headers
  busybox-static       # the guest's userland: sh, insmod, rmmod, lsmod, dmesg, tar
  dropbear-bin         # the guest's SSH server (and dropbearkey for its per-boot host key)
  cpio                 # packs the initramfs
  xz-utils             # unpacks the kernel image's vmlinux
  binutils             # addr2line decodes call-trace frames
  gdb                  # `lkm debug` and the lkm debug type drive it over GDB/MI (QEMU gdbstub)
  make gcc             # kbuild
  rsync                # source sync (the tar stream is the fallback)
  openssh-client       # the transport
  mmdebstrap           # builds the Debian guest's root file system (lkm vm start --image debian)
  e2fsprogs            # mke2fs -d turns it into the Debian guest's disk image
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "guest packages: all installed"
else
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "guest packages: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# `apt-get download` of the kernel image needs package lists even when nothing was missing.
if ! apt-cache show "linux-image-$(dpkg-query -W -f='${Depends}' linux-headers-amd64 | grep -oE 'linux-headers-[^ ,]+' | head -1 | sed 's/^linux-headers-//')" >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
fi
