// SPDX-License-Identifier: GPL-2.0
/*
 * test_crc32c - src/lib/crc32c.c against e2fsprogs' ext2fs_crc32c_le() (the
 * function e2fsck checks the journal with): the hardware path and the table
 * path, on random data at every alignment 0..15 and lengths 0..4200, with
 * random seeds, plus the standard check value crc32c("123456789") =
 * 0xE3069283 (inverted form).  libext2fs's own function is reached with
 * dlsym(RTLD_NEXT): src/lib/crc32c.c defines ext2fs_crc32c_le itself, and
 * the test checks that, exported as jbdlab exports it, that definition is
 * the one the dynamic linker binds libext2fs's calls to.  Prints the seed;
 * JBDLAB_SEED replays.
 */
#include <dlfcn.h>
#include <string.h>
#include <ext2fs/ext2fs.h>

#include "../unit_check.h"

int main(void)
{
	uint64_t seed = test_seed("test_crc32c");
	static unsigned char buf[4200 + 16];
	unsigned long checked = 0;
	__u32 (*e2fs_crc)(__u32, unsigned char const *, size_t);

	/* libext2fs itself is linked in (one of its own functions) ... */
	CHECK(ext2fs_crc32_be(0, (unsigned char const *)"", 0) == 0);
	/* ... its PLT calls bind to the executable's definition ... */
	CHECK(dlsym(RTLD_DEFAULT, "ext2fs_crc32c_le") == (void *)ext2fs_crc32c_le);
	/* ... and e2fsprogs' own, the reference, is the next one */
	*(void **)&e2fs_crc = dlsym(RTLD_NEXT, "ext2fs_crc32c_le");
	CHECK(e2fs_crc != NULL && (void *)e2fs_crc != (void *)ext2fs_crc32c_le);

	printf("test_crc32c: CRC32 instruction %s\n", crc32c_is_hw() ? "used" : "not available");
	CHECK_EQ(~crc32c(~0U, "123456789", 9) & 0xffffffffU, 0xE3069283U);
	CHECK_EQ(~crc32c_sw(~0U, "123456789", 9) & 0xffffffffU, 0xE3069283U);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)prandom_u64();
	for (unsigned int align = 0; align < 16; align++) {
		for (size_t len = 0; len + align <= sizeof(buf); len += 1 + (len > 64) * 37) {
			uint32_t s = (uint32_t)prandom_u64();
			uint32_t ref = e2fs_crc(s, buf + align, len);

			CHECK_EQ(crc32c(s, buf + align, len), ref);
			CHECK_EQ(crc32c_sw(s, buf + align, len), ref);
			checked++;
		}
	}
	/* whole blocks, as the journal uses it */
	for (unsigned int bs = 1024; bs <= 4096; bs <<= 1)
		CHECK_EQ(crc32c(~0U, buf, bs), e2fs_crc(~0U, buf, bs));
	printf("test_crc32c: %lu buffers equal to e2fsprogs' ext2fs_crc32c_le, seed %llu\n", checked,
	       (unsigned long long)seed);
	return 0;
}
