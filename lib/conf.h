/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one configuration-file tokenizer of veild, veil-kmip and veil-fsd.
 *
 *   # a comment line
 *   key = value          # a comment after the value
 *   [section name]
 *
 * One setting per line.  Blank lines are ignored.  A comment starts at a
 * '#' that begins the line (after any blanks) or follows a blank (space
 * or tab), and runs to the end of the line; a '#' inside a word, as in
 * "/srv/a#b", is part of the value.  Whitespace around keys and values is
 * trimmed; there is no quoting and no continuation.  A section header is
 * a line starting with '['; only callers that have sections accept one.
 * Every error reads "FILE:LINE: what is wrong".
 */
#ifndef VEIL_CONF_H
#define VEIL_CONF_H

#include <stdbool.h>
#include <stddef.h>

#define VEIL_CONF_MAX_BYTES	(1 << 20)	/* a larger file is refused */
#define VEIL_CONF_MAX_LINE	4095		/* bytes per line */

struct veil_conf {
	const char *path;	/* for messages */
	char *text;		/* owned copy, cut up while reading */
	char *pos;
	int line;		/* the line last returned, 1-based */
	bool sections;		/* "[...]" lines are sections, not errors */
	char *err;
	size_t errlen;
};

enum veil_conf_kind { VEIL_CONF_SETTING, VEIL_CONF_SECTION };

struct veil_conf_item {
	enum veil_conf_kind kind;
	char *key;		/* the setting's key, or the section's text */
	char *value;		/* the setting's value ("" if empty); NULL for a section */
};

/*
 * Start reading text (copied), naming it path in messages.  Returns 0 or
 * -ENOMEM / -EINVAL (a NUL byte, larger than VEIL_CONF_MAX_BYTES) with
 * err set.
 */
int veil_conf_open_text(struct veil_conf *r, const char *path, const char *text,
			bool sections, char *err, size_t errlen);
/* Read the file at path and start reading it; -errno with err set. */
int veil_conf_open_file(struct veil_conf *r, const char *path, bool sections,
			char *err, size_t errlen);
/*
 * The next setting or section: 1 with *it filled (pointers into r, valid
 * until veil_conf_close), 0 at the end, -EINVAL with err set.
 */
int veil_conf_next(struct veil_conf *r, struct veil_conf_item *it);
/* Write "FILE:LINE: fmt..." (line 0: "FILE: fmt...") to err; returns -EINVAL. */
int veil_conf_error(struct veil_conf *r, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void veil_conf_close(struct veil_conf *r);

#endif /* VEIL_CONF_H */
