// SPDX-License-Identifier: GPL-2.0
/*
 * mount_opts.c - the command line of `jbdlab mount`.
 *
 * We parse everything ourselves instead of handing argv to libfuse: every
 * option is checked before anything is opened, so a typo exits 1 with a
 * message and leaves both the image and the mount point untouched, and
 * libfuse only ever sees the short list of options we build for it
 * (mount_main.c).  Options may stand before or after the two paths, the
 * way mount(8) helpers and fstests call us.
 *
 * Values inside -o follow the fuse_opt convention: a comma is escaped as
 * "\," (fsname= of an image whose path contains a comma).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/jfuse.h"
#include "strategy.h"

#define PFX "jbdlab mount: "

void jfuse_usage(FILE *f)
{
	fprintf(f,
"usage: jbdlab mount [-f] [-d] [-s] [-o OPT[,OPT...]] IMAGE MOUNTPOINT\n"
"\n"
"Mount the ext4 image IMAGE (a file made by mkfs.ext4, any block size) at\n"
"MOUNTPOINT through FUSE.  Without -f the command returns once the mount is\n"
"up and the filesystem keeps running in the background; unmount it with\n"
"umount(8) or fusermount3 -u.  The image is written home when the daemon\n"
"exits, which can be shortly after umount returns: wait for the jbdlab\n"
"process to exit before running e2fsck on the image.\n"
"\n"
"  -f              stay in the foreground\n"
"  -d              debug: trace every FUSE request (implies -f)\n"
"  -s              one request thread, even under the race lab\n"
"  -h, --help      this text\n"
"  -V, --version   print versions and exit\n"
"\n"
"Mount options (-o, comma separated; may be repeated):\n"
"  ro, rw                  read-only / read-write (default rw)\n"
"  allow_other             let other users use the mount (FUSE)\n"
"  default_permissions     the kernel checks permissions (FUSE); otherwise\n"
"                          the filesystem checks them against the caller\n"
"  fakeroot                treat every caller as root\n"
"  cache_size=N[KMGT]      page cache size (default 256M)\n"
"  folio_order=N           order of block-device folios, 0..9 (default 0 = 4 KiB)\n"
"  dirty_writeback_ms=N    writeback interval (default 5000)\n"
"  dma_delay_us=N          largest random delay before a write's DMA moment\n"
"  flush_delay_ms=N        a slow disk cache: every flush takes N ms more\n"
"  write_log=PATH          log every device write (dm-log-writes format)\n"
"  seed=N                  seed of every random choice below the fs\n"
"  stats=PATH              write cache/device statistics to PATH at unmount\n"
"  commit=N                journal commit interval in seconds (default 5)\n"
"  data=ordered|journal    journalling mode (default ordered)\n"
"  errors=continue|remount-ro|panic\n"
"                          behaviour on filesystem errors\n"
"  norecovery, noload      do not replay the journal\n"
"  entry_timeout=SECONDS   dentry cache timeout (default 86400: the kernel\n"
"                          learns every name change through its requests)\n"
"  attr_timeout=SECONDS    attribute cache timeout (default 86400; changes\n"
"                          the kernel cannot infer are notified)\n"
"  max_threads=N           libfuse's pool of up to N request threads (default:\n"
"                          one thread, fsync answered by a waiter thread;\n"
"                          the pool of 4 under the race lab)\n"
"  fsname=NAME             source shown in /proc/mounts (default the image path)\n"
"  subtype=NAME            type shown as fuse.NAME (default fuse.jbdlab)\n"
"  nosubtype               show the type as plain \"fuse\" (fstests' FSTYP=fuse)\n"
"  debug                   same as -d\n"
"  relatime                update atime on read/readdir only when it is not\n"
"                          newer than mtime/ctime or is a day old (default)\n"
"  strictatime             update atime on every read/readdir\n"
"  noatime                 never update atime (also passed to the kernel)\n"
"  nodiratime, diratime    no atime updates on directories / the default\n"
"  atime, norelatime, nostrictatime\n"
"                          back to the default (relatime)\n"
"  suid, nosuid, dev, nodev, exec, noexec, sync, async, dirsync\n"
"                          passed to the kernel (FUSE defaults: nosuid,nodev)\n"
"  lazytime, nolazytime, defaults, auto, noauto, user, nouser, users, nofail,\n"
"  _netdev, x-*, comment=  accepted from mount(8) and ignored\n"
"\n"
"The race lab under the mount (generic/750 in userspace; see README):\n"
"  migrate=RATE|max|sweep:MS\n"
"                          run the lab's detectors and its folio migrator on\n"
"                          the mount's page cache: RATE attempts/s on recently\n"
"                          looked-up blocks, max = back to back, sweep:MS =\n"
"                          every cached folio, then MS ms of pause (compact_memory;\n"
"                          generic/750 is sweep:5000); 0 = detectors only\n"
"  migrate_mode=async|sync-light|sync\n"
"                          the migration mode (default sync, as compact_memory)\n"
"  strategy=NAME           the fix strategy of the page cache (default\n"
"                          bh-migrate, v6.15+; jbdlab race --list)\n"
"  credits=max|depth       extent-index credit estimate (default max)\n"
"  revoke_lookup=alias|skip-self\n"
"                          jbd2 revoke-cancel lookup (default skip-self)\n"
"  lab_log=PATH            append detections and the summary to PATH (default\n"
"                          stderr with -f, else syslog); the summary is also\n"
"                          printed at unmount\n"
"  lab_yield=on|off        arm the lab's seeded yield points (default on)\n"
"  lab_fsck=on|off         e2fsck -fn the image after unmount (default on)\n");
}

static int remember(struct jfuse_opts *o, char *s)
{
	char **a = realloc(o->allocs, (o->nr_allocs + 1) * sizeof(*a));

	if (!a)
		return -ENOMEM;
	a[o->nr_allocs++] = s;
	o->allocs = a;
	return 0;
}

void jfuse_opts_free(struct jfuse_opts *o)
{
	for (size_t i = 0; i < o->nr_allocs; i++)
		free(o->allocs[i]);
	free(o->allocs);
	free(o->kernel_flags);
	o->allocs = NULL;
	o->nr_allocs = 0;
	o->kernel_flags = NULL;
}

/* Decimal, or hexadecimal with 0x; no sign, no trailing junk, <= max. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int base = 10;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		base = 16;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* N with an optional K/M/G/T suffix (binary units, an optional trailing B). */
static int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (shift && (*end == 'b' || *end == 'B'))
		end++;
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0 || v > 86400.0 * 365)
		return -EINVAL;
	*out = v;
	return 0;
}

static const char *const kernel_flag_opts[] = {
	/* what libfuse 3.14 turns into MS_* flags itself */
	"suid", "nosuid", "dev", "nodev", "exec", "noexec",
	"sync", "async", "dirsync", "atime", "noatime", NULL,
};

static const char *const ignored_opts[] = {
	/* mount(8) and fstab noise */
	"lazytime", "nolazytime",
	"defaults", "auto", "noauto", "user", "nouser", "users", "nofail",
	"_netdev", "loud", "silent", NULL,
};

/*
 * Access-time policies.  Under FUSE the kernel does not update atime: the
 * filesystem does (src/fs/attr.c), so these go to the fs.  They combine as
 * the kernel's mount flags do: noatime wins over the others, relatime is
 * the default, strictatime picks "always"; norelatime and nostrictatime
 * fall back to the default (util-linux only clears the flag).  "atime" and
 * "noatime" also go to the kernel (libfuse makes MS_* flags of them).
 * Returns false for a key that is not an atime option.
 */
static bool parse_atime_opt(struct jfuse_opts *o, const char *key)
{
	if (!strcmp(key, "noatime"))
		o->fs.atime = JFS_ATIME_NOATIME;
	else if (!strcmp(key, "atime") || !strcmp(key, "relatime") ||
		 !strcmp(key, "norelatime") || !strcmp(key, "nostrictatime"))
		o->fs.atime = JFS_ATIME_RELATIME;
	else if (!strcmp(key, "strictatime"))
		o->fs.atime = JFS_ATIME_STRICT;
	else if (!strcmp(key, "nodiratime"))
		o->fs.nodiratime = true;
	else if (!strcmp(key, "diratime"))
		o->fs.nodiratime = false;
	else
		return false;
	return true;
}

static bool in_list(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (!strcmp(*l, s))
			return true;
	return false;
}

static int bad_value(const char *key, const char *val, const char *why)
{
	fprintf(stderr, PFX "invalid value '%s' for %s%s%s\n", val, key,
		why ? ": " : "", why ? why : "");
	return -1;
}

static bool parse_on_off(const char *val, bool *on)
{
	if (!strcmp(val, "on") || !strcmp(val, "1"))
		*on = true;
	else if (!strcmp(val, "off") || !strcmp(val, "0"))
		*on = false;
	else
		return false;
	return true;
}

/*
 * The race lab's options (src/lab/live.c): the migrator of generic/750
 * (compact_memory every 5 s is migrate=sweep:5000; migrate=RATE targets
 * recently looked-up blocks, the lab's accelerator), the fix strategy and
 * the two switches of the lab's part 2.  0, or -1 after a message.
 */
static int parse_lab_opt(struct jfuse_opts *o, const char *key, const char *val)
{
	uint64_t n;
	bool on;

	if (!strcmp(key, "migrate")) {
		o->lab = true;
		o->migrate_arg = val;
		o->migrate.victim = VICTIM_TARGETED;
		o->migrate.rate = 0;
		o->migrate.sweep_ms = 0;
		if (!strcmp(val, "max")) {
			o->lab_migrate = true;	/* back to back */
		} else if (!strncmp(val, "sweep:", 6)) {
			if (parse_u64(val + 6, 3600 * 1000, &n))
				return bad_value(key, val, "expected sweep:MS, MS the pause between "
						 "sweeps in milliseconds (generic/750: sweep:5000)");
			o->lab_migrate = true;
			o->migrate.victim = VICTIM_SWEEP;
			o->migrate.sweep_ms = n;
		} else if (!parse_u64(val, 10 * 1000 * 1000, &n)) {
			o->lab_migrate = n > 0;	/* 0: the detectors without a migrator */
			o->migrate.rate = n;
		} else {
			return bad_value(key, val, "expected attempts per second (0 = detectors "
					 "only), max, or sweep:MS");
		}
	} else if (!strcmp(key, "migrate_mode")) {
		if (!strcmp(val, "async"))
			o->migrate.mode = MIGRATE_ASYNC;
		else if (!strcmp(val, "sync-light"))
			o->migrate.mode = MIGRATE_SYNC_LIGHT;
		else if (!strcmp(val, "sync"))
			o->migrate.mode = MIGRATE_SYNC;
		else
			return bad_value(key, val, "expected async, sync-light or sync");
	} else if (!strcmp(key, "strategy")) {
		const struct strategy *st = strategy_find(val);

		if (!st) {
			char names[512];
			size_t l = 0;

			names[0] = 0;
			for (const struct strategy *const *p = strategies; *p && l < sizeof(names); p++)
				l += (size_t)snprintf(names + l, sizeof(names) - l, "%s%s",
						      p == strategies ? "" : ", ", (*p)->name);
			fprintf(stderr, PFX "unknown strategy '%s' for strategy= (one of: %s)\n",
				val, names);
			return -1;
		}
		o->fs.strategy = st;
		o->strategy_arg = val;
	} else if (!strcmp(key, "credits")) {
		if (!strcmp(val, "max"))
			o->fs.credits = JFS_CREDITS_MAX;
		else if (!strcmp(val, "depth"))
			o->fs.credits = JFS_CREDITS_DEPTH;
		else
			return bad_value(key, val, "expected max or depth");
	} else if (!strcmp(key, "revoke_lookup")) {
		if (!strcmp(val, "alias"))
			o->fs.revoke_lookup_alias = true;
		else if (!strcmp(val, "skip-self"))
			o->fs.revoke_lookup_alias = false;
		else
			return bad_value(key, val, "expected alias or skip-self");
	} else if (!strcmp(key, "lab_log")) {
		if (!*val)
			return bad_value(key, val, "expected a path");
		o->lab_log = val;
	} else if (!strcmp(key, "lab_yield")) {
		if (!parse_on_off(val, &on))
			return bad_value(key, val, "expected on or off");
		o->lab_no_yield = !on;
	} else if (!strcmp(key, "lab_fsck")) {
		if (!parse_on_off(val, &on))
			return bad_value(key, val, "expected on or off");
		o->lab_no_fsck = !on;
	}
	return 0;
}

/* One key[=value] of a -o list; 0 or -1 after a message. */
static int parse_one(struct jfuse_opts *o, char *opt)
{
	char *val = strchr(opt, '=');
	const char *key = opt;
	uint64_t n;

	if (val)
		*val++ = '\0';

	/* flags without a value */
	if (!val) {
		if (!strcmp(key, "ro"))
			o->fs.ro = true;
		else if (!strcmp(key, "rw"))
			o->fs.ro = false;
		else if (!strcmp(key, "fakeroot"))
			o->fs.fakeroot = true;
		else if (!strcmp(key, "allow_other"))
			o->allow_other = true;
		else if (!strcmp(key, "default_permissions"))
			o->fs.default_permissions = true;
		else if (!strcmp(key, "nosubtype"))
			o->nosubtype = true;
		else if (!strcmp(key, "norecovery") || !strcmp(key, "noload"))
			o->fs.norecovery = true;
		else if (!strcmp(key, "debug"))
			o->debug = o->foreground = true;
		else if (parse_atime_opt(o, key)) {
			if (in_list(kernel_flag_opts, key) &&
			    fuse_opt_add_opt(&o->kernel_flags, key) == -1)
				return bad_value(key, "", "out of memory");
		} else if (in_list(kernel_flag_opts, key)) {
			if (fuse_opt_add_opt(&o->kernel_flags, key) == -1)
				return bad_value(key, "", "out of memory");
		} else if (in_list(ignored_opts, key) || !strncmp(key, "x-", 2))
			;
		else
			goto unknown;
		return 0;
	}

	if (!strcmp(key, "cache_size")) {
		if (parse_size(val, &n) || n > SIZE_MAX)
			return bad_value(key, val, "expected a size such as 64M");
		o->fs.cache_size = n;
	} else if (!strcmp(key, "folio_order")) {
		if (parse_u64(val, 9, &n))
			return bad_value(key, val, "expected 0..9");
		o->fs.folio_order = n;
	} else if (!strcmp(key, "dirty_writeback_ms")) {
		if (parse_u64(val, UINT_MAX, &n))
			return bad_value(key, val, "expected milliseconds");
		o->fs.dirty_writeback_ms = n;
	} else if (!strcmp(key, "dma_delay_us")) {
		if (parse_u64(val, 10 * 1000 * 1000, &n))
			return bad_value(key, val, "expected microseconds, at most 10000000");
		o->fs.dma_delay_us = n;
	} else if (!strcmp(key, "flush_delay_ms")) {
		if (parse_u64(val, 60 * 1000, &n))
			return bad_value(key, val, "expected milliseconds, at most 60000");
		o->fs.flush_delay_ms = n;
	} else if (!strcmp(key, "seed")) {
		if (parse_u64(val, UINT64_MAX, &n))
			return bad_value(key, val, "expected an unsigned integer");
		o->fs.seed = n;
		o->seed_given = true;
	} else if (!strcmp(key, "write_log")) {
		if (!*val)
			return bad_value(key, val, "expected a path");
		o->fs.write_log = val;
	} else if (!strcmp(key, "stats")) {
		if (!*val)
			return bad_value(key, val, "expected a path");
		o->stats_path = val;
	} else if (!strcmp(key, "commit")) {
		/* ext4 caps the interval at INT_MAX / HZ seconds */
		if (parse_u64(val, INT_MAX / 1000, &n))
			return bad_value(key, val, "expected seconds");
		o->fs.commit_interval = n;
	} else if (!strcmp(key, "data")) {
		if (!strcmp(val, "ordered"))
			o->fs.data_journal = false;
		else if (!strcmp(val, "journal"))
			o->fs.data_journal = true;
		else if (!strcmp(val, "writeback"))
			return bad_value(key, val, "data=writeback is not supported");
		else
			return bad_value(key, val, "expected ordered or journal");
	} else if (!strcmp(key, "errors")) {
		if (!strcmp(val, "continue"))
			o->fs.errors = JFS_ERRORS_CONTINUE;
		else if (!strcmp(val, "remount-ro"))
			o->fs.errors = JFS_ERRORS_RO;
		else if (!strcmp(val, "panic"))
			o->fs.errors = JFS_ERRORS_PANIC;
		else
			return bad_value(key, val, "expected continue, remount-ro or panic");
	} else if (!strcmp(key, "entry_timeout")) {
		if (parse_seconds(val, &o->entry_timeout))
			return bad_value(key, val, "expected seconds");
	} else if (!strcmp(key, "attr_timeout")) {
		if (parse_seconds(val, &o->attr_timeout))
			return bad_value(key, val, "expected seconds");
	} else if (!strcmp(key, "max_threads")) {
		if (parse_u64(val, 1024, &n) || n == 0)
			return bad_value(key, val, "expected 1..1024");
		o->max_threads = n;
	} else if (!strcmp(key, "fsname")) {
		if (!*val)
			return bad_value(key, val, "expected a name");
		o->fsname = val;
	} else if (!strcmp(key, "subtype")) {
		if (!*val || strpbrk(val, " ,/\\"))
			return bad_value(key, val, "expected a plain name");
		o->subtype = val;
	} else if (!strcmp(key, "migrate") || !strcmp(key, "migrate_mode") ||
		   !strcmp(key, "strategy") || !strcmp(key, "credits") ||
		   !strcmp(key, "revoke_lookup") || !strcmp(key, "lab_log") ||
		   !strcmp(key, "lab_yield") || !strcmp(key, "lab_fsck")) {
		return parse_lab_opt(o, key, val);
	} else if (!strcmp(key, "comment") || !strncmp(key, "x-", 2)) {
		;	/* mount(8) userspace-only options */
	} else {
		val[-1] = '=';
		goto unknown;
	}
	return 0;

unknown:
	fprintf(stderr, PFX "unknown mount option '%s' (see jbdlab mount --help)\n", opt);
	return -1;
}

/* Split a -o list on unescaped commas; "\," and "\\" are unescaped. */
static int parse_optlist(struct jfuse_opts *o, const char *list)
{
	char *copy = strdup(list);
	char *in, *out, *tok;
	int ret = 0;

	if (!copy || remember(o, copy)) {
		free(copy);
		fprintf(stderr, PFX "out of memory\n");
		return -1;
	}
	tok = out = in = copy;
	for (;;) {
		char c = *in++;

		if (c == '\\' && *in) {
			*out++ = *in++;
			continue;
		}
		if (c != ',' && c != '\0') {
			*out++ = c;
			continue;
		}
		*out++ = '\0';
		if (*tok && parse_one(o, tok))
			ret = -1;
		if (c == '\0' || ret)
			break;
		tok = out;
	}
	return ret;
}

int jfuse_parse_args(int argc, char **argv, struct jfuse_opts *o)
{
	bool end_of_opts = false;
	const char *pos[2];
	int npos = 0;

	memset(o, 0, sizeof(*o));
	/*
	 * A local fs has one writer, the kernel above us: every name and
	 * attribute change is a request it sent, and it invalidates its own
	 * caches after each (fuse_dir_changed, fuse_invalidate_attr, the
	 * reply's attributes); the few side effects it cannot infer go to
	 * the notifier (notify.c).  So the caches can live as long as the
	 * kernel keeps them, as a kernel ext4's dcache and inodes do; a day
	 * bounds them.  libfuse's 1 s default cost a LOOKUP and a GETATTR
	 * per name and second (bench/bigdir.sh: the stat phase 2.9x -> 1.0x
	 * the kernel's at 30,000 files, 1.2x at 100,000).
	 */
	o->entry_timeout = JFUSE_DEF_TIMEOUT;
	o->attr_timeout = JFUSE_DEF_TIMEOUT;
	o->fs.errors = JFS_ERRORS_DEFAULT;
	o->migrate.mode = MIGRATE_SYNC;		/* compact_memory's */
	o->migrate.victim = VICTIM_TARGETED;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (end_of_opts || a[0] != '-' || !a[1]) {
			if (npos == 2) {
				fprintf(stderr, PFX "unexpected argument '%s'\n", a);
				return -1;
			}
			pos[npos++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			end_of_opts = true;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			o->show_help = true;
		} else if (!strcmp(a, "--version") || !strcmp(a, "-V")) {
			o->show_version = true;
		} else if (!strcmp(a, "-o")) {
			if (++i == argc) {
				fprintf(stderr, PFX "-o needs an argument\n");
				return -1;
			}
			if (parse_optlist(o, argv[i]))
				return -1;
		} else if (!strncmp(a, "-o", 2)) {
			if (parse_optlist(o, a + 2))
				return -1;
		} else {
			/* clusters of the plain flags: -fd, -fs */
			for (const char *p = a + 1; *p; p++) {
				switch (*p) {
				case 'f':
					o->foreground = true;
					break;
				case 'd':
					o->debug = o->foreground = true;
					break;
				case 's':
					o->single_thread = true;
					break;
				default:
					fprintf(stderr, PFX "unknown option '%s' (see jbdlab mount --help)\n", a);
					return -1;
				}
			}
		}
	}
	if (o->show_help || o->show_version)
		return 0;
	if (npos < 2) {
		fprintf(stderr, PFX "%s\n", npos ? "missing MOUNTPOINT" : "missing IMAGE and MOUNTPOINT");
		fprintf(stderr, "usage: jbdlab mount [-f] [-d] [-s] [-o OPT[,OPT...]] IMAGE MOUNTPOINT\n");
		return -1;
	}
	if (o->nosubtype && o->subtype) {
		fprintf(stderr, PFX "subtype= and nosubtype contradict each other\n");
		return -1;
	}
	if (!o->lab && (o->lab_log || o->lab_no_yield || o->lab_no_fsck)) {
		fprintf(stderr, PFX "lab_log=, lab_yield= and lab_fsck= need migrate= (the race lab)\n");
		return -1;
	}
	o->image = pos[0];
	o->mountpoint = pos[1];
	return 0;
}
