// SPDX-License-Identifier: GPL-2.0
/*
 * veil-mdtool: write, show and deliberately damage eVLU metadata.
 *
 * A test and debugging tool: the test suites use it to prepare devices
 * (inside the QEMU guest as well as on the host) and to build malformed
 * headers.  All writes of valid metadata go through veil_md_write_dev().
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "md_io.h"
#include "util.h"

enum {
	EX_OK = 0,
	EX_USAGE = 1,
	EX_IO = 2,
	EX_INVALID = 3,
	EX_NOMD = 4,
	EX_NEWER = 5,
	EX_CRASHED = 75,
};

static const char usage_text[] =
"usage: veil-mdtool [--crash-after N [--torn BYTES]] COMMAND DEV [ARGS]\n"
"\n"
"DEV is an image file (its size is the LU size) or a block device.\n"
"\n"
"  format DEV [--key-id HEX] [--cipher SPEC] [--key-bytes N]\n"
"             [--sector-size 512|4096] [--plaintext START:LEN]...\n"
"             [--label TEXT] [--key-hint UID] [--force]\n"
"        write new metadata (both copies) with the standard layout;\n"
"        without --key-id the LU is unencrypted.  --force overwrites\n"
"        metadata written by a newer veil.  Plaintext ranges are in\n"
"        512-byte sectors of the data area, sorted, at most 64.\n"
"        Defaults: --cipher aes-xts-plain64 --key-bytes 64 --sector-size 512\n"
"  show DEV\n"
"        print both copies, which one is selected, and its key-id in hex\n"
"  set-key-id DEV HEX|none\n"
"        rewrite the selected copy's metadata with another key-id\n"
"  set-reencrypt DEV NEW-HEX OLD-HEX|none [BOUNDARY [WINDOW [CSUM]]]\n"
"        key-id NEW-HEX for data-area sectors below BOUNDARY, OLD-HEX\n"
"        above it (a re-encryption in progress; \"none\": finished);\n"
"        WINDOW sectors from BOUNDARY journaled with CRC-32C CSUM (the\n"
"        journal itself is not written)\n"
"  corrupt DEV primary|alternate KIND\n"
"        damage one copy in place.  KIND: magic, version, incompat,\n"
"        props-len (5000), csum, torn (bytes 256.. of the block set to\n"
"        0xff, checksum stale), zero (whole block).  For magic, version\n"
"        and incompat the checksum is recomputed, so the parser rather\n"
"        than the checksum test rejects the copy.\n"
"\n"
"  --crash-after N   (format, set-key-id) stop after N block writes, as a\n"
"                    power loss would; env VEIL_MD_CRASH_AFTER does the same\n"
"  --torn BYTES      with --crash-after: the interrupted write lands its\n"
"                    first BYTES bytes only\n"
"\n"
"exit status: 0 ok; 1 usage; 2 device I/O error; 3 invalid metadata\n"
"requested; 4 no valid metadata on DEV; 5 metadata written by a newer\n"
"veil; 75 --crash-after fired\n";

struct opts {
	const char *key_id;
	const char *cipher;
	const char *label;
	const char *key_hint;
	u32 key_bytes;
	u32 sector_size;
	u32 n_plaintext;
	struct veil_md_extent plaintext[VEIL_MD_PLAINTEXT_MAX];
	bool too_many_plaintext;
	bool force;
};

static int usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "veil-mdtool: %s\n", msg);
	fputs(usage_text, stderr);
	return EX_USAGE;
}

static bool parse_u64(const char *s, u64 *v)
{
	char *end;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return !errno && !*end;
}

/* Hex string to bytes; 1..VEIL_KEY_ID_MAX bytes. */
static int parse_hex(const char *s, u8 *out, u32 *len)
{
	int n = veil_hex_decode(s, out, VEIL_KEY_ID_MAX);

	if (n < 0)
		return n;
	*len = n;
	return 0;
}

static void print_hex(FILE *f, const u8 *p, u32 len)
{
	u32 i;

	for (i = 0; i < len; i++)
		fprintf(f, "%02x", p[i]);
}

static const char *copy_name(int copy)
{
	return copy == VEIL_MD_COPY_PRIMARY ? "primary" : "alternate";
}

static int open_dev(const char *path, bool rw, u64 *lu_sectors)
{
	struct stat st;
	int flags = rw ? O_RDWR : O_RDONLY;
	int fd, err;

	if (stat(path, &st)) {
		fprintf(stderr, "veil-mdtool: %s: %s\n", path, strerror(errno));
		return -1;
	}
	/* Bypass the page cache of a block device: dm-veil reads with bios. */
	if (S_ISBLK(st.st_mode))
		flags |= O_DIRECT;
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "veil-mdtool: %s: %s\n", path, strerror(errno));
		return -1;
	}
	err = veil_md_dev_sectors(fd, lu_sectors);
	if (err) {
		fprintf(stderr, "veil-mdtool: %s: cannot get size: %s\n", path,
			strerror(-err));
		close(fd);
		return -1;
	}
	return fd;
}

static int exit_for(int err)
{
	switch (err) {
	case 0:
		return EX_OK;
	case -ECANCELED:
		return EX_CRASHED;
	case -EOPNOTSUPP:
		return EX_NEWER;
	case -EINVAL:
	case -ENOSPC:
	case -EOVERFLOW:
		return EX_INVALID;
	default:
		return EX_IO;
	}
}

static int write_md(int fd, const char *dev, u64 lu_sectors,
		    const struct veil_md *md, unsigned int flags)
{
	const char *why = NULL;
	int err = veil_md_write_dev_why(fd, lu_sectors, md, flags, &why);

	if (err)
		fprintf(stderr, "veil-mdtool: %s: %s (%s)\n", dev,
			why ? why : "metadata write failed", strerror(-err));
	return exit_for(err);
}

/* ------------------------------------------------------------ format --- */

static int cmd_format(const char *dev, const struct opts *o)
{
	struct veil_md *md;
	const char *why;
	u64 lu_sectors;
	int fd, ret, err;

	if (o->too_many_plaintext)
		return usage("more than 64 --plaintext ranges");
	md = calloc(1, sizeof(*md));
	if (!md)
		return EX_IO;
	fd = open_dev(dev, true, &lu_sectors);
	if (fd < 0) {
		free(md);
		return EX_IO;
	}
	err = veil_md_init(md, lu_sectors, o->sector_size, &why);
	if (err) {
		fprintf(stderr, "veil-mdtool: %s: %s\n", dev, why);
		ret = EX_INVALID;
		goto out;
	}
	if (getrandom(md->uuid, sizeof(md->uuid), 0) != sizeof(md->uuid)) {
		fprintf(stderr, "veil-mdtool: getrandom: %s\n", strerror(errno));
		ret = EX_IO;
		goto out;
	}
	if (strlen(o->cipher) >= VEIL_CIPHER_MAX) {
		fprintf(stderr, "veil-mdtool: cipher longer than %d bytes\n",
			VEIL_CIPHER_MAX - 1);
		ret = EX_INVALID;
		goto out;
	}
	strcpy(md->cipher, o->cipher);
	md->key_bytes = o->key_bytes;
	if (o->key_id &&
	    parse_hex(o->key_id, md->key_id, &md->key_id_len)) {
		fprintf(stderr, "veil-mdtool: --key-id: want 1..%d bytes in hex\n",
			VEIL_KEY_ID_MAX);
		ret = EX_INVALID;
		goto out;
	}
	if (o->label) {
		if (strlen(o->label) > VEIL_MD_LABEL_MAX) {
			fprintf(stderr, "veil-mdtool: label longer than %d bytes\n",
				VEIL_MD_LABEL_MAX);
			ret = EX_INVALID;
			goto out;
		}
		strcpy(md->label, o->label);
	}
	if (o->key_hint) {
		if (strlen(o->key_hint) >= VEIL_KEY_HINT_MAX) {
			fprintf(stderr, "veil-mdtool: key-hint longer than %d bytes\n",
				VEIL_KEY_HINT_MAX - 1);
			ret = EX_INVALID;
			goto out;
		}
		strcpy(md->key_hint, o->key_hint);
	}
	md->n_plaintext = o->n_plaintext;
	memcpy(md->plaintext, o->plaintext, sizeof(md->plaintext));
	ret = write_md(fd, dev, lu_sectors, md,
		       o->force ? VEIL_MD_WRITE_FORCE : 0);
	if (!ret)
		printf("%s: formatted: %llu data sectors at sector %llu\n",
		       dev, md->data_sectors, md->data_offset);
out:
	close(fd);
	free(md);
	return ret;
}

/* -------------------------------------------------------------- show --- */

static void show_copy(const struct veil_md_copies *c, int i)
{
	const struct veil_md *md = &c->md[i];
	u32 k;

	if (c->err[i]) {
		printf("%s: invalid: %s\n", copy_name(i),
		       c->why[i] ? c->why[i] : strerror(-c->err[i]));
		return;
	}
	printf("%s: valid\n", copy_name(i));
	printf("  seqno: %llu\n", md->seqno);
	printf("  lu_sectors: %llu\n", md->lu_sectors);
	printf("  data_offset: %llu\n", md->data_offset);
	printf("  data_sectors: %llu\n", md->data_sectors);
	printf("  sector_size: %u\n", md->sector_size);
	printf("  cipher: %s\n", md->cipher[0] ? md->cipher : "(none)");
	printf("  key_bytes: %u\n", md->key_bytes);
	printf("  uuid: ");
	print_hex(stdout, md->uuid, sizeof(md->uuid));
	printf("\n  incompat_flags: 0x%x\n  compat_flags: 0x%x\n",
	       md->incompat_flags, md->compat_flags);
	printf("  key-id: ");
	if (md->key_id_len)
		print_hex(stdout, md->key_id, md->key_id_len);
	else
		printf("none");
	printf("\n");
	for (k = 0; k < md->n_plaintext; k++)
		printf("  plaintext: %llu:%llu\n",
		       md->plaintext[k].start, md->plaintext[k].len);
	if (md->label[0])
		printf("  label: %s\n", md->label);
	if (md->key_hint[0])
		printf("  key_hint: %s\n", md->key_hint);
	if (md->extra_len)
		printf("  unknown optional properties: %u bytes (kept)\n",
		       md->extra_len);
}

static int cmd_show(const char *dev)
{
	struct veil_md_copies *c;
	u64 lu_sectors;
	int fd, err, ret = EX_OK;

	c = malloc(sizeof(*c));
	if (!c)
		return EX_IO;
	fd = open_dev(dev, false, &lu_sectors);
	if (fd < 0) {
		free(c);
		return EX_IO;
	}
	err = veil_md_read_copies(fd, lu_sectors, c);
	close(fd);
	if (err) {
		fprintf(stderr, "veil-mdtool: %s: read failed: %s\n", dev,
			strerror(-err));
		free(c);
		return EX_IO;
	}
	printf("device: %s\nlu_sectors: %llu\n", dev, lu_sectors);
	show_copy(c, VEIL_MD_COPY_PRIMARY);
	show_copy(c, VEIL_MD_COPY_ALTERNATE);
	switch (c->pick) {
	case VEIL_MD_COPY_PRIMARY:
	case VEIL_MD_COPY_ALTERNATE:
		printf("selected: %s\nkey-id: ", copy_name(c->pick));
		if (c->md[c->pick].key_id_len)
			print_hex(stdout, c->md[c->pick].key_id,
				  c->md[c->pick].key_id_len);
		else
			printf("none");
		printf("\n");
		break;
	case -ENODATA:
		printf("selected: none (no veil metadata)\n");
		ret = EX_NOMD;
		break;
	case -EOPNOTSUPP:
		printf("selected: none (metadata of a newer veil)\n");
		ret = EX_NEWER;
		break;
	default:
		printf("selected: none (no valid copy)\n");
		ret = EX_NOMD;
		break;
	}
	free(c);
	return ret;
}

/* -------------------------------------------------------- set-key-id --- */

/*
 * Open @dev read-write and read its copies into *@cp (allocated).  0, or
 * an exit status (said why) with nothing left open.
 */
static int load_selected(const char *dev, int *fd, u64 *lu_sectors,
			 struct veil_md_copies **cp)
{
	struct veil_md_copies *c = malloc(sizeof(*c));
	int err, ret;

	if (!c)
		return EX_IO;
	*fd = open_dev(dev, true, lu_sectors);
	if (*fd < 0) {
		free(c);
		return EX_IO;
	}
	err = veil_md_read_copies(*fd, *lu_sectors, c);
	if (err) {
		fprintf(stderr, "veil-mdtool: %s: read failed: %s\n", dev,
			strerror(-err));
		ret = EX_IO;
	} else if (c->pick < 0) {
		fprintf(stderr, "veil-mdtool: %s: %s\n", dev,
			c->pick == -EOPNOTSUPP ?
			"metadata of a newer veil; not changing it" :
			"no valid metadata to update (format it first)");
		ret = c->pick == -EOPNOTSUPP ? EX_NEWER : EX_NOMD;
	} else {
		*cp = c;
		return 0;
	}
	close(*fd);
	free(c);
	return ret;
}

static int cmd_set_key_id(const char *dev, const char *hex)
{
	struct veil_md_copies *c;
	struct veil_md *md;
	u64 lu_sectors;
	int fd, ret;

	ret = load_selected(dev, &fd, &lu_sectors, &c);
	if (ret)
		return ret;
	md = &c->md[c->pick];
	md->key_hint[0] = '\0';	/* it named the old key */
	if (!strcmp(hex, "none")) {
		md->key_id_len = 0;
	} else if (parse_hex(hex, md->key_id, &md->key_id_len)) {
		fprintf(stderr, "veil-mdtool: key-id: want 1..%d bytes in hex or \"none\"\n",
			VEIL_KEY_ID_MAX);
		ret = EX_INVALID;
		goto out;
	}
	ret = write_md(fd, dev, lu_sectors, md, 0);
out:
	close(fd);
	free(c);
	return ret;
}

/* ---------------------------------------------------- set-reencrypt --- */

/*
 * Put the selected copy in (or, with OLD "none", out of) the state of a
 * re-encryption: key-id NEW below BOUNDARY, OLD above it, WINDOW sectors
 * journaled with checksum CSUM.  The journal itself is not written.
 */
static int cmd_set_reencrypt(const char *dev, char **args, int n)
{
	struct veil_md_copies *c;
	struct veil_md *md;
	u64 lu_sectors;
	char *end;
	int fd, ret;

	ret = load_selected(dev, &fd, &lu_sectors, &c);
	if (ret)
		return ret;
	md = &c->md[c->pick];
	md->key_hint[0] = '\0';
	ret = EX_INVALID;
	if (parse_hex(args[0], md->key_id, &md->key_id_len))
		goto bad;
	if (!strcmp(args[1], "none")) {
		md->reencrypting = false;
		md->incompat_flags &= ~VEIL_MD_INCOMPAT_REENCRYPT;
		md->reenc_boundary = md->reenc_window = 0;
		md->reenc_journal_csum = 0;
		md->old_key_id_len = 0;
	} else {
		if (parse_hex(args[1], md->old_key_id, &md->old_key_id_len) ||
		    n < 3)
			goto bad;
		md->reencrypting = true;
		md->incompat_flags |= VEIL_MD_INCOMPAT_REENCRYPT;
		md->reenc_boundary = strtoull(args[2], &end, 10);
		if (*end)
			goto bad;
		md->reenc_window = n > 3 ? strtoull(args[3], &end, 10) : 0;
		if (*end)
			goto bad;
		md->reenc_journal_csum = n > 4 ? strtoul(args[4], &end, 0) : 0;
		if (*end)
			goto bad;
	}
	ret = write_md(fd, dev, lu_sectors, md, 0);
	goto out;
bad:
	fprintf(stderr, "veil-mdtool: set-reencrypt: want NEW-HEX OLD-HEX|none [BOUNDARY [WINDOW [CSUM]]]\n");
out:
	close(fd);
	free(c);
	return ret;
}

/* ----------------------------------------------------------- corrupt --- */

static int cmd_corrupt(const char *dev, const char *which, const char *kind)
{
	struct veil_md_header *h;
	u64 lu_sectors;
	off_t off;
	void *blk;
	bool fix_csum = true;
	int fd, copy, ret = EX_OK;
	u32 props_len;

	if (!strcmp(which, "primary"))
		copy = VEIL_MD_COPY_PRIMARY;
	else if (!strcmp(which, "alternate"))
		copy = VEIL_MD_COPY_ALTERNATE;
	else
		return usage("corrupt: copy must be primary or alternate");
	if (posix_memalign(&blk, 4096, VEIL_MD_BLOCK_SIZE))
		return EX_IO;
	h = blk;
	fd = open_dev(dev, true, &lu_sectors);
	if (fd < 0) {
		free(blk);
		return EX_IO;
	}
	if (lu_sectors < 2 * (u64)VEIL_MD_AREA_SECTORS) {
		fprintf(stderr, "veil-mdtool: %s: too small for metadata\n", dev);
		ret = EX_INVALID;
		goto out;
	}
	off = copy == VEIL_MD_COPY_PRIMARY ? 0 :
	      (off_t)veil_md_alt_offset(lu_sectors) * 512;
	if (pread(fd, blk, VEIL_MD_BLOCK_SIZE, off) != VEIL_MD_BLOCK_SIZE) {
		fprintf(stderr, "veil-mdtool: %s: read failed\n", dev);
		ret = EX_IO;
		goto out;
	}
	if (!strcmp(kind, "magic")) {
		h->magic[0] ^= 0x20;
	} else if (!strcmp(kind, "version")) {
		h->version = cpu_to_le16(VEIL_MD_VERSION + 1);
	} else if (!strcmp(kind, "incompat")) {
		h->incompat_flags |= cpu_to_le32(0x80000000u);
	} else if (!strcmp(kind, "props-len")) {
		h->props_len = cpu_to_le32(5000);
		fix_csum = false;	/* cannot: props_len is past the block */
	} else if (!strcmp(kind, "csum")) {
		h->csum ^= cpu_to_le32(0x1);
		fix_csum = false;
	} else if (!strcmp(kind, "torn")) {
		memset((u8 *)blk + 256, 0xff, VEIL_MD_BLOCK_SIZE - 256);
		fix_csum = false;
	} else if (!strcmp(kind, "zero")) {
		memset(blk, 0, VEIL_MD_BLOCK_SIZE);
		fix_csum = false;
	} else {
		ret = usage("corrupt: unknown KIND");
		goto out;
	}
	props_len = le32_to_cpu(h->props_len);
	if (fix_csum && props_len <= VEIL_MD_PROPS_MAX)
		h->csum = cpu_to_le32(veil_md_csum(blk, props_len));
	if (pwrite(fd, blk, VEIL_MD_BLOCK_SIZE, off) != VEIL_MD_BLOCK_SIZE ||
	    fdatasync(fd)) {
		fprintf(stderr, "veil-mdtool: %s: write failed\n", dev);
		ret = EX_IO;
		goto out;
	}
	printf("%s: %s copy corrupted (%s)\n", dev, which, kind);
out:
	close(fd);
	free(blk);
	return ret;
}

/* -------------------------------------------------------------- main --- */

enum {
	OPT_KEY_ID = 256, OPT_CIPHER, OPT_KEY_BYTES, OPT_SECTOR_SIZE,
	OPT_PLAINTEXT, OPT_LABEL,
	OPT_KEY_HINT, OPT_CRASH_AFTER, OPT_TORN, OPT_FORCE,
};

static const struct option long_opts[] = {
	{ "key-id",	 required_argument, NULL, OPT_KEY_ID },
	{ "cipher",	 required_argument, NULL, OPT_CIPHER },
	{ "key-bytes",	 required_argument, NULL, OPT_KEY_BYTES },
	{ "sector-size", required_argument, NULL, OPT_SECTOR_SIZE },
	{ "plaintext",	 required_argument, NULL, OPT_PLAINTEXT },
	{ "label",	 required_argument, NULL, OPT_LABEL },
	{ "key-hint",	 required_argument, NULL, OPT_KEY_HINT },
	{ "crash-after", required_argument, NULL, OPT_CRASH_AFTER },
	{ "torn",	 required_argument, NULL, OPT_TORN },
	{ "force",	 no_argument,	    NULL, OPT_FORCE },
	{ "help",	 no_argument,	    NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int set_crash_after(const char *s)
{
	u64 v;

	if (!parse_u64(s, &v) || v > 1000)
		return usage("--crash-after: want a number of block writes");
	veil_md_crash_after = (int)v;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.cipher = "aes-xts-plain64", .key_bytes = 64,
		.sector_size = 512,
	};
	const char *env = getenv("VEIL_MD_CRASH_AFTER");
	const char *cmd, *dev;
	char *colon;
	u64 a, b;
	int c;

	if (env && *env && set_crash_after(env))
		return EX_USAGE;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_KEY_ID:
			o.key_id = optarg;
			break;
		case OPT_CIPHER:
			o.cipher = optarg;
			break;
		case OPT_KEY_BYTES:
			if (!parse_u64(optarg, &a) || a > VEIL_KEY_MAX)
				return usage("--key-bytes: want 0..128");
			o.key_bytes = a;
			break;
		case OPT_SECTOR_SIZE:
			if (!parse_u64(optarg, &a) || (a != 512 && a != 4096))
				return usage("--sector-size: want 512 or 4096");
			o.sector_size = a;
			break;
		case OPT_PLAINTEXT:
			colon = strchr(optarg, ':');
			if (!colon)
				return usage("--plaintext: want START:LEN");
			*colon = '\0';
			if (!parse_u64(optarg, &a) || !parse_u64(colon + 1, &b))
				return usage("--plaintext: want START:LEN");
			if (o.n_plaintext == VEIL_MD_PLAINTEXT_MAX) {
				o.too_many_plaintext = true;
				break;
			}
			o.plaintext[o.n_plaintext].start = a;
			o.plaintext[o.n_plaintext].len = b;
			o.n_plaintext++;
			break;
		case OPT_LABEL:
			o.label = optarg;
			break;
		case OPT_KEY_HINT:
			o.key_hint = optarg;
			break;
		case OPT_FORCE:
			o.force = true;
			break;
		case OPT_CRASH_AFTER:
			if (set_crash_after(optarg))
				return EX_USAGE;
			break;
		case OPT_TORN:
			if (!parse_u64(optarg, &a) || !a ||
			    a > VEIL_MD_BLOCK_SIZE)
				return usage("--torn: want 1..4096 bytes");
			veil_md_torn_bytes = a;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EX_OK;
		default:
			return usage(NULL);
		}
	}
	if (argc - optind < 2)
		return usage("need a command and a device");
	cmd = argv[optind];
	dev = argv[optind + 1];
	argc -= optind + 2;
	argv += optind + 2;

	if (!strcmp(cmd, "format") && argc == 0)
		return cmd_format(dev, &o);
	if (!strcmp(cmd, "show") && argc == 0)
		return cmd_show(dev);
	if (!strcmp(cmd, "set-key-id") && argc == 1)
		return cmd_set_key_id(dev, argv[0]);
	if (!strcmp(cmd, "set-reencrypt") && argc >= 2 && argc <= 5)
		return cmd_set_reencrypt(dev, argv, argc);
	if (!strcmp(cmd, "corrupt") && argc == 2)
		return cmd_corrupt(dev, argv[0], argv[1]);
	return usage("unknown command or wrong number of arguments");
}
