/* SPDX-License-Identifier: GPL-2.0 */
/*
 * inode.c - inode lifetime: in-memory references, the orphan list and the
 * final delete (the kernel's iget/iput/evict, ext4_orphan_add/del,
 * ext4_evict_inode and ext4_orphan_cleanup).
 *
 * FUSE's low-level protocol gives us two reference counts per inode: the
 * lookup count (every reply that hands an inode to the kernel adds one,
 * FORGET removes them) and the open count (open/create/opendir, released by
 * release/releasedir).  struct jfs_inode holds both, created on the first
 * reference and freed when both are 0.  Together they play the role of the
 * VFS's i_count: an inode whose link count reaches 0 while referenced is
 * not freed but put on the orphan list, and deleted when the last
 * reference goes (fstests generic/035: unlink an open file, keep using it).
 *
 * The orphan list is the on-disk one the kernel uses without the
 * orphan_file feature: s_last_orphan names the head inode, and each
 * orphan's i_dtime holds the next one (NEXT_ORPHAN()).  ext4_orphan_del
 * finds the predecessor through the kernel's in-memory list; we walk the
 * on-disk chain from the head, which is O(orphans) and simpler.  Model
 * simplification: with COMPAT_ORPHAN_FILE the kernel prefers the orphan
 * file; we always use the list (legal: the kernel falls back to it, and
 * e2fsck processes both).  Orphans also cover truncates split over several
 * ops: a crash in between leaves an inode with nlink > 0 on the list, which
 * the mount-time cleanup truncates to i_size (ext4_orphan_cleanup).
 *
 * The final delete frees the blocks in bounded chunks (one op each, the
 * inode on the orphan list in between, as ext4_evict_inode's truncate
 * restarts its handle), the xattr block, sets i_dtime and clears the inode
 * bitmap bit.
 *
 * Locking rules: everything here runs inside an operation, with fs->fs_lock
 * held (asserted); the table and every jfs_inode field are [fs_lock].
 * jfs_forget is an operation of its own.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include "fs_internal.h"

static unsigned int ihash(ext2_ino_t ino)
{
	return (ino * 2654435761u) % JFS_INODE_HASH;
}

struct jfs_inode *jfs_inode_find(struct jfs *fs, ext2_ino_t ino, bool create)
{
	struct jfs_inode *ji;
	unsigned int h = ihash(ino);

	lockdep_assert_held(&fs->fs_lock);
	for (ji = fs->itable[h]; ji; ji = ji->hnext)
		if (ji->ino == ino)
			return ji;
	if (!create)
		return NULL;
	ji = calloc(1, sizeof(*ji));
	if (!ji)
		return NULL;
	ji->ino = ino;
	ji->hnext = fs->itable[h];
	fs->itable[h] = ji;
	return ji;
}

static void inode_unhash(struct jfs *fs, struct jfs_inode *victim)
{
	struct jfs_inode **pp = &fs->itable[ihash(victim->ino)];

	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == victim) {
			*pp = victim->hnext;
			free(victim);
			return;
		}
}

void jfs_inode_ref_lookup(struct jfs *fs, ext2_ino_t ino)
{
	struct jfs_inode *ji = jfs_inode_find(fs, ino, true);

	if (!WARN_ON(!ji))
		ji->nlookup++;
}

void __jfs_inode_open(struct jfs *fs, ext2_ino_t ino)
{
	struct jfs_inode *ji = jfs_inode_find(fs, ino, true);

	if (!WARN_ON(!ji))
		ji->nopen++;
}

int __jfs_inode_close(struct jfs *fs, ext2_ino_t ino)
{
	struct jfs_inode *ji = jfs_inode_find(fs, ino, false);

	if (WARN_ON(!ji || !ji->nopen))
		return 0;
	ji->nopen--;
	return __jfs_inode_maybe_evict(fs, ino);
}

static bool ino_valid(struct jfs *fs, ext2_ino_t ino)
{
	return ino >= 1 && ino <= fs->e2fs->super->s_inodes_count;
}

int __jfs_read_inode(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode)
{
	errcode_t err;

	lockdep_assert_held(&fs->fs_lock);
	if (!ino_valid(fs, ino))
		return -ESTALE;
	memset(inode, 0, sizeof(*inode));
	err = ext2fs_read_inode_full(fs->e2fs, ino, (struct ext2_inode *)inode, sizeof(*inode));
	return err ? __jfs_fail(fs, err) : 0;
}

int __jfs_write_inode(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode)
{
	errcode_t err;

	lockdep_assert_held(&fs->fs_lock);
	err = ext2fs_write_inode_full(fs->e2fs, ino, (struct ext2_inode *)inode, sizeof(*inode));
	if (err)
		return __jfs_fail(fs, err);
	/* ext4_update_inode_fsync_trans (datasync too: conservative) */
	__jfs_inode_update_tid(fs, ino, true);
	return 0;
}

/* Update only ctime, with nothing else to change in the inode (a moved
 * inode in ext4_rename, an xattr change in ext4_xattr_set_handle). */
int __jfs_touch_ctime(struct jfs *fs, ext2_ino_t ino)
{
	struct ext2_inode_large inode;
	int err;

	lockdep_assert_held(&fs->fs_lock);
	err = __jfs_read_inode(fs, ino, &inode);
	if (err)
		return err;
	jfs_inode_touch(&inode, JFS_T_CTIME);
	return __jfs_write_inode(fs, ino, &inode);
}

/* ext4_orphan_add(): head insertion into the s_last_orphan chain. */
int __jfs_orphan_add(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode)
{
	struct jfs_inode *ji = jfs_inode_find(fs, ino, true);

	lockdep_assert_held(&fs->fs_lock);
	if (!ji)
		return -ENOMEM;
	if (ji->orphan)
		return 0;
	inode->i_dtime = fs->e2fs->super->s_last_orphan;
	fs->e2fs->super->s_last_orphan = ino;
	ji->orphan = true;
	return __jfs_write_inode(fs, ino, inode);
}

/* ext4_orphan_del(): unlink from the chain; the predecessor is found by
 * walking the on-disk list (the kernel keeps it in memory). */
int __jfs_orphan_del(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode)
{
	struct ext2_super_block *sb = fs->e2fs->super;
	struct jfs_inode *ji = jfs_inode_find(fs, ino, false);
	ext2_ino_t next = inode->i_dtime, p;
	uint32_t guard = sb->s_inodes_count;
	int ret = 0;

	lockdep_assert_held(&fs->fs_lock);
	if (sb->s_last_orphan == ino) {
		sb->s_last_orphan = next;
	} else {
		for (p = sb->s_last_orphan; p && guard--; ) {
			struct ext2_inode_large prev;

			if (!ino_valid(fs, p))
				break;
			ret = __jfs_read_inode(fs, p, &prev);
			if (ret)
				break;
			if (prev.i_dtime == ino) {
				prev.i_dtime = next;
				ret = __jfs_write_inode(fs, p, &prev);
				goto found;
			}
			p = prev.i_dtime;
		}
		WARN_ON(!ret);		/* not on the list: the chain is damaged */
	}
found:
	inode->i_dtime = 0;
	if (ji)
		ji->orphan = false;
	if (!ret)
		ret = __jfs_write_inode(fs, ino, inode);
	return ret;
}

/* The final delete (ext4_evict_inode -> ext4_truncate, ext4_orphan_del,
 * ext4_free_inode).  May restart the op between block chunks. */
int __jfs_evict_inode(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode)
{
	struct jfs_inode *ji = jfs_inode_find(fs, ino, false);
	bool orphan = ji && ji->orphan;
	errcode_t err;
	int ret;

	lockdep_assert_held(&fs->fs_lock);
	/*
	 * On the orphan list across the op restarts of the block freeing, as
	 * ext4_unlink() puts every inode whose last link goes (ext4_orphan_add
	 * in the unlink's handle) and ext4_evict_inode() takes it off only after
	 * ext4_truncate().  Whenever it has blocks, not only when it has more
	 * than a chunk of them: punch_tail() chunks by logical range, so a
	 * sparse file of a few blocks restarts too, and a commit between the
	 * restarts with no orphan left e2fsck "deleted inode has zero dtime"
	 * and the unfreed blocks after a crash (race lab, crash image of seed
	 * 424242; the same hole as c15e3be's truncate).
	 */
	if (!orphan && ext2fs_get_stat_i_blocks(fs->e2fs, (struct ext2_inode *)inode)) {
		ret = __jfs_orphan_add(fs, ino, inode);
		if (ret)
			return ret;
		orphan = true;
	}
	ret = __jfs_free_inode_blocks(fs, ino, inode);
	if (ret)
		return ret;
	err = ext2fs_free_ext_attr(fs->e2fs, ino, inode);
	if (err)
		return __jfs_fail(fs, err);
	if (orphan || (ji && ji->orphan)) {
		ret = __jfs_orphan_del(fs, ino, inode);
		if (ret)
			return ret;
	}
	inode->i_dtime = fs->e2fs->now ? fs->e2fs->now : time(NULL);
	ret = __jfs_write_inode(fs, ino, inode);
	if (ret)
		return ret;
	ext2fs_inode_alloc_stats2(fs->e2fs, ino, -1, LINUX_S_ISDIR(inode->i_mode));
	return 0;
}

int __jfs_inode_unlinked(struct jfs *fs, ext2_ino_t ino, struct ext2_inode_large *inode)
{
	struct jfs_inode *ji = jfs_inode_find(fs, ino, false);

	lockdep_assert_held(&fs->fs_lock);
	WARN_ON(inode->i_links_count);
	if (ji && (ji->nlookup || ji->nopen))
		return __jfs_orphan_add(fs, ino, inode);
	return __jfs_evict_inode(fs, ino, inode);
}

int __jfs_inode_maybe_evict(struct jfs *fs, ext2_ino_t ino)
{
	struct jfs_inode *ji = jfs_inode_find(fs, ino, false);
	struct ext2_inode_large inode;
	int ret = 0;

	lockdep_assert_held(&fs->fs_lock);
	if (!ji || ji->nlookup || ji->nopen)
		return 0;
	if (ji->orphan && !fs->ro) {
		ret = __jfs_read_inode(fs, ino, &inode);
		if (!ret) {
			if (inode.i_links_count == 0)
				ret = __jfs_evict_inode(fs, ino, &inode);
			else
				ret = __jfs_orphan_del(fs, ino, &inode);
		}
	}
	ji = jfs_inode_find(fs, ino, false);
	if (ji)
		inode_unhash(fs, ji);
	return ret;
}

void jfs_set_inval_hook(struct jfs *fs, jfs_inval_fn cb, void *arg)
{
	fs->inval_cb = cb;
	fs->inval_arg = arg;
}

void __jfs_notify_inval(struct jfs *fs, ext2_ino_t ino)
{
	lockdep_assert_held(&fs->fs_lock);
	if (fs->inval_cb)
		fs->inval_cb(fs->inval_arg, ino);
}

void jfs_forget(struct jfs *fs, ino_t ino, uint64_t nlookup)
{
	struct jfs_inode *ji;
	int ret;

	ret = jfs_op_begin(fs, "forget", fs->ro ? 0 : jfs_credits_data(fs) + 64 + 3);
	if (ret)
		return;
	ji = jfs_inode_find(fs, ino, false);
	if (WARN_ON(!ji)) {
		jfs_op_end(fs, 0);
		return;
	}
	if (WARN_ON(nlookup > ji->nlookup))
		nlookup = ji->nlookup;
	ji->nlookup -= nlookup;
	ret = __jfs_inode_maybe_evict(fs, ino);
	if (ret)
		fprintf(stderr, "jbdlab: forget of inode %lu: %s\n", (unsigned long)ino, strerror(-ret));
	jfs_op_end(fs, ret);
}

int __jfs_inode_release_all(struct jfs *fs)
{
	int ret = 0;

	lockdep_assert_held(&fs->fs_lock);
	for (unsigned int h = 0; h < JFS_INODE_HASH; h++) {
		while (fs->itable[h]) {
			struct jfs_inode *ji = fs->itable[h];
			int err;

			ji->nlookup = 0;
			ji->nopen = 0;
			/* each final delete is its own handle, as each iput()
			 * of ext4_evict_inode() is */
			err = __jfs_op_restart(fs, jfs_credits_data(fs));
			if (err && !ret)
				ret = err;
			err = __jfs_inode_maybe_evict(fs, ji->ino);
			if (err && !ret)
				ret = err;
			/* maybe_evict unhashed it */
		}
	}
	return ret;
}

/*
 * ext4_orphan_cleanup(): a crash left inodes on the list.  nlink == 0:
 * delete; nlink > 0: an interrupted truncate, finish it at i_size.
 */
int __jfs_orphan_cleanup(struct jfs *fs)
{
	struct ext2_super_block *sb = fs->e2fs->super;
	uint32_t guard = sb->s_inodes_count;
	unsigned int deleted = 0, truncated = 0;
	int ret = 0;

	lockdep_assert_held(&fs->fs_lock);
	while (sb->s_last_orphan && guard--) {
		ext2_ino_t ino = sb->s_last_orphan;
		struct ext2_inode_large inode;
		struct jfs_inode *ji;

		if (ino < EXT2_FIRST_INODE(sb) || !ino_valid(fs, ino) ||
		    !ext2fs_test_inode_bitmap2(fs->e2fs->inode_map, ino)) {
			fprintf(stderr, "jbdlab: %s: bad orphan inode %u, orphan list dropped (run e2fsck)\n",
				fs->image, ino);
			sb->s_last_orphan = 0;
			fs->had_errors = true;
			break;
		}
		ret = __jfs_read_inode(fs, ino, &inode);
		if (ret)
			break;
		/* It is on the list: let orphan_del unlink it. */
		ji = jfs_inode_find(fs, ino, true);
		if (!ji) {
			ret = -ENOMEM;
			break;
		}
		ji->orphan = true;
		if (inode.i_links_count == 0) {
			ret = __jfs_evict_inode(fs, ino, &inode);
			deleted++;
		} else {
			if (LINUX_S_ISREG(inode.i_mode))
				ret = __jfs_truncate(fs, ino, &inode, jfs_i_size(&inode));
			if (!ret)
				ret = __jfs_orphan_del(fs, ino, &inode);
			truncated++;
		}
		ji = jfs_inode_find(fs, ino, false);
		if (ji)
			inode_unhash(fs, ji);
		if (ret)
			break;
		ret = __jfs_op_restart(fs, jfs_credits_data(fs));
		if (ret)
			break;
	}
	if (deleted || truncated)
		fprintf(stderr, "jbdlab: %s: orphan cleanup: %u inodes deleted, %u truncated\n",
			fs->image, deleted, truncated);
	return ret;
}
