// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl dump DEV [--json]: the metadata on an LU, attached or not (as
 * cryptsetup luksDump shows a LUKS header): uuid, label, key-id, key-hint,
 * cipher, layout, plaintext ranges, a re-encryption in progress, and each
 * copy's state and seqno.  There
 * are no key bytes on disk, so nothing secret can be shown.  The copies'
 * health (vc_copies_*) is shared with status.  Exit status
 * 0 when a valid copy exists, 5 without veil metadata, 6 when none of the
 * copies is valid (their states are still shown).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "md_io.h"
#include "veilctl.h"

static const char *const copy_names[2] = { "primary", "alternate" };

const char *vc_copy_state(const struct veil_md_copies *c, int i)
{
	switch (c->err[i]) {
	case 0:
		return c->pick >= 0 && c->md[i].seqno < c->md[c->pick].seqno ?
		       "stale" : "valid";
	case -ENODATA:
		return "absent";
	case -EOPNOTSUPP:
		return "newer-format";
	default:
		return "damaged";
	}
}

bool vc_copies_degraded(const struct veil_md_copies *c)
{
	return c->pick >= 0 &&
	       (c->err[0] || c->err[1] || c->md[0].seqno != c->md[1].seqno);
}

void vc_copies_json(struct vc_json *j, const struct veil_md_copies *c)
{
	int i;

	if (c->pick >= 0)
		vc_json_str(j, "current", copy_names[c->pick]);
	else
		vc_json_null(j, "current");
	vc_json_bool(j, "degraded", vc_copies_degraded(c));
	vc_json_begin_arr(j, "copies");
	for (i = 0; i < 2; i++) {
		vc_json_begin_obj(j, NULL);
		vc_json_str(j, "copy", copy_names[i]);
		vc_json_str(j, "state", vc_copy_state(c, i));
		if (c->err[i])
			vc_json_str(j, "problem", c->why[i] ? c->why[i] : "");
		else
			vc_json_u64(j, "seqno", c->md[i].seqno);
		vc_json_end_obj(j);
	}
	vc_json_end_arr(j);
}

void vc_copies_text(const char *dev, const struct veil_md_copies *c,
		    uint64_t lu_sectors)
{
	const struct veil_md *cur = c->pick >= 0 ? &c->md[c->pick] : NULL;
	int i;

	for (i = 0; i < 2; i++) {
		if (!c->err[i])
			printf("  %s copy:%s %s, seqno %" PRIu64 "%s\n",
			       copy_names[i], i ? "" : "  ", vc_copy_state(c, i),
			       (uint64_t)c->md[i].seqno,
			       c->pick == i ? " (in use)" : "");
		else
			printf("  %s copy:%s %s: %s\n", copy_names[i],
			       i ? "" : "  ", vc_copy_state(c, i),
			       c->why[i] ? c->why[i] : "no metadata");
	}
	if (!vc_copies_degraded(c))
		return;
	if (cur->lu_sectors < lu_sectors)
		printf("  repair:        the LU grew from %" PRIu64 " to %" PRIu64 " sectors: 'veilctl resize %s' writes both copies\n",
		       (uint64_t)cur->lu_sectors, lu_sectors, dev);
	else
		printf("  repair:        'veilctl resize %s' rewrites both copies from the %s\n",
		       dev, copy_names[c->pick]);
}

/*
 * Whether the journal on @dev holds the window @md names: 1 when its
 * CRC-32C matches, 0 when not, -errno when it cannot be read.
 */
static int journal_ok(const char *dev, const struct veil_md *md)
{
	size_t len = md->reenc_window * 512;
	int fd, r, flags = O_RDONLY | O_CLOEXEC;
	struct stat st;
	void *buf;
	ssize_t n;

	/* as vc_md_read(): no page cache in front of a block device */
	if (!stat(dev, &st) && S_ISBLK(st.st_mode))
		flags |= O_DIRECT;
	if (posix_memalign(&buf, 4096, len))
		return -ENOMEM;
	fd = open(dev, flags);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	n = pread(fd, buf, len, (off_t)VEIL_MD_JOURNAL_OFFSET * 512);
	if (n < 0)
		r = -errno;
	else if ((size_t)n != len)
		r = -EIO;
	else
		r = veil_md_crc32c(buf, len) == md->reenc_journal_csum;
	close(fd);
out:
	free(buf);
	return r;
}

void vc_reenc_json(struct vc_json *j, const char *dev, const struct veil_md *md)
{
	char hex[2 * VEIL_KEY_ID_MAX + 1];
	int ok;

	if (!md || !md->reencrypting) {
		vc_json_null(j, "reencrypt");
		return;
	}
	veil_hex_encode(md->old_key_id, md->old_key_id_len, hex);
	vc_json_begin_obj(j, "reencrypt");
	vc_json_u64(j, "boundary", md->reenc_boundary);
	vc_json_u64(j, "data_sectors", md->data_sectors);
	vc_json_u64(j, "window", md->reenc_window);
	vc_json_str(j, "old_key_id", hex);
	ok = md->reenc_window ? journal_ok(dev, md) : -ENOENT;
	if (ok >= 0)
		vc_json_bool(j, "journal_intact", ok);
	else
		vc_json_null(j, "journal_intact");
	vc_json_end_obj(j);
}

void vc_reenc_text(const char *dev, const struct veil_md *md, int width)
{
	char hex[2 * VEIL_KEY_ID_MAX + 1];
	unsigned int pct;
	int ok;

	if (!md || !md->reencrypting)
		return;
	veil_hex_encode(md->old_key_id, md->old_key_id_len, hex);
	/* floor: 100% only once every sector uses the new key */
	pct = (unsigned int)((long double)md->reenc_boundary * 100 /
			     md->data_sectors);
	printf("  %-*s in progress, %u%% (boundary %" PRIu64 " of %" PRIu64 " sectors), old key-id %s\n",
	       width, "re-encryption:", pct, (uint64_t)md->reenc_boundary,
	       (uint64_t)md->data_sectors, hex);
	if (!md->reenc_window)
		return;
	printf("  %-*s journaled window: %" PRIu64 " sectors at sector %" PRIu64 " of the data area ",
	       width, "", (uint64_t)md->reenc_window,
	       (uint64_t)md->reenc_boundary);
	ok = journal_ok(dev, md);
	if (ok > 0)
		printf("(recovered on attach; journal checksum good)\n");
	else if (!ok)
		printf("(journal checksum MISMATCH: attach refuses to recover it)\n");
	else
		printf("(recovered on attach; journal unreadable here: %s)\n",
		       strerror(-ok));
}

static void json_md(struct vc_json *j, const char *dev,
		    const struct veil_md *md)
{
	char hex[2 * VEIL_KEY_ID_MAX + 1], uuid[37];
	unsigned int i;

	vc_fmt_uuid(md->uuid, uuid);
	vc_json_str(j, "uuid", uuid);
	if (md->label[0])
		vc_json_str(j, "label", md->label);
	else
		vc_json_null(j, "label");
	vc_json_bool(j, "encrypted", md->key_id_len != 0);
	if (md->key_id_len) {
		veil_hex_encode(md->key_id, md->key_id_len, hex);
		vc_json_str(j, "key_id", hex);
	} else {
		vc_json_null(j, "key_id");
	}
	if (md->key_hint[0])
		vc_json_str(j, "key_hint", md->key_hint);
	else
		vc_json_null(j, "key_hint");
	vc_json_str(j, "cipher", md->cipher);
	vc_json_u64(j, "key_bytes", md->key_bytes);
	vc_json_u64(j, "sector_size", md->sector_size);
	vc_json_u64(j, "seqno", md->seqno);
	vc_json_u64(j, "lu_sectors", md->lu_sectors);
	vc_json_u64(j, "data_offset", md->data_offset);
	vc_json_u64(j, "data_sectors", md->data_sectors);
	vc_json_u64(j, "compat_flags", md->compat_flags);
	vc_json_u64(j, "incompat_flags", md->incompat_flags);
	vc_json_begin_arr(j, "plaintext");
	for (i = 0; i < md->n_plaintext; i++) {
		vc_json_begin_obj(j, NULL);
		vc_json_u64(j, "start", md->plaintext[i].start);
		vc_json_u64(j, "sectors", md->plaintext[i].len);
		vc_json_end_obj(j);
	}
	vc_json_end_arr(j);
	vc_reenc_json(j, dev, md);
}

static void text_md(const char *dev, const struct veil_md *md)
{
	char hex[2 * VEIL_KEY_ID_MAX + 1], uuid[37], size[32];
	unsigned int i;

	vc_fmt_uuid(md->uuid, uuid);
	printf("  uuid:          %s\n", uuid);
	printf("  label:         %s\n", md->label[0] ? md->label : "-");
	if (md->key_id_len) {
		veil_hex_encode(md->key_id, md->key_id_len, hex);
		printf("  key-id:        %s\n", hex);
		printf("  key-hint:      %s\n", md->key_hint[0] ? md->key_hint : "-");
		printf("  cipher:        %s, %u-byte key\n", md->cipher,
		       md->key_bytes);
	} else {
		printf("  key-id:        - (unencrypted)\n");
	}
	vc_reenc_text(dev, md, 14);
	printf("  sector size:   %u\n", md->sector_size);
	vc_fmt_size(md->data_sectors * 512, size, sizeof(size));
	printf("  data area:     %s: %" PRIu64 " sectors at sector %" PRIu64 "\n",
	       size, (uint64_t)md->data_sectors, (uint64_t)md->data_offset);
	printf("  LU size:       %" PRIu64 " sectors when written\n",
	       (uint64_t)md->lu_sectors);
	if (!md->n_plaintext)
		printf("  plaintext:     none\n");
	for (i = 0; i < md->n_plaintext; i++)
		printf("  plaintext:     %" PRIu64 ":%" PRIu64 " (sectors %" PRIu64 "-%" PRIu64 " of the data area)\n",
		       (uint64_t)md->plaintext[i].start,
		       (uint64_t)md->plaintext[i].len,
		       (uint64_t)md->plaintext[i].start,
		       (uint64_t)(md->plaintext[i].start +
				  md->plaintext[i].len - 1));
	printf("  flags:         compat 0x%x, incompat 0x%x\n",
	       md->compat_flags, md->incompat_flags);
	printf("  seqno:         %" PRIu64 "\n", (uint64_t)md->seqno);
}

int cmd_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct veil_md_copies *c;
	struct vc_json j;
	uint64_t sectors = 0;
	bool json = false;
	int opt, r;

	while ((opt = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (opt != 'j')
			return vc_usage("dump");
		json = true;
	}
	if (argc - optind != 1)
		return vc_usage("dump");
	c = calloc(1, sizeof(*c));
	if (!c)
		return VC_EFAIL;
	r = vc_md_read(argv[optind], c, &sectors);
	if (r) {
		r = vc_open_err(argv[optind], -r);
		goto out;
	}
	if (c->pick == -ENODATA) {
		r = vc_md_explain(argv[optind], c);
		goto out;
	}
	if (json) {
		vc_json_init(&j, stdout);
		vc_json_begin_obj(&j, NULL);
		vc_json_u64(&j, "version", 1);
		vc_json_str(&j, "device", argv[optind]);
		vc_json_u64(&j, "lu_sectors", sectors);
		vc_json_u64(&j, "format", VEIL_MD_VERSION);
		vc_json_begin_obj(&j, "metadata");
		if (c->pick >= 0)
			json_md(&j, argv[optind], &c->md[c->pick]);
		vc_json_end_obj(&j);
		vc_copies_json(&j, c);
		vc_json_end_obj(&j);
	} else {
		printf("%s: veil metadata, format %d, LU %" PRIu64 " sectors\n",
		       argv[optind], VEIL_MD_VERSION, sectors);
		if (c->pick >= 0)
			text_md(argv[optind], &c->md[c->pick]);
		vc_copies_text(argv[optind], c, sectors);
	}
	fflush(stdout);
	r = c->pick >= 0 ? VC_OK : vc_md_explain(argv[optind], c);
out:
	free(c);
	return r;
}
