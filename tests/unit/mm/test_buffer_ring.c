// SPDX-License-Identifier: GPL-2.0
/*
 * test_buffer_ring - the geometry of a folio's buffer ring.
 *
 * Invariant: a bdev folio of size PAGE_SIZE << order carries exactly
 * folio_size / block_size buffer_heads linked through b_this_page, block
 * numbers consecutive from index * bpf, each b_data = folio address +
 * (i << blkbits) and b_folio = the folio.  ext4 with 2 KiB blocks on 4 KiB
 * pages (kdevops ext4_2k, generic/750) is the reference configuration: two
 * buffers per folio, and both share one folio's fate under migration.
 * Also: data read through the ring matches the image, a dirtied block
 * written with sync_dirty_buffer reaches the image, and lookups leave the
 * folio refcount at folio_expected_ref_count().
 */
#include "mm_test.h"

static void check_geometry(unsigned int blkbits, unsigned int order)
{
	struct test_dev d;
	size_t bs = 1UL << blkbits, fsz = PAGE_SIZE << order;
	unsigned int bpf = fsz / bs;
	uint64_t nblocks = 4 * bpf + 3;
	sector_t blk = 2 * bpf + 1;	/* second buffer of the third folio */
	struct buffer_head *bh, *head, *it;
	struct folio *f;
	unsigned int n = 0;

	test_dev_open(&d, nblocks * bs, blkbits, order, 0, true);
	bh = __bread(d.bdev, blk, bs);
	CHECK(bh);
	CHECK(buffer_uptodate(bh) && buffer_mapped(bh));
	CHECK(block_has_pattern(bh->b_data, blk, bs));
	f = bh->b_folio;
	CHECK_EQ(f->order, order);
	CHECK_EQ(f->index, blk / bpf);
	head = folio_buffers(f);
	CHECK(head);
	it = head;
	do {
		CHECK(it->b_folio == f);
		CHECK_EQ(it->b_blocknr, (blk / bpf) * bpf + n);
		CHECK_EQ(bh_offset(it), (size_t)n * bs);
		CHECK(it->b_data == folio_address(f) + (size_t)n * bs);
		CHECK_EQ(it->b_size, bs);
		n++;
		it = it->b_this_page;
	} while (it != head && n <= bpf);
	CHECK_EQ(n, bpf);
	/* The lookup dropped its temporary folio reference before returning. */
	CHECK_EQ(folio_ref_count(f), folio_expected_ref_count(f));
	CHECK_EQ(folio_ref_count(f), (int)folio_nr_pages(f) + 1);

	/* Write through the cache, sync, and compare with the image. */
	memset(bh->b_data, 0x5c, bs);
	mark_buffer_dirty(bh);
	CHECK(buffer_dirty(bh) && folio_test_dirty(f));
	CHECK_EQ(sync_dirty_buffer(bh), 0);
	CHECK(!buffer_dirty(bh));
	{
		char *buf = malloc(bs);
		int fd = open(d.path, O_RDONLY);

		CHECK(pread(fd, buf, bs, (off_t)(blk * bs)) == (ssize_t)bs);
		for (size_t i = 0; i < bs; i++)
			CHECK((unsigned char)buf[i] == 0x5c);
		close(fd);
		free(buf);
	}
	blk_drain(d.bdev);	/* end_buffer_write_sync: unlock, then put_bh */
	brelse(bh);
	invalidate_bh_lrus();
	CHECK_EQ(atomic_load(&bh->b_count), 0);
	test_dev_close(&d);
	printf("  blkbits %u order %u: %u buffers per folio ok\n", blkbits, order, bpf);
}

int main(void)
{
	test_seed("test_buffer_ring");
	check_geometry(11, 0);	/* 2 per 4 KiB folio: the reference configuration */
	check_geometry(10, 0);	/* 4 */
	check_geometry(12, 0);	/* 1 */
	check_geometry(11, 1);	/* 4 per 8 KiB folio */
	check_geometry(11, 2);	/* 8 per 16 KiB folio */
	check_geometry(12, 2);	/* 4 */
	check_no_leaks();
	printf("test_buffer_ring: ok\n");
	return 0;
}
