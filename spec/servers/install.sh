#!/usr/bin/env bash
# Installs the FTP servers the integration tests run against (Debian 12, as root).
#   - vsftpd from apt (never left running as a system service);
#   - ProFTPD and Pure-FTPd unpacked from their .debs into .servers/root/ (they conflict
#     with vsftpd in apt, so they are not installed, only unpacked), plus the shared
#     libraries they need from apt.
# Idempotent: run it again at any time. Exits non-zero on any failure.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
debs="$repo/.servers/debs"
root="$repo/.servers/root"
say() { printf '[install.sh] %s\n' "$*"; }

if [[ $(id -u) -ne 0 ]]; then
  say "must run as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

# Keep maintainer scripts from starting services. Most container images already ship a
# policy-rc.d that answers 101 ("action forbidden"); add a temporary one otherwise.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  added_policy=1
  say "added a temporary $policy so apt starts no service"
fi
cleanup() { if [[ $added_policy -eq 1 ]]; then rm -f "$policy"; fi; }
trap cleanup EXIT

say "apt-get update"
apt-get update -q >/dev/null
libs=(libhiredis0.14 libmemcached11 libmemcachedutil2 libpcre2-posix3 libsodium23)
# lftp: spec/servers/tls-smoke.ts drives active-mode FTPS with it (curl 7.88 cannot: curl issue #10666).
# time: GNU time (/usr/bin/time), which measures each client process of the bench suite (npm run bench).
say "apt-get install vsftpd openssl curl lftp time ${libs[*]}"
apt-get install -y -q --no-install-recommends vsftpd openssl curl lftp time "${libs[@]}" >/dev/null

# The package must not leave vsftpd running or enabled as a system service.
if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
  systemctl disable --now vsftpd >/dev/null 2>&1 || true
  say "systemd: vsftpd.service stopped and disabled"
else
  if [[ -x /etc/init.d/vsftpd ]] && /etc/init.d/vsftpd status >/dev/null 2>&1; then
    /etc/init.d/vsftpd stop
    say "stopped the vsftpd service the package had started"
  else
    say "vsftpd service is not running"
  fi
  update-rc.d vsftpd disable >/dev/null 2>&1 || true
  say "no systemd: vsftpd init script disabled"
fi

# vsftpd's package creates the ftp user; make sure of it (the configs rely on it).
if ! getent group ftp >/dev/null; then groupadd --system ftp; say "created group ftp"; fi
if ! getent passwd ftp >/dev/null; then
  useradd --system --gid ftp --home-dir /srv/ftp --no-create-home --shell /usr/sbin/nologin ftp
  say "created user ftp"
fi
getent group nogroup >/dev/null || { say "group nogroup is missing" >&2; exit 1; }

mkdir -p "$debs" "$root"
say "apt-get download proftpd-core proftpd-mod-crypto pure-ftpd pure-ftpd-common -> $debs"
(cd "$debs" && rm -f ./*.deb && apt-get download -q -o APT::Sandbox::User=root proftpd-core proftpd-mod-crypto pure-ftpd pure-ftpd-common >/dev/null)
for deb in "$debs"/*.deb; do
  dpkg -x "$deb" "$root"
  say "unpacked $(basename "$deb")"
done

# Prove every binary starts (catches a missing shared library).
check() {
  local missing
  missing=$(ldd "$1" 2>&1 | grep 'not found' || true)
  if [[ -n $missing ]]; then
    say "$1 is missing shared libraries:" >&2
    printf '%s\n' "$missing" >&2
    exit 1
  fi
}
check /usr/sbin/vsftpd
check "$root/usr/sbin/proftpd"
check "$root/usr/sbin/pure-ftpd"
check "$root/usr/bin/pure-pw"
say "proftpd: $("$root/usr/sbin/proftpd" -v 2>&1)"
say "pure-ftpd: $("$root/usr/sbin/pure-ftpd" --help 2>&1 | head -n1)"
say "$(/usr/sbin/vsftpd -v 0>&1)"  # vsftpd prints its version on file descriptor 0
say "done: vsftpd at /usr/sbin/vsftpd, proftpd and pure-ftpd under $root/usr/sbin"
