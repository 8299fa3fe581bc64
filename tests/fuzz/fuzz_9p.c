// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target for veil-fsd's 9P handling: the input is a stream of
 * 9P messages (each framed by its own size field, clipped to what is
 * left) fed to the decoder and the dispatcher of one connection serving
 * a temporary tenant root.  The connection acts as "nobody" (uid_map =
 * squash), and after every input a sentinel file next to (outside) the
 * root must be untouched, so a confinement escape is a crash, not just
 * a sanitizer report.
 *
 * Built with -DFUZZ_9P_WRITE_SEEDS and a plain compiler, this file is a
 * program writing the seed corpus into the directory given as argument.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FUZZ_9P_WRITE_SEEDS
#include "../../daemon/fsd/fsd.h"

static struct conn *cn;
static char dir[] = "/tmp/fuzz-9p-XXXXXX";
static char sentinel[128];
static struct stat sent0;

static void cleanup(void)
{
	char cmd[256];

	cred_reset(cn);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "fuzz_9p: could not remove %s\n", dir);
}

#define FUZZ_RELOAD	0xF0

static const uint32_t msizes[] = { 8192, 65536, 1u << 20, 16u << 20 };

/* Install the configuration pick selects (bit 0-1 msize_max, 2 ro, 3-5 budgets). */
static void reload(uint8_t pick)
{
	uint32_t msize = msizes[pick & 3];
	char text[768], err[256];
	struct fsd_conf *conf;

	snprintf(text, sizeof(text),
		 "vsock = no\nmsize_max = %u\n[vm f]\ncid = 5\nroot = %s/root\n"
		 "access = %s\nuid_map = squash\nmax_fds = %u\nmax_fids = %u\nmax_mem = %llu\n",
		 msize, dir, pick & 4 ? "ro" : "rw", pick & 8 ? 8 : 32, pick & 16 ? 16 : 256,
		 2ull * msize + (pick & 32 ? (64u << 10) : (64u << 20)));
	if (conf_parse("fuzz.conf", text, &conf, err, sizeof(err)) ||
	    conf_validate(conf, err, sizeof(err))) {
		fprintf(stderr, "fuzz_9p: %s\n", err);
		abort();
	}
	conf_install(conf);
}

static void setup(void)
{
	char cmd[512];
	struct fsd_conf *conf;

	if (!mkdtemp(dir))
		abort();
	snprintf(cmd, sizeof(cmd),
		 "cd %s && mkdir -p root/d && echo s > secret && echo f > root/f && "
		 "ln -s /etc root/abs && ln -s ../secret root/rel && chown -R 65534:65534 root && "
		 "chmod 600 secret", dir);
	if (system(cmd))
		abort();
	snprintf(sentinel, sizeof(sentinel), "%s/secret", dir);
	stat(sentinel, &sent0);
	reload(1);		/* msize_max 64K, rw, max_fds 32, max_fids 256 */
	conf = conf_get();
	cn = conn_new(-1, &conf->vms[0], conf);
	if (!cn)
		abort();
	cn->bind = BIND_CID;
	cn->cid = 5;
	strcpy(cn->peer, "fuzz");
	atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stat st;

	if (!cn)
		setup();
	/* back to the starting configuration and a fresh session */
	cred_reset(cn);
	reload(1);
	cn->msize = P9_MSIZE_MIN;
	if (conn_refresh(cn))
		abort();
	fidtab_clear(&cn->fids);
	cn->versioned = false;
	cn->msize = cn->bufsize;
	while (size >= 4) {
		uint32_t len = p9_le32(data);

		if (len > size)
			len = size;
		if (len >= P9_HDRSZ && data[4] == FUZZ_RELOAD) {
			cred_reset(cn);	/* reloads run in the main thread, as root */
			reload(len > P9_HDRSZ ? data[P9_HDRSZ] : 0);
			data += len;
			size -= len;
			continue;
		}
		/* what the connection loop checks before reading a message in */
		if (len < P9_HDRSZ || len > cn->msize)
			break;
		memcpy(cn->in, data, len);
		cn->in[0] = len; cn->in[1] = len >> 8; cn->in[2] = len >> 16; cn->in[3] = len >> 24;
		if (conn_refresh(cn) || ops_handle(cn, cn->in, len) < 0)
			break;
		data += len;
		size -= len;
	}
	cred_reset(cn);		/* the check runs as the server, not as nobody */
	if (stat(sentinel, &st) || st.st_size != sent0.st_size || st.st_mode != sent0.st_mode ||
	    st.st_uid != sent0.st_uid || st.st_mtim.tv_sec != sent0.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != sent0.st_mtim.tv_nsec)
		abort();
	return 0;
}

#else /* FUZZ_9P_WRITE_SEEDS: the seed corpus */

static uint8_t m[1 << 17];
static size_t ml, start;

static void le(uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		m[ml++] = v >> (8 * i);
}

static void str(const char *s)
{
	le(strlen(s), 2);
	memcpy(m + ml, s, strlen(s));
	ml += strlen(s);
}

static void begin(int type)
{
	start = ml;
	le(0, 4);
	le(type, 1);
	le(1, 2);
}

static void end(void)
{
	size_t n = ml - start;

	m[start] = n; m[start + 1] = n >> 8; m[start + 2] = n >> 16; m[start + 3] = 0;
}

static void hello(void)
{
	ml = 0;
	begin(100); le(65536, 4); str("9P2000.L"); end();
	begin(104); le(0, 4); le(~0u, 4); str(""); str(""); le(0, 4); end();
}

static void walk(uint32_t fid, uint32_t nfid, const char *a, const char *b)
{
	begin(110); le(fid, 4); le(nfid, 4); le(!!a + !!b, 2);
	if (a)
		str(a);
	if (b)
		str(b);
	end();
}

static void out(const char *dir, const char *name)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "wb");
	if (!f || fwrite(m, 1, ml, f) != ml) {
		perror(p);
		exit(1);
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	hello();
	walk(0, 1, "f", NULL);
	begin(12); le(1, 4); le(0, 4); end();
	begin(116); le(1, 4); le(0, 8); le(100, 4); end();
	begin(24); le(1, 4); le(0x7ff, 8); end();
	begin(120); le(1, 4); end();
	out(argv[1], "read");
	hello();
	walk(0, 1, NULL, NULL);
	begin(14); le(1, 4); str("new"); le(0102, 4); le(0644, 4); le(0, 4); end();
	begin(118); le(1, 4); le(0, 8); le(5, 4); memcpy(m + ml, "hello", 5); ml += 5; end();
	begin(26); le(1, 4); le(0x9, 4); le(0600, 4); le(0, 4); le(0, 4); le(2, 8);
	le(0, 8); le(0, 8); le(0, 8); le(0, 8); end();
	begin(50); le(1, 4); le(0, 4); end();
	out(argv[1], "create");
	hello();
	walk(0, 1, "d", NULL);
	begin(12); le(1, 4); le(0, 4); end();
	begin(40); le(1, 4); le(0, 8); le(4096, 4); end();
	begin(8); le(1, 4); end();
	out(argv[1], "readdir");
	hello();
	begin(72); le(0, 4); str("sub"); le(0755, 4); le(0, 4); end();
	begin(16); le(0, 4); str("ln"); str("/etc/passwd"); le(0, 4); end();
	walk(0, 2, "ln", NULL);
	begin(22); le(2, 4); end();
	begin(74); le(0, 4); str("sub"); le(0, 4); str("sub2"); end();
	begin(70); le(0, 4); le(2, 4); str("hard"); end();
	begin(76); le(0, 4); str("hard"); le(0, 4); end();
	begin(18); le(0, 4); str("dev"); le(020644, 4); le(1, 4); le(3, 4); le(0, 4); end();
	out(argv[1], "namespace");
	hello();
	walk(0, 3, "..", "abs");
	walk(0, 4, "rel", "x");
	walk(3, 5, "passwd", NULL);
	begin(108); le(1, 2); end();
	begin(54); le(0, 4); le(0, 1); le(0, 8); le(0, 8); le(1, 4); str("c"); end();
	out(argv[1], "escape");
	/* reload events: msize_max raised under a live session, then read-only */
	hello();
	begin(0xF0); le(2, 1); end();
	begin(100); le(1 << 20, 4); str("9P2000.L"); end();
	begin(104); le(0, 4); le(~0u, 4); str(""); str(""); le(0, 4); end();
	walk(0, 1, "f", NULL);
	begin(12); le(1, 4); le(2, 4); end();
	/* larger than the connection's 64K buffers: msize must not have grown */
	begin(118); le(1, 4); le(0, 8); le(65600, 4); memset(m + ml, 'x', 65600); ml += 65600; end();
	begin(0xF0); le(5, 1); end();
	begin(118); le(1, 4); le(0, 8); le(5, 4); memcpy(m + ml, "again", 5); ml += 5; end();
	begin(0xF0); le(0, 1); end();
	begin(24); le(1, 4); le(0x7ff, 8); end();
	out(argv[1], "reload");
	return 0;
}
#endif
