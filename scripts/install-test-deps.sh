#!/bin/sh
# Installs what the test suite drives for real, from Debian's packages, when it is missing:
# curl (the seed README's commands), chattr from e2fsprogs (fault injection), nginx (refused
# uploads behind a proxy), and ceph-mon, ceph-osd, radosgw (a throw-away Ceph RADOS Gateway
# for the S3 tests, started by scripts/ceph-rgw.sh; about 60 MB, nothing starts by itself),
# postgresql-15 (a throw-away PostgreSQL for the shared index, started by scripts/postgres.sh;
# its `main` cluster does not start by itself without systemd), chromium (the web page's
# browser tests, driven by playwright-core) and fonts-dejavu-core (a font for its screenshots).
# Run by `npm test` before the suite. Without root it installs nothing and says so: the tests
# that need a missing program are then reported as skipped.
set -u

missing=""
command -v curl >/dev/null 2>&1 || missing="$missing curl"
command -v chattr >/dev/null 2>&1 || missing="$missing e2fsprogs"
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || missing="$missing nginx"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
[ -d /usr/share/fonts/truetype/dejavu ] || missing="$missing fonts-dejavu-core"
for package in ceph-mon ceph-osd radosgw postgresql-15; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $package"
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "test dependencies not installed (needs root and apt-get):$missing; the tests that need them are skipped" >&2
  exit 0
fi
echo "installing test dependencies:$missing" >&2
apt-get update -qq >/dev/null 2>&1
# shellcheck disable=SC2086 # one word per package
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1 ||
  echo "could not install$missing; the tests that need them are skipped" >&2
exit 0
