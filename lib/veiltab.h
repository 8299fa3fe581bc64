/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /etc/veil/veiltab: which eVLUs a host attaches, under which mapping
 * name, with which options; and what happens to eVLUs it does not list.
 * Read with the one configuration tokenizer (conf.h), so the comment and
 * blank rules are those of every veil configuration file:
 *
 *   auto-attach = all | listed | none     # unlisted eVLUs (default all)
 *   names = metadata | kernel             # default names (default metadata)
 *   NAME = LU [OPTION[,OPTION]...]
 *
 * LU is UUID=<the eVLU's uuid>, PARTUUID=<partition uuid>, LABEL=<the
 * eVLU's label> (\xNN escapes allowed, as in /dev/disk/by-label) or an
 * absolute path under /dev/ (a /dev/disk/by-id/ link).  OPTIONs: discard,
 * key-timeout=SECONDS, ro, noauto, nofail, x-initrd.attach, defaults.
 * See veiltab(5).
 *
 * Parsing goes on past a bad line: every bad line gets its own
 * "FILE:LINE: what is wrong" and is left out of the table, so one typo
 * does not stop the other LUs from attaching.  A bad auto-attach line
 * leaves the policy at "listed" (attach only what the administrator named).
 */
#ifndef VEIL_VEILTAB_H
#define VEIL_VEILTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VEILTAB_FILE		"/etc/veil/veiltab"
#define VEILTAB_ENV		"VEIL_VEILTAB"	/* overrides VEILTAB_FILE */
#define VEILTAB_NAME_MAX	127		/* a device-mapper name */
#define VEILTAB_LU_MAX		4095		/* LABEL= (decoded) or a path */
#define VEILTAB_MAX_ENTRIES	4096

enum veiltab_auto { VEILTAB_AUTO_ALL, VEILTAB_AUTO_LISTED, VEILTAB_AUTO_NONE };
enum veiltab_names { VEILTAB_NAMES_METADATA, VEILTAB_NAMES_KERNEL };
enum veiltab_kind { VEILTAB_UUID, VEILTAB_PARTUUID, VEILTAB_LABEL, VEILTAB_PATH };

#define VEILTAB_DISCARD		(1u << 0)
#define VEILTAB_RO		(1u << 1)
#define VEILTAB_NOAUTO		(1u << 2)
#define VEILTAB_NOFAIL		(1u << 3)
#define VEILTAB_INITRD		(1u << 4)	/* x-initrd.attach */

struct veiltab_entry {
	char name[VEILTAB_NAME_MAX + 1];
	enum veiltab_kind kind;
	/*
	 * UUID: 32 lower-case hex digits (and uuid[] the bytes); PARTUUID:
	 * lower case; LABEL: decoded; PATH: as written.
	 */
	char lu[VEILTAB_LU_MAX + 1];
	uint8_t uuid[16];
	unsigned int flags;		/* VEILTAB_* */
	unsigned int key_timeout;	/* seconds; 0: the target's default */
	int line;
};

struct veiltab {
	char path[4096];
	enum veiltab_auto auto_attach;
	int auto_line;			/* 0: not set in the file */
	enum veiltab_names names;
	int names_line;
	size_t n;
	struct veiltab_entry *e;
	int errors;			/* bad lines (left out) */
};

/* VEIL_VEILTAB from the environment, else VEILTAB_FILE. */
const char *veiltab_default_path(void);

/*
 * Parse @text as the veiltab @path.  Returns the number of bad lines
 * (each left out; their messages in @err, one a line, as many as fit) or
 * -ENOMEM.  @t is always initialised and must be freed with
 * veiltab_free().
 */
int veiltab_parse_text(struct veiltab *t, const char *path, const char *text,
		       char *err, size_t errlen);
/*
 * Read and parse the file at @path.  A missing file is an empty table
 * (the defaults) and returns 0.  Otherwise as veiltab_parse_text(), or
 * -errno when the file cannot be read (with the message in @err).
 */
int veiltab_load(struct veiltab *t, const char *path, char *err, size_t errlen);
void veiltab_free(struct veiltab *t);

/*
 * A name veil gives a mapping: 1..127 of [A-Za-z0-9._+-], not "." or
 * "..", and not "control" (/dev/mapper/control).
 */
bool veiltab_valid_name(const char *name);
/* "all", "listed"...: the words of the file. */
const char *veiltab_auto_str(enum veiltab_auto a);
/* "UUID=...", "LABEL=...": the LU as written (canonical case). */
void veiltab_lu_str(const struct veiltab_entry *e, char *buf, size_t size);
/* "discard,ro": the options, or "defaults" when there are none. */
void veiltab_opts_str(const struct veiltab_entry *e, char *buf, size_t size);

#endif /* VEIL_VEILTAB_H */
