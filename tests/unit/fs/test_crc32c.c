// SPDX-License-Identifier: GPL-2.0
/*
 * test_crc32c - src/lib/crc32c.c against e2fsprogs' ext2fs_crc32c_le() (the
 * function e2fsck checks the journal with): the hardware path and the table
 * path, on random data at every alignment 0..15 and lengths 0..4200, with
 * random seeds, plus the standard check value crc32c("123456789") =
 * 0xE3069283 (inverted form).  Prints the seed; JBDLAB_SEED replays.
 */
#include <string.h>
#include <ext2fs/ext2fs.h>

#include "../unit_check.h"

int main(void)
{
	uint64_t seed = test_seed("test_crc32c");
	static unsigned char buf[4200 + 16];
	unsigned long checked = 0;

	printf("test_crc32c: CRC32 instruction %s\n", crc32c_is_hw() ? "used" : "not available");
	CHECK_EQ(~crc32c(~0U, "123456789", 9) & 0xffffffffU, 0xE3069283U);
	CHECK_EQ(~crc32c_sw(~0U, "123456789", 9) & 0xffffffffU, 0xE3069283U);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)prandom_u64();
	for (unsigned int align = 0; align < 16; align++) {
		for (size_t len = 0; len + align <= sizeof(buf); len += 1 + (len > 64) * 37) {
			uint32_t s = (uint32_t)prandom_u64();
			uint32_t ref = ext2fs_crc32c_le(s, buf + align, len);

			CHECK_EQ(crc32c(s, buf + align, len), ref);
			CHECK_EQ(crc32c_sw(s, buf + align, len), ref);
			checked++;
		}
	}
	/* whole blocks, as the journal uses it */
	for (unsigned int bs = 1024; bs <= 4096; bs <<= 1)
		CHECK_EQ(crc32c(~0U, buf, bs), ext2fs_crc32c_le(~0U, buf, bs));
	printf("test_crc32c: %lu buffers equal to ext2fs_crc32c_le, seed %llu\n", checked,
	       (unsigned long long)seed);
	return 0;
}
