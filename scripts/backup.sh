#!/bin/sh
# Backs up a SPORE registry, also while it runs: the index first, then the blobs, then fsck on
# the copy proves it. Needs only sh, coreutils and the package's own built CLI.
#
#   scripts/backup.sh <dest>
#
# Reads REGISTRY_DIR and REGISTRY_DB as the server does (defaults ./registry, ./registry.db) and
# writes <dest>/registry.db (with its journal) and <dest>/registry/.blobs/. Run it again into the same <dest>: blobs
# already there are kept, new ones added. The <name>/<version> tree and .tmp are not copied: a
# registry started on the copy re-makes the tree, and .tmp holds only uploads in flight.
set -eu

fail() {
  echo "backup: $*" >&2
  exit 1
}

[ $# -eq 1 ] || { echo "usage: $0 <dest>" >&2; exit 2; }
dest=$1
data=${REGISTRY_DIR:-./registry}
db=${REGISTRY_DB:-./registry.db}
cli="$(dirname "$0")/../dist/bin/spore-registry.js"

[ -f "$db" ] || fail "no index at $db (set REGISTRY_DB as the server has it)"
[ -d "$data/.blobs" ] || fail "no blob store at $data/.blobs (set REGISTRY_DIR as the server has it)"
[ -f "$cli" ] || fail "$cli is not built; run npm run build"
mkdir -p "$dest/registry/.blobs/sha256" || fail "cannot make $dest"

# ---- THE INDEX: the one place that knows which files the index is. --------------------------
# The index is a snapshot (registry.db, replaced whole: temp file, fsync, rename) and journal
# segments (registry.db.journal.<n>, appended; the oldest removed once a new snapshot holds
# them). The segments are copied first, then the snapshot: a snapshot written meanwhile holds
# every segment removed meanwhile, and start-up skips the changes a snapshot already holds. A
# record being appended during the copy is cut short in the copy and dropped when it is opened
# (it was not acknowledged before the copy began). All of it is gathered in a temp folder and
# moved into place at the end, so <dest> holds the new index or the last one.
copy_index() {
  partial="$dest/.index.partial"
  rm -rf "$partial" && mkdir "$partial" || fail "cannot make $partial"
  for segment in "$db".journal.*; do
    [ -f "$segment" ] || continue
    if ! cp "$segment" "$partial/registry.db.journal.${segment##*.journal.}" 2>/dev/null; then
      [ ! -e "$segment" ] || fail "cannot copy the journal segment $segment"
    fi
  done
  cp "$db" "$partial/registry.db" || fail "cannot copy the index $db"
  rm -f "$dest/registry.db" "$dest"/registry.db.journal.*
  mv "$partial"/* "$dest/" && rmdir "$partial" || fail "cannot move the index copy into $dest"
}

# ---- THE BLOBS. -----------------------------------------------------------------------------
# A blob never changes once stored, so one already in the copy is skipped. A new one is copied
# under a temp name and renamed, so an interrupted backup leaves no short blob under a real
# name. A blob that vanishes before it is copied was deleted with its version meanwhile.
copy_blobs() {
  for shard in "$data"/.blobs/sha256/*; do
    [ -d "$shard" ] || continue
    into="$dest/registry/.blobs/sha256/${shard##*/}"
    mkdir -p "$into"
    for blob in "$shard"/*; do
      [ -f "$blob" ] || continue
      target="$into/${blob##*/}"
      [ -f "$target" ] && continue
      rm -f "$target.partial"
      if cp -p "$blob" "$target.partial" 2>/dev/null; then
        mv -f "$target.partial" "$target"
      else
        rm -f "$target.partial"
        [ ! -e "$blob" ] || fail "cannot copy $blob"
      fi
    done
  done
}

# Index first: every blob it names was stored before it named it, so the blob copy has them all
# (unless a version is deleted in between; fsck then names it, and a second run fixes it).
copy_index
copy_blobs
node "$cli" fsck --dir "$dest/registry" --db "$dest/registry.db"
