// SPDX-License-Identifier: GPL-2.0
/*
 * test_invalidate - invalidate_bdev() and clean_bdev_aliases().
 *
 * Invariants:
 *   - after an outside writer changed the disk (e.g. e2fsck replaying the
 *     journal), invalidate_bdev() drops every clean, unreferenced cached
 *     block (draining the bh LRUs first), so the next read sees the disk;
 *     a block somebody still holds is left alone (b_count pins the bh);
 *   - clean_bdev_aliases() forgets the dirty state of blocks reallocated
 *     as file data: the stale metadata must never be written over the new
 *     data (fs/buffer.c; ext4 calls it on block allocation), and nr_dirty
 *     accounting follows.
 */
#include "mm_test.h"

#define BS 2048

int main(void)
{
	struct test_dev d;
	struct buffer_head *bh, *held;
	char buf[BS];
	int fd;

	test_seed("test_invalidate");
	test_dev_open(&d, 64 * BS, 11, 0, 0, true);

	bh = __bread(d.bdev, 4, BS);
	CHECK(block_has_pattern(bh->b_data, 4, BS));
	brelse(bh);
	held = __bread(d.bdev, 8, BS);

	fd = open(d.path, O_RDWR);
	memset(buf, 0xee, BS);
	CHECK(pwrite(fd, buf, BS, 4 * BS) == BS);
	CHECK(pwrite(fd, buf, BS, 8 * BS) == BS);
	blk_drain(d.bdev);

	invalidate_bdev(d.bdev);	/* drains our LRU too */
	bh = __bread(d.bdev, 4, BS);
	CHECK((unsigned char)bh->b_data[0] == 0xee);
	brelse(bh);
	CHECK(block_has_pattern(held->b_data, 8, BS));	/* pinned: untouched */
	brelse(held);

	/* clean_bdev_aliases: a dirty metadata block reallocated as data */
	bh = __bread(d.bdev, 20, BS);
	memset(bh->b_data, 0x99, BS);
	mark_buffer_dirty(bh);
	CHECK_EQ(atomic_load(&d.mapping.nr_dirty), 1);
	brelse(bh);
	clean_bdev_aliases(d.bdev, 19, 3);
	CHECK(!buffer_dirty(bh));
	CHECK_EQ(atomic_load(&d.mapping.nr_dirty), 0);
	CHECK_EQ(sync_blockdev(d.bdev), 0);
	CHECK(pread(fd, buf, BS, 20 * BS) == BS);
	CHECK(block_has_pattern(buf, 20, BS));		/* never written */
	close(fd);

	invalidate_bh_lrus();
	test_dev_close(&d);
	check_no_leaks();
	printf("test_invalidate: ok\n");
	return 0;
}
