#!/usr/bin/env bash
# roundtrip.sh [JBDLAB] BS FEATURES
#
# What a jbdlab mount writes, the kernel must read back identically.
# mkfs.ext4 -b BS (FEATURES "base" = -O ^64bit,^metadata_csum, or a feature
# list for -O, e.g. 64bit,metadata_csum), mount with jbdlab, run a seeded
# `jbdlab stress --verify` and a fixed population (nested dirs, hard links,
# fast/slow symlinks, sparse and >1 MiB files, setuid/setgid/sticky modes,
# several owners, user.* and trusted.* xattrs, fifo and device nodes, rename
# over an existing file, a multi-block directory, 255-byte names), record a
# manifest on the FUSE mount, unmount (the daemon must exit 0), e2fsck -fn
# must be clean, mount the image read-only with the kernel (ro,noload: no
# journal replay can hide a bug) and the manifest there must be identical.
# Finally a cold read-only jbdlab mount (-o ro) must show the same manifest
# again and leave the image byte-identical.
source "$(dirname "$0")/lib.sh"
BS=${ARGS[0]:?usage: roundtrip.sh [JBDLAB] BS FEATURES}
FEATURES=${ARGS[1]:?usage: roundtrip.sh [JBDLAB] BS FEATURES}
SEED=${STRESS_SEED:-$((BS + ${#FEATURES}))}
# shellcheck disable=SC2034  # lib.sh's messages use it
TEST_NAME="roundtrip-$BS-${FEATURES//,/-}"

require_env
setup_tmp

case $FEATURES in
base) OPTS=(-O '^64bit,^metadata_csum') ;;
*) OPTS=(-O "$FEATURES") ;;
esac

populate() {
	local d=$1 i
	mkdir -p "$d/a/b/c/d/e/f/g"
	gen_file "$d/a/b/c/d/e/f/g/deep" 5000 1
	gen_file "$d/big" 3300000 2		# > 1 MiB: extent tree with several extents
	gen_file "$d/onebyte" 1 3
	: >"$d/empty"
	gen_file "$d/oneblock" "$BS" 4
	# sparse: hole at the start, data in the middle, hole up to EOF
	truncate -s 40M "$d/sparse"
	gen_file "$d/sparse" 70000 5 $((5 * 1024 * 1024 + 17))
	gen_file "$d/sparse" 3000 6 $((33 * 1024 * 1024))
	truncate -s 1G "$d/sparse-empty"
	# hard links, also across directories
	gen_file "$d/hl" 10000 7
	ln "$d/hl" "$d/a/hl2"
	ln "$d/hl" "$d/a/b/hl3"
	# symlinks: fast (in the inode), slow (a block), to a dir, dangling
	ln -s big "$d/fastlink"
	ln -s "$(printf 'x%.0s' {1..200})/target" "$d/slowlink"
	ln -s "$(printf 'long/%.0s' {1..150})end" "$d/slowlink750"
	ln -s a/b/c "$d/dirlink"
	ln -s does/not/exist "$d/dangling"
	# modes
	gen_file "$d/suid" 100 8 && chmod 4755 "$d/suid"
	gen_file "$d/sgid" 100 9 && chmod 2711 "$d/sgid"
	gen_file "$d/suidsgid" 100 10 && chmod 6750 "$d/suidsgid"
	mkdir "$d/sticky" && chmod 1777 "$d/sticky"
	mkdir "$d/sgiddir" && chmod 2775 "$d/sgiddir"
	gen_file "$d/nomode" 10 11 && chmod 0000 "$d/nomode"
	gen_file "$d/ro" 10 12 && chmod 0444 "$d/ro"
	# owners
	chown 1000:1000 "$d/big"
	chown 1234:5678 "$d/a"
	chown 65534:65534 "$d/onebyte"
	chown 0:100 "$d/empty"
	chown 4000000000:4000000001 "$d/oneblock"	# needs the high 16 uid/gid bits
	chown -h 4321:8765 "$d/fastlink"
	# xattrs: user.* and trusted.*, on files, a dir and (trusted) a symlink
	setfattr -n user.comment -v "hello world" "$d/big"
	setfattr -n user.binary -v 0x00ff10ab "$d/big"
	setfattr -n user.empty "$d/big"
	setfattr -n trusted.secret -v s3cr3t "$d/big"
	setfattr -n user.big -v "0x$(python3 -c 'print(bytes(range(256)).hex() * 2)')" "$d/hl"
	setfattr -n user.dirattr -v d "$d/a/b"
	setfattr -h -n trusted.link -v l "$d/slowlink"
	setfattr -n user.gone -v x "$d/onebyte"
	setfattr -x user.gone "$d/onebyte"
	# special files
	mkfifo "$d/fifo"
	mknod "$d/null" c 1 3
	mknod "$d/blk" b 7 200
	mknod "$d/bigdev" c 300 70000		# needs the new (32-bit) device encoding
	# rename over an existing file, and over the last link of a hard-linked one
	gen_file "$d/victim" 500 13
	gen_file "$d/winner" 600 14
	python3 -c 'import os, sys; os.rename(sys.argv[1], sys.argv[2])' "$d/winner" "$d/victim"
	gen_file "$d/winner2" 700 15
	python3 -c 'import os, sys; os.rename(sys.argv[1], sys.argv[2])' "$d/winner2" "$d/a/hl2"
	mv "$d/a/b/c/d" "$d/moved-d"
	# a directory over several blocks, names of every length up to 255
	mkdir "$d/many"
	for ((i = 0; i < 300; i++)); do
		: >"$d/many/$(printf 'f%03d_%*s' $i $((i % 60)) '' | tr ' ' y)"
	done
	: >"$d/many/$(printf 'n%.0s' {1..255})"
	mkdir "$d/many/$(printf 'd%.0s' {1..255})"
	rm -f "$d/many/f01"* "$d/many/f1"*
	# explicit timestamps, set last so nothing bumps them afterwards
	touch -m -d '2001-02-03 04:05:06' "$d/onebyte"
	touch -m -d '1999-12-31 23:59:59' "$d/a/b"
	touch -h -m -d '2010-01-01 00:00:00' "$d/fastlink"
}

IMG=$T/img
log "checks: mkfs -b $BS ${OPTS[*]}; jbdlab stress --seed $SEED --verify + fixed population;"
log "        manifest on jbdlab == manifest on a kernel ro,noload mount; e2fsck -fn clean"
mkimg "$IMG" 256M -b "$BS" "${OPTS[@]}"
jbd_mount "$IMG" "$T/mnt"
log "mounted: type $(mount_type "$T/mnt")"

mkdir "$T/mnt/stress"
"$JBDLAB" stress "$T/mnt/stress" --seed "$SEED" --threads 4 --ops "${STRESS_OPS:-2000}" --verify --quiet ||
	fail "jbdlab stress --seed $SEED --verify on the jbdlab mount"
mkdir "$T/mnt/pop"
populate "$T/mnt/pop"
log "ok: population done"

manifest "$T/mnt" "$T/fuse.manifest"
log "manifest: $(wc -l <"$T/fuse.manifest") objects"
jbd_umount "$T/mnt"
fsck_clean "$IMG"

kmount "$IMG" "$T/kmnt" ro,noload
manifest "$T/kmnt" "$T/kernel.manifest"
kumount "$T/kmnt"
if diff -u "$T/kernel.manifest" "$T/fuse.manifest" >"$T/manifest.diff"; then
	log "ok: jbdlab and kernel manifests are identical"
else
	fail "manifests differ (- kernel, + jbdlab):"
	head -60 "$T/manifest.diff" >&2
fi

# a cold, read-only jbdlab mount reads back the same tree and writes nothing
cp --sparse=always "$IMG" "$T/img.before-ro"
jbd_mount "$IMG" "$T/rmnt" ro
manifest "$T/rmnt" "$T/ro.manifest"
jbd_umount "$T/rmnt"
if diff -u "$T/kernel.manifest" "$T/ro.manifest" >"$T/manifest.diff"; then
	log "ok: a cold jbdlab -o ro mount shows the same manifest"
else
	fail "jbdlab -o ro manifest differs from the kernel's (- kernel, + jbdlab ro):"
	head -60 "$T/manifest.diff" >&2
fi
if cmp -s "$T/img.before-ro" "$IMG"; then
	log "ok: the -o ro mount left the image byte-identical"
else
	fail "the -o ro mount changed the image: $(cmp "$T/img.before-ro" "$IMG" 2>&1 | head -1 || true)"
fi
