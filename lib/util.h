/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Small helpers every veil program needs: hex key-ids and whole-buffer I/O.
 * One copy here, so each tool does not grow its own.
 */
#ifndef VEIL_UTIL_H
#define VEIL_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Decode a hex string (upper or lower case, no prefix, even length) into
 * 1..max bytes.  Returns the number of bytes, or -EINVAL when the string
 * is empty, odd, too long or not hex.
 */
int veil_hex_decode(const char *hex, uint8_t *out, size_t max);

/* Encode len bytes as lower-case hex into hex[2 * len + 1]. */
void veil_hex_encode(const uint8_t *in, size_t len, char *hex);

/*
 * pread/pwrite all of len bytes at off, retrying on EINTR and short
 * transfers.  0 on success, -errno, or -EIO when the device ends first.
 */
int veil_pread_full(int fd, void *buf, size_t len, off_t off);
int veil_pwrite_full(int fd, const void *buf, size_t len, off_t off);

/*
 * Read or send all of len bytes on a stream socket or pipe, retrying on
 * EINTR.  Sending never raises SIGPIPE.  0 on success, -1 (errno set, or
 * 0 when the peer closed first).
 */
int veil_read_full(int fd, void *buf, size_t len);
int veil_send_full(int fd, const void *buf, size_t len);

/*
 * Copy @len bytes of untrusted text (a key manager's identifiers, names,
 * messages) into dst[0..size) so that it prints as one harmless line:
 * printable ASCII other than a backslash as it is, a backslash doubled,
 * every other byte (control characters, escape sequences, newlines,
 * non-ASCII) as backslash-x and two hex digits.  Always NUL-terminated
 * when size > 0; cut short at a whole escape when it does not fit.
 * Returns dst.
 */
char *veil_escape(char *dst, size_t size, const void *src, size_t len);
/* veil_escape() of a NUL-terminated string. */
char *veil_escape_str(char *dst, size_t size, const char *src);
/* Room for the escaped form of @n bytes, with its NUL. */
#define VEIL_ESCAPED_SIZE(n)	(4 * (n) + 1)

#endif /* VEIL_UTIL_H */
