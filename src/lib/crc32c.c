// SPDX-License-Identifier: GPL-2.0
/*
 * crc32c.c - CRC32C (Castagnoli, reflected polynomial 0x82F63B78), raw
 * update form: no pre- or post-inversion, the caller passes the seed.  The
 * kernel's crc32c() (lib/crc32.c, arch/x86/lib/crc32-glue.c) and
 * e2fsprogs' ext2fs_crc32c_le() compute the same function.
 *
 * As the kernel does, the x86 CRC32 instruction (SSE4.2) is used when the
 * CPU has it -- chosen once at start-up, as the kernel's static call is --
 * and a table otherwise.  The journal checksums every logged block
 * (jbd2_block_tag_csum_verify() over each block replayed), so this is on
 * the replay and commit paths; e2fsprogs' software crc is what made it
 * the biggest single cost of a replay.
 *
 * Locking rules: none; the tables are built by a constructor before main().
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "compiler.h"

#define CRC32C_POLY_LE	0x82F63B78U

static uint32_t crc32c_table[8][256];	/* slice-by-8 [const after the constructor] */
static bool crc32c_hw;			/* [const after the constructor] */

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc32c_x86(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t c = crc;

	while (len && ((uintptr_t)p & 7)) {
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
		len--;
	}
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

__attribute__((constructor)) static void crc32c_init(void)
{
	for (unsigned int i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (CRC32C_POLY_LE & (0U - (c & 1)));
		crc32c_table[0][i] = c;
	}
	for (unsigned int i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc32c_table[t][i] = (crc32c_table[t - 1][i] >> 8) ^
					     crc32c_table[0][crc32c_table[t - 1][i] & 0xff];
#if defined(__x86_64__)
	__builtin_cpu_init();
	crc32c_hw = __builtin_cpu_supports("sse4.2");
#endif
}

/* crc32c_sw - the table path (always available; the tests compare both). */
uint32_t crc32c_sw(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len && ((uintptr_t)p & 7)) {
		crc = crc32c_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
		len--;
	}
	while (len >= 8) {
		uint32_t lo = ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
			       (uint32_t)p[3] << 24) ^ crc;
		uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
			      (uint32_t)p[7] << 24;

		crc = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff] ^
		      crc32c_table[5][(lo >> 16) & 0xff] ^ crc32c_table[4][lo >> 24] ^
		      crc32c_table[3][hi & 0xff] ^ crc32c_table[2][(hi >> 8) & 0xff] ^
		      crc32c_table[1][(hi >> 16) & 0xff] ^ crc32c_table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = crc32c_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

bool crc32c_is_hw(void)
{
	return crc32c_hw;
}

uint32_t crc32c(uint32_t crc, const void *data, size_t len)
{
#if defined(__x86_64__)
	if (likely(crc32c_hw))
		return crc32c_x86(crc, data, len);
#endif
	return crc32c_sw(crc, data, len);
}

/*
 * ext2fs_crc32c_le - libext2fs's crc32c, replaced by the one above.
 * libext2fs 1.47.0 computes every metadata checksum it keeps (directory
 * blocks and dx tails, inode and block bitmaps, inodes, extent blocks,
 * group descriptors, the superblock) with a table-driven crc32c that it
 * calls through its own PLT (objdump -R libext2fs.so.2: a JUMP_SLOT for
 * ext2fs_crc32c_le), so this definition in the executable interposes on
 * all of them; the kernel's ext4_chksum() is the CPU's instruction too.
 * Same function, same results (test_crc32c compares both with
 * e2fsprogs' own): only the cost changes -- on a create-heavy mount the
 * table was about 15% of the daemon's CPU.  The executables export the
 * symbol (meson.build: export_dynamic) so the dynamic linker binds it.
 */
uint32_t ext2fs_crc32c_le(uint32_t crc, unsigned char const *p, size_t len);
__attribute__((visibility("default")))
uint32_t ext2fs_crc32c_le(uint32_t crc, unsigned char const *p, size_t len)
{
	return crc32c(crc, p, len);
}
