// SPDX-License-Identifier: GPL-2.0
/*
 * revoke.c - revoke records at run time (fs/jbd2/revoke.c).
 *
 * When a metadata block is freed while a copy of it may still be in the
 * live log, recovery must not replay that copy over whatever the block
 * holds next (file data, another metadata block).  The filesystem calls
 * jbd2_journal_revoke(), which records (blocknr, tid) in the running
 * transaction's revoke table; the commit writes the table out as revoke
 * blocks (type 5: r_count bytes used, then be32 -- be64 with 64BIT --
 * block numbers, then the v2/v3 tail checksum), before any descriptor of
 * the transaction.  Recovery skips any logged copy of a block that a
 * transaction with an equal or newer tid revoked.
 *
 * Two tables: the running transaction adds records to j_revoke while the
 * committing transaction writes out the other one.  At commit (T_SWITCH,
 * with no handle open on the transaction) jbd2_journal_switch_revoke_table()
 * points j_revoke at the other, emptied table.
 *
 * Cancelling.  Journaling a block again (get_write_access or
 * get_create_access) makes a pending revoke of it in the running
 * transaction void: jbd2_journal_cancel_revoke() removes the record, else
 * recovery would skip the new copy too.  Revokes already written by an
 * older transaction need no cancelling: the new copy carries a newer tid.
 *
 * The buffer bits BH_Revoked/BH_RevokeValid cache "this block has a
 * revoke record in the running table" so cancel_revoke can skip the hash
 * lookup: RevokeValid says the Revoked bit can be trusted.  The commit
 * clears BH_Revoked on every revoked buffer still in the cache
 * (jbd2_clear_buffer_revoked_flags()) before switching tables, since the
 * next transaction starts with an empty table.
 *
 * Aliases.  In the kernel a block can be reached through the bdev mapping
 * and through a file mapping (data=journal); cancel_revoke then also
 * clears the flag on the bdev alias, with a SLEEPING lookup (folio lock)
 * since f76d4c28a46a.  Called with the buffer locked (get_create_access),
 * that lookup is the ABBA deadlock I5 (buffer lock -> folio lock against
 * writeback's folio lock -> buffer lock), fixed by 981fcc5674e6, which
 * skips the lookup when bh is itself the bdev buffer.  In jbdlab every
 * journaled buffer is a bdev buffer, so with the fix the lookup never
 * runs; the code keeps it where the kernel has it, behind the same test.
 *
 * Model: the hash is the kernel's (hash_64-style multiplicative hash,
 * 256 buckets by default); the recovery-time revoke hash lives in
 * recovery.c (the other engineer's file) instead of here.
 *
 * Locking rules:
 *   - j_revoke_lock (a leaf spinlock) protects the hash chains of both
 *     tables and the j_revoke pointer; it is never held across a lookup or
 *     an allocation;
 *   - the table switch happens in the commit thread while the committing
 *     transaction has no open handle and the next one cannot have started
 *     (T_SWITCH), so no revoke or cancel can run against the old table;
 *   - jbd2_journal_write_revoke_records() owns the non-running table (commit
 *     thread, no locks held) and frees its records;
 *   - BH_Revoked/BH_RevokeValid are atomic bits; the records, not the bits,
 *     are the truth.
 */
#include "jbd2_internal.h"

struct jbd2_revoke_record_s {
	struct list_head hash;		/* [j_revoke_lock] */
	tid_t sequence;			/* [const] tid that revoked the block */
	unsigned long long blocknr;	/* [const] */
};

struct jbd2_revoke_table_s {
	int hash_size;			/* [const] power of two */
	int hash_shift;			/* [const] */
	struct list_head *hash_table;	/* chains [j_revoke_lock] */
};

static inline int hash(journal_t *journal, unsigned long long block)
{
	return (int)((block * 0x61C8864680B583EBULL) >> (64 - journal->j_revoke->hash_shift));
}

/* insert_revoke_hash - entry: no locks (allocates). */
static int insert_revoke_hash(journal_t *journal, unsigned long long blocknr, tid_t seq)
{
	struct jbd2_revoke_record_s *record = malloc(sizeof(*record));

	if (!record)
		return -ENOMEM;
	record->sequence = seq;
	record->blocknr = blocknr;
	spin_lock(&journal->j_revoke_lock);
	list_add(&record->hash, &journal->j_revoke->hash_table[hash(journal, blocknr)]);
	spin_unlock(&journal->j_revoke_lock);
	return 0;
}

/* find_revoke_record - in the running table.  Entry: j_revoke_lock held. */
static struct jbd2_revoke_record_s *__find_revoke_record(journal_t *journal,
							 unsigned long long blocknr)
{
	struct list_head *hash_list;
	struct jbd2_revoke_record_s *record;

	assert_spin_locked(&journal->j_revoke_lock);
	hash_list = &journal->j_revoke->hash_table[hash(journal, blocknr)];
	list_for_each_entry(record, hash_list, hash) {
		if (record->blocknr == blocknr)
			return record;
	}
	return NULL;
}

static struct jbd2_revoke_table_s *jbd2_journal_init_revoke_table(int hash_size)
{
	struct jbd2_revoke_table_s *table = calloc(1, sizeof(*table));
	int shift = 0, tmp = hash_size;

	if (!table)
		return NULL;
	while ((tmp >>= 1UL) != 0UL)
		shift++;
	table->hash_size = hash_size;
	table->hash_shift = shift;
	table->hash_table = calloc((size_t)hash_size, sizeof(struct list_head));
	if (!table->hash_table) {
		free(table);
		return NULL;
	}
	for (tmp = 0; tmp < hash_size; tmp++)
		INIT_LIST_HEAD(&table->hash_table[tmp]);
	return table;
}

static void jbd2_journal_destroy_revoke_table(struct jbd2_revoke_table_s *table)
{
	if (!table)
		return;
	for (int i = 0; i < table->hash_size; i++) {
		struct jbd2_revoke_record_s *record, *n;

		list_for_each_entry_safe(record, n, &table->hash_table[i], hash) {
			list_del_init(&record->hash);
			free(record);
		}
	}
	free(table->hash_table);
	free(table);
}

/* jbd2_journal_init_revoke - both tables.  Init time, no locks. */
int jbd2_journal_init_revoke(journal_t *journal, int hash_size)
{
	J_ASSERT(hash_size > 0 && (hash_size & (hash_size - 1)) == 0);
	journal->j_revoke_table[0] = jbd2_journal_init_revoke_table(hash_size);
	journal->j_revoke_table[1] = jbd2_journal_init_revoke_table(hash_size);
	if (!journal->j_revoke_table[0] || !journal->j_revoke_table[1]) {
		jbd2_journal_destroy_revoke(journal);
		return -ENOMEM;
	}
	journal->j_revoke = journal->j_revoke_table[1];
	return 0;
}

/* jbd2_journal_destroy_revoke - teardown, no locks. */
void jbd2_journal_destroy_revoke(journal_t *journal)
{
	journal->j_revoke = NULL;
	jbd2_journal_destroy_revoke_table(journal->j_revoke_table[0]);
	journal->j_revoke_table[0] = NULL;
	jbd2_journal_destroy_revoke_table(journal->j_revoke_table[1]);
	journal->j_revoke_table[1] = NULL;
}

/*
 * jbd2_journal_revoke - revoke fs block @blocknr in the running
 * transaction.  With @bh_in (the block's buffer, caller's b_count), the
 * buffer is also forgotten (jbd2_journal_forget(), which CONSUMES the
 * caller's reference).  Sets the REVOKE feature on first use.  Consumes a
 * revoke credit (WARN_ON_ONCE and -EIO without one).  Revoking a block
 * twice without journaling it in between is -EIO ("inconsistent data on
 * disk").  Entry: inside @handle; no locks (sleeps).  0 or -errno.
 */
int jbd2_journal_revoke(handle_t *handle, unsigned long long blocknr, struct buffer_head *bh_in)
{
	struct buffer_head *bh = NULL;
	journal_t *journal;
	int err;

	might_sleep();
	if (is_handle_aborted(handle))
		return -EROFS;
	journal = handle->h_transaction->t_journal;
	if (!jbd2_journal_set_features(journal, 0, 0, JBD2_FEATURE_INCOMPAT_REVOKE)) {
		J_ASSERT(!"Cannot set revoke feature!");
		return -EINVAL;
	}
	bh = bh_in;
	if (!bh)
		bh = __find_get_block_nonatomic(journal->j_fs_dev, blocknr, journal->j_blocksize);

	if (WARN_ON_ONCE(handle->h_revoke_credits <= 0)) {
		if (!bh_in)
			brelse(bh);
		return -EIO;
	}
	/* Never revoke twice without a cancel (a journaling) in between. */
	if (bh) {
		if (buffer_revoked(bh)) {
			jbd_warn(__FILE__, __LINE__,
				 "JBD2 unexpected failure: block %llu revoked twice: "
				 "inconsistent data on disk", blocknr);
			if (!bh_in)
				brelse(bh);
			return -EIO;
		}
		set_buffer_revoked(bh);
		set_buffer_revokevalid(bh);
		if (bh_in)
			jbd2_journal_forget(handle, bh_in);
		else
			__brelse(bh);
	}
	handle->h_revoke_credits--;
	err = insert_revoke_hash(journal, blocknr, handle->h_transaction->t_tid);
	return err;
}

/*
 * jbd2_journal_cancel_revoke - the block of @jh is journaled again in the
 * running transaction: drop its pending revoke record.  Entry: inside
 * @handle; may be called with the buffer locked (get_create_access), so it
 * must not take the folio lock of @jh's buffer -- see the essay (I5).
 */
void jbd2_journal_cancel_revoke(handle_t *handle, struct journal_head *jh)
{
	journal_t *journal = handle->h_transaction->t_journal;
	struct buffer_head *bh = jh2bh(jh);
	struct jbd2_revoke_record_s *record = NULL;
	bool need_cancel;

	/* Trust BH_Revoked only if BH_RevokeValid says it is valid. */
	if (test_set_buffer_revokevalid(bh)) {
		need_cancel = test_clear_buffer_revoked(bh);
	} else {
		need_cancel = true;
		clear_buffer_revoked(bh);
	}
	if (need_cancel) {
		spin_lock(&journal->j_revoke_lock);
		record = __find_revoke_record(journal, bh->b_blocknr);
		if (record)
			list_del_init(&record->hash);
		spin_unlock(&journal->j_revoke_lock);
		free(record);
	}

	/*
	 * Clear the revoked bit on a hashed alias too.  Since 981fcc5674e6 the
	 * lookup is skipped when bh is itself the bdev buffer -- in jbdlab it
	 * always is -- because the lookup can only find bh again, and from
	 * f76d4c28a46a on it sleeps on bh's folio lock while the caller holds
	 * bh's buffer lock (ext4_getblk -> get_create_access): against
	 * writeback or migration, which hold the folio lock and then take the
	 * buffer lock, that is the ABBA deadlock (kernel-race.md §2.5 I5).
	 * j_revoke_lookup_alias restores the lookup as it was before the fix.
	 */
	if (need_cancel && (journal->j_revoke_lookup_alias ||
			    !(bh->b_folio && bh->b_folio->mapping &&
			      bh->b_folio->mapping == bh->b_bdev->bd_mapping))) {
		struct buffer_head *bh2;

		bh2 = __find_get_block_nonatomic(bh->b_bdev, bh->b_blocknr, bh->b_size);
		if (bh2) {
			if (bh2 != bh)
				clear_buffer_revoked(bh2);
			__brelse(bh2);
		}
	}
}

/*
 * jbd2_clear_buffer_revoked_flags - the next transaction starts with no
 * revoked buffers: clear BH_Revoked on every cached block of the running
 * table's records.  Entry: commit thread at T_SWITCH, no locks (the
 * lookups sleep); the table cannot change (no handle is open).
 */
void jbd2_clear_buffer_revoked_flags(journal_t *journal)
{
	struct jbd2_revoke_table_s *revoke = journal->j_revoke;

	for (int i = 0; i < revoke->hash_size; i++) {
		struct jbd2_revoke_record_s *record;

		list_for_each_entry(record, &revoke->hash_table[i], hash) {
			struct buffer_head *bh;

			bh = __find_get_block_nonatomic(journal->j_fs_dev, record->blocknr,
							journal->j_blocksize);
			if (bh) {
				clear_buffer_revoked(bh);
				__brelse(bh);
			}
		}
	}
}

/*
 * jbd2_journal_switch_revoke_table - the running transaction gets the other
 * (empty) table.  Entry: commit thread at T_SWITCH.
 */
void jbd2_journal_switch_revoke_table(journal_t *journal)
{
	spin_lock(&journal->j_revoke_lock);
	if (journal->j_revoke == journal->j_revoke_table[0])
		journal->j_revoke = journal->j_revoke_table[1];
	else
		journal->j_revoke = journal->j_revoke_table[0];
	for (int i = 0; i < journal->j_revoke->hash_size; i++)
		BUG_ON(!list_empty(&journal->j_revoke->hash_table[i]));
	spin_unlock(&journal->j_revoke_lock);
}

/* jbd2_file_log_bh/jbd2_unfile_log_bh - the commit's private bh lists. */
void jbd2_file_log_bh(struct list_head *head, struct buffer_head *bh)
{
	list_add_tail(&bh->b_assoc_buffers, head);
}

void jbd2_unfile_log_bh(struct buffer_head *bh)
{
	list_del_init(&bh->b_assoc_buffers);
}

/* flush_descriptor - finish and start writing one revoke block. */
static void flush_descriptor(journal_t *journal, struct buffer_head *descriptor, int offset)
{
	jbd2_journal_revoke_header_t *header;

	if (is_journal_aborted(journal))
		return;
	header = (jbd2_journal_revoke_header_t *)descriptor->b_data;
	header->r_count = htonl((uint32_t)offset);
	jbd2_descriptor_block_csum_set(journal, descriptor->b_data);
	set_buffer_jwrite(descriptor);
	set_buffer_dirty(descriptor);
	write_dirty_buffer(descriptor, REQ_SYNC);
}

static void write_one_revoke_record(transaction_t *transaction, struct list_head *log_bufs,
				    struct buffer_head **descriptorp, int *offsetp,
				    struct jbd2_revoke_record_s *record)
{
	journal_t *journal = transaction->t_journal;
	struct buffer_head *descriptor;
	int csum_size = 0, sz, offset;

	/* Aborting: only the I/O is omitted, the records are still freed. */
	if (is_journal_aborted(journal))
		return;
	descriptor = *descriptorp;
	offset = *offsetp;
	if (jbd2_journal_has_csum_v2or3(journal))
		csum_size = (int)sizeof(struct jbd2_journal_block_tail);
	sz = jbd2_has_feature_64bit(journal) ? 8 : 4;

	if (descriptor && offset + sz > journal->j_blocksize - csum_size) {
		flush_descriptor(journal, descriptor, offset);
		descriptor = NULL;
	}
	if (!descriptor) {
		descriptor = jbd2_journal_get_descriptor_buffer(transaction, JBD2_REVOKE_BLOCK);
		if (!descriptor)
			return;
		jbd2_file_log_bh(log_bufs, descriptor);
		offset = (int)sizeof(jbd2_journal_revoke_header_t);
		*descriptorp = descriptor;
	}
	if (jbd2_has_feature_64bit(journal)) {
		uint64_t v = htobe64(record->blocknr);

		memcpy(&descriptor->b_data[offset], &v, sizeof(v));
	} else {
		uint32_t v = htonl((uint32_t)record->blocknr);

		memcpy(&descriptor->b_data[offset], &v, sizeof(v));
	}
	offset += sz;
	*offsetp = offset;
}

/*
 * jbd2_journal_write_revoke_records - write the committing transaction's
 * table (the one that is not j_revoke) as revoke blocks on @log_bufs and
 * free its records.  Entry: commit thread at T_FLUSH, no locks.
 */
void jbd2_journal_write_revoke_records(transaction_t *transaction, struct list_head *log_bufs)
{
	journal_t *journal = transaction->t_journal;
	struct buffer_head *descriptor = NULL;
	struct jbd2_revoke_table_s *revoke;
	int offset = 0;

	revoke = journal->j_revoke == journal->j_revoke_table[0] ?
		 journal->j_revoke_table[1] : journal->j_revoke_table[0];
	for (int i = 0; i < revoke->hash_size; i++) {
		struct list_head *hash_list = &revoke->hash_table[i];

		while (!list_empty(hash_list)) {
			struct jbd2_revoke_record_s *record =
				list_first_entry(hash_list, struct jbd2_revoke_record_s, hash);

			write_one_revoke_record(transaction, log_bufs, &descriptor, &offset, record);
			list_del_init(&record->hash);
			free(record);
		}
	}
	if (descriptor)
		flush_descriptor(journal, descriptor, offset);
}
