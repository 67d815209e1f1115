#!/bin/sh
# A throw-away single-node Ceph with the RADOS Gateway (S3 API) on loopback, for tests and
# benchmarks: 1 monitor, 1 OSD on memstore (data in RAM), no manager, radosgw with beast.
# Everything lives in <dir>: configuration, monitor store, run files, logs. Nothing in /etc/ceph.
#
#   scripts/ceph-rgw.sh start <dir>   prints S3_ENDPOINT=…, AWS_ACCESS_KEY_ID=… lines (also
#                                     written to <dir>/env) once the S3 endpoint answers
#   scripts/ceph-rgw.sh stop <dir>    stops radosgw, then the OSD, then the monitor; removes <dir>
#
# The cluster belongs to the process that started the script (its parent; CEPH_RGW_OWNER_PID
# names another, 0 none): a watchdog stops it when that process is gone, so a test runner
# that is killed or times out never leaves Ceph daemons running.
#
# Needs Debian's ceph-mon ceph-osd radosgw (scripts/install-test-deps.sh) and root. The order
# and every setting below follow ../../shared/SCALE-OUT.md, where each one is explained by the
# failure it prevents. CEPH_RGW_MEMSTORE_BYTES caps the RAM the OSD may hold (default 2 GiB).
set -eu

PYTHON=/usr/bin/python3 # the ceph CLI's own interpreter: present whenever the packages are
ACCESS_KEY=SPORETESTACCESSKEY01
SECRET_KEY=spore-test-secret-key-for-a-throw-away-cluster
TIMEOUT=${CEPH_RGW_TIMEOUT:-120} # seconds per wait; generous, the machine may be busy

fail() {
  echo "ceph-rgw: $*" >&2
  exit 1
}

self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
[ $# -eq 2 ] || [ "${1:-}" = watch ] || { echo "usage: $0 start|stop <dir>" >&2; exit 2; }
command=$1
dir=$2
conf="$dir/ceph.conf"

ceph_cli() {
  ceph -c "$conf" --connect-timeout 10 "$@"
}

# Polls a command until it succeeds; fails with `what` after TIMEOUT seconds.
wait_until() {
  what=$1
  shift
  deadline=$(($(date +%s) + TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "$what did not happen within ${TIMEOUT}s; logs in $dir/log"
    sleep 0.05
  done
}

# The PID in a daemon's pid file, if that process is alive and is one of ours (its command
# line names our ceph.conf), so a recycled PID is never signalled.
our_pid() {
  [ -f "$dir/run/$1.pid" ] || return 1
  pid=$(cat "$dir/run/$1.pid")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$conf" || return 1
  echo "$pid"
}

# Stops one daemon and waits until its process is gone (SIGKILL after TIMEOUT seconds).
stop_daemon() {
  pid=$(our_pid "$1") || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  deadline=$(($(date +%s) + TIMEOUT))
  while [ -d "/proc/$pid" ]; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "ceph-rgw: $1 (pid $pid) did not stop within ${TIMEOUT}s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.05
  done
}

stop_all() {
  # One at a time, in this order: signalling radosgw and the OSD together hangs radosgw.
  stop_daemon client.rgw.0
  stop_daemon osd.0
  stop_daemon mon.a
}

# Two distinct free TCP ports on 127.0.0.1 (held together while chosen, so they differ).
free_ports() {
  "$PYTHON" -c '
import socket
sockets = [socket.socket() for _ in range(2)]
for s in sockets: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in sockets))'
}

# True when GET / on the port answers ListAllMyBucketsResult and the listening socket belongs
# to `pid`: a 200 from some other server on a recycled port proves nothing.
s3_answers_from() {
  "$PYTHON" - "$1" "$2" <<'EOF'
import os, sys, urllib.request
port, pid = int(sys.argv[1]), sys.argv[2]
inodes = set()
for line in open("/proc/net/tcp").read().splitlines()[1:]:
    fields = line.split()
    if fields[1] == "0100007F:%04X" % port and fields[3] == "0A":  # 127.0.0.1:port, LISTEN
        inodes.add("socket:[%s]" % fields[9])
fds = os.listdir("/proc/%s/fd" % pid)
if not any(os.readlink("/proc/%s/fd/%s" % (pid, fd)) in inodes for fd in fds if os.path.exists("/proc/%s/fd/%s" % (pid, fd))):
    sys.exit(1)
body = urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=2).read()
sys.exit(0 if b"ListAllMyBucketsResult" in body else 1)
EOF
}

osd_up() {
  ceph_cli osd dump -f json | grep -q '"up":1'
}

write_conf() {
  fsid=$1 mon_port=$2 rgw_port=$3
  cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
ms bind msgr1 = false
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon max pg per osd = 1000
mon allow pool size one = true
paxos propose interval = 0.1
run dir = $dir/run
pid file = $dir/run/\$name.pid
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
mon cluster log file = $dir/log/cluster.log
keyring = $dir/keyring

[mon.a]
mon data = $dir/mon

[osd.0]
osd objectstore = memstore
osd data = $dir/osd
memstore device bytes = ${CEPH_RGW_MEMSTORE_BYTES:-2147483648}

[client.rgw.0]
rgw data = $dir/rgw
rgw frontends = beast endpoint=127.0.0.1:$rgw_port tcp_nodelay=1
rgw gc obj min wait = 30
rgw gc processor period = 30
rgw enable lc threads = false
EOF
}

# Starts radosgw on $rgw_port and waits until it answers S3 there; false (radosgw stopped)
# when it could not bind the port.
start_rgw() {
  radosgw -c "$conf" -n client.rgw.0 2>>"$dir/log/stderr.log"
  deadline=$(($(date +%s) + TIMEOUT))
  while :; do
    if grep -qF "failed to bind address 127.0.0.1:$rgw_port" "$dir/log/client.rgw.0.log" 2>/dev/null; then
      stop_daemon client.rgw.0
      rm -f "$dir/run/client.rgw.0.pid"
      return 1
    fi
    if rgw_pid=$(our_pid client.rgw.0) && s3_answers_from "$rgw_port" "$rgw_pid" >/dev/null 2>&1; then return 0; fi
    [ "$(date +%s)" -lt "$deadline" ] || fail "radosgw did not answer S3 on 127.0.0.1:$rgw_port within ${TIMEOUT}s; logs in $dir/log"
    sleep 0.05
  done
}

start() {
  for tool in ceph ceph-mon ceph-osd radosgw radosgw-admin monmaptool uuidgen "$PYTHON"; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing; run scripts/install-test-deps.sh"
  done
  [ "$(id -u)" -eq 0 ] || fail "the Ceph daemons need root here (they write their own run files)"
  if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then fail "$dir is not empty"; fi
  mkdir -p "$dir/run" "$dir/log" "$dir/mon" "$dir/osd" "$dir/rgw"
  dir=$(cd "$dir" && pwd)
  conf="$dir/ceph.conf"
  # A start that fails half-way stops what it started and removes its folder.
  trap 'status=$?; if [ $status -ne 0 ]; then tail -n 5 "$dir"/log/*.log >&2 2>/dev/null; stop_all; rm -rf "$dir"; fi' EXIT

  set -- $(free_ports)
  mon_port=$1 rgw_port=$2
  write_conf "$(uuidgen)" "$mon_port" "$rgw_port"

  # 1. The monitor.
  monmaptool --create --fsid "$(sed -n 's/^fsid = //p' "$conf")" --addv a "[v2:127.0.0.1:$mon_port]" "$dir/monmap" >/dev/null
  ceph-mon -c "$conf" -i a --mkfs --monmap "$dir/monmap" 2>>"$dir/log/mkfs.log"
  ceph-mon -c "$conf" -i a 2>>"$dir/log/stderr.log"
  wait_until "the monitor answering" ceph_cli mon stat

  # 2. The OSD, on memstore.
  osd_uuid=$(uuidgen)
  osd_id=$(ceph_cli osd new "$osd_uuid")
  [ "$osd_id" = 0 ] || fail "expected OSD 0, got '$osd_id'"
  ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$osd_uuid" 2>>"$dir/log/mkfs.log"
  ceph-osd -c "$conf" -i 0 2>>"$dir/log/stderr.log"
  wait_until "the OSD coming up" osd_up

  # 3. RGW's pools up front, in one CLI process (each `ceph` start costs a Python start-up).
  {
    for pool in .rgw.root default.rgw.log default.rgw.control default.rgw.meta \
      default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec; do
      echo "osd pool create $pool 8 8"
      echo "osd pool application enable $pool rgw"
    done
  } | ceph_cli >"$dir/log/pools.log" 2>&1 || fail "creating RGW's pools failed: $(tail -n 3 "$dir/log/pools.log")"

  # 4. radosgw, and its user. Its port was free when chosen, seconds ago; on a busy machine
  # another process's connection may have taken it since ("failed to bind address"): then
  # radosgw starts again on another free port.
  for attempt in 1 2 3 4 5; do
    if start_rgw; then break; fi
    [ "$attempt" -lt 5 ] || fail "radosgw could not listen on a free port in 5 tries; logs in $dir/log"
    set -- $(free_ports)
    rgw_port=$1
    sed -i "s|^rgw frontends = beast endpoint=127.0.0.1:[0-9]*|rgw frontends = beast endpoint=127.0.0.1:$rgw_port|" "$conf"
  done
  radosgw-admin -c "$conf" user create --uid=spore-test --display-name="SPORE tests" \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >"$dir/log/user.json" 2>>"$dir/log/stderr.log"

  cat >"$dir/env" <<EOF
S3_ENDPOINT=http://127.0.0.1:$rgw_port
S3_REGION=us-east-1
S3_FORCE_PATH_STYLE=true
AWS_ACCESS_KEY_ID=$ACCESS_KEY
AWS_SECRET_ACCESS_KEY=$SECRET_KEY
EOF
  cat "$dir/env"
  trap - EXIT
}

# A process's start time (field 22 of /proc/<pid>/stat): with the PID, it names one process,
# never another that was given the same PID later.
started_at() {
  sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20
}

# Runs detached (its own session, no open pipe to the caller) until the cluster is stopped,
# or until the owner is gone, then stops it. Polls once a second.
start_watchdog() {
  owner=${CEPH_RGW_OWNER_PID:-$PPID}
  [ "$owner" != 0 ] || return 0
  since=$(started_at "$owner")
  [ -n "$since" ] || fail "the owning process $owner is not running"
  setsid "$self" watch "$dir" "$owner" "$since" </dev/null >>"$dir/log/watchdog.log" 2>&1 &
}

watch() {
  owner=$1 since=$2
  while [ -f "$conf" ]; do
    if [ "$(started_at "$owner")" != "$since" ]; then
      echo "ceph-rgw: the owning process $owner is gone; stopping the cluster in $dir"
      stop_all
      rm -rf "$dir"
      exit 0
    fi
    sleep 1
  done
}

case $command in
  start)
    start
    start_watchdog
    ;;
  watch)
    [ $# -eq 4 ] || { echo "usage: $0 watch <dir> <pid> <start time>" >&2; exit 2; }
    watch "$3" "$4"
    ;;
  stop)
    [ -f "$conf" ] || fail "$dir holds no cluster started by this script"
    dir=$(cd "$dir" && pwd)
    conf="$dir/ceph.conf"
    stop_all
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|stop <dir>" >&2; exit 2 ;;
esac
