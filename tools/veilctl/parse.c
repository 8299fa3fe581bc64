// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * veilctl: parsers and formatters without I/O, so the unit tests can reach
 * them directly (tests/unit/test_veilctl.c).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "veilctl.h"

static const char *next_word(const char *p, char *out, size_t size)
{
	size_t n = 0;

	while (*p == ' ')
		p++;
	if (!*p)
		return NULL;
	while (*p && *p != ' ') {
		if (n + 1 >= size)
			return NULL;
		out[n++] = *p++;
	}
	out[n] = '\0';
	return p;
}

static bool parse_uint(const char *s, unsigned int *v)
{
	char *end;
	unsigned long x;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	x = strtoul(s, &end, 10);
	if (errno || *end || x > 0xffffffffUL)
		return false;
	*v = (unsigned int)x;
	return true;
}

static const char *const vc_states[] = {
	"unknown", "unencrypted", "waiting-for-key", "no-key", "encrypted",
};

/* <state> <key-id hex|-> <held bios> <sector size> <cipher|-> <reason...> */
int vc_parse_info(const char *params, struct vc_info *inf)
{
	char w[2 * VEIL_KEY_ID_MAX + 2];
	const char *p = params;
	size_t i;
	bool known = false;

	memset(inf, 0, sizeof(*inf));
	p = next_word(p, inf->state, sizeof(inf->state));
	if (!p)
		return -EINVAL;
	for (i = 0; i < sizeof(vc_states) / sizeof(vc_states[0]); i++)
		known |= !strcmp(inf->state, vc_states[i]);
	if (!known)
		return -EINVAL;
	p = next_word(p, w, sizeof(w));
	if (!p)
		return -EINVAL;
	if (strcmp(w, "-")) {
		for (i = 0; w[i]; i++)
			if (!isxdigit((unsigned char)w[i]))
				return -EINVAL;
		if (i % 2 || i > 2 * VEIL_KEY_ID_MAX)
			return -EINVAL;
		strcpy(inf->key_id, w);
	}
	p = next_word(p, w, sizeof(w));
	if (!p || !parse_uint(w, &inf->held))
		return -EINVAL;
	p = next_word(p, w, sizeof(w));
	if (!p || !parse_uint(w, &inf->sector_size))
		return -EINVAL;
	p = next_word(p, inf->cipher, sizeof(inf->cipher));
	if (!p)
		return -EINVAL;
	if (!strcmp(inf->cipher, "-"))
		inf->cipher[0] = '\0';
	while (*p == ' ')
		p++;
	if (!*p)
		return -EINVAL;	/* the reason field is never omitted */
	if (strcmp(p, "-")) {
		strncpy(inf->reason, p, sizeof(inf->reason) - 1);
		inf->reason[sizeof(inf->reason) - 1] = '\0';
	}
	return 0;
}

int vc_parse_table_dev(const char *params, char *dev, size_t size)
{
	return next_word(params, dev, size) ? 0 : -EINVAL;
}

long vc_parse_seconds(const char *s)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || v > 86400L * 365)
		return -1;
	if (!*end || !strcmp(end, "s"))
		return v;
	if (!strcmp(end, "m"))
		return v * 60;
	if (!strcmp(end, "h"))
		return v * 3600;
	return -1;
}

int vc_state_exit(const char *state)
{
	if (!strcmp(state, "encrypted") || !strcmp(state, "unencrypted"))
		return VC_OK;
	if (!strcmp(state, "waiting-for-key"))
		return VC_EWAITING;
	if (!strcmp(state, "no-key"))
		return VC_ENOKEY;
	return VC_EBADMD;	/* unknown: metadata unreadable */
}

void vc_fmt_size(uint64_t bytes, char *buf, size_t size)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (!u)
		snprintf(buf, size, "%" PRIu64 " B", bytes);
	else
		snprintf(buf, size, "%.1f %s", v, unit[u]);
}

bool vc_valid_name(const char *name)
{
	size_t n = strlen(name), i;

	if (!n || n > 127 || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) &&
		    !strchr("._+-", name[i]))
			return false;
	return true;
}

int vc_default_name(const char *dev, char *name, size_t size)
{
	const char *base = strrchr(dev, '/');
	int n;

	base = base ? base + 1 : dev;
	n = snprintf(name, size, VC_NAME_PREFIX "%s", base);
	if (n < 0 || (size_t)n >= size || !vc_valid_name(name))
		return -EINVAL;
	return 0;
}
