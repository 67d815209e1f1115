#!/bin/sh
# Installs the Debian packages the S3 tests need to start a real Ceph RADOS Gateway
# (scripts/ceph-rgw.sh): ceph-mon, ceph-osd, radosgw; about 60 MB, nothing starts by itself.
# Does nothing when they are installed. Not root: says why and leaves the machine as it is
# (the S3 tests are then reported as skipped).
set -eu

packages="ceph-mon ceph-osd radosgw"

missing=""
for package in $packages; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $package"
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-deps: not root, so$missing not installed; the S3 tests will be skipped" >&2
  exit 0
fi
command -v apt-get >/dev/null 2>&1 || {
  echo "install-test-deps: no apt-get, so$missing not installed; the S3 tests will be skipped" >&2
  exit 0
}

apt-get update -qq
# shellcheck disable=SC2086 # one word per package
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
