// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Memory for key bytes: memfd_secret(2) where the kernel has it enabled
 * (the pages leave the kernel's direct map, are locked, and never dumped),
 * otherwise an anonymous mapping locked with mlock(2) and excluded from
 * core dumps with MADV_DONTDUMP.  Each allocation is whole pages.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "kmip/kmip.h"

#ifndef SYS_memfd_secret
#define SYS_memfd_secret 447	/* x86_64 */
#endif

static atomic_int secmem_mode;	/* 0 unknown, 1 memfd_secret, 2 mlock */

static size_t page_round(size_t size)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (size + pg - 1) / pg * pg;
}

static void *secmem_secret(size_t len)
{
	void *p;
	int fd;

	fd = (int)syscall(SYS_memfd_secret, 0);
	if (fd < 0)
		return NULL;
	if (ftruncate(fd, (off_t)len)) {
		close(fd);
		return NULL;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return NULL;
	/* secretmem pages are unevictable; dumping them faults anyway */
	madvise(p, len, MADV_DONTDUMP);
	return p;
}

static void *secmem_locked(size_t len)
{
	void *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (mlock(p, len) || madvise(p, len, MADV_DONTDUMP) ||
	    madvise(p, len, MADV_WIPEONFORK)) {
		int e = errno;

		munmap(p, len);
		errno = e;
		return NULL;
	}
	return p;
}

void *veil_secmem_alloc(size_t size)
{
	size_t len = page_round(size ? size : 1);
	int mode = atomic_load(&secmem_mode);
	void *p;

	if (mode != 2) {
		p = secmem_secret(len);
		if (p) {
			atomic_store(&secmem_mode, 1);
			return p;
		}
		if (mode == 0)
			atomic_store(&secmem_mode, 2);
	}
	return secmem_locked(len);
}

void veil_secmem_free(void *p, size_t size)
{
	size_t len = page_round(size ? size : 1);

	if (!p)
		return;
	OPENSSL_cleanse(p, len);
	munlock(p, len);
	munmap(p, len);
}

const char *veil_secmem_kind(void)
{
	return atomic_load(&secmem_mode) == 1 ? "memfd_secret" : "mlock";
}
