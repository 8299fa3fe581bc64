// SPDX-License-Identifier: GPL-2.0
/*
 * veilctl in the guest: each subcommand's success path and its refusals,
 * with their documented exit codes (veilctl(8)).  The LUs are brd RAM
 * disks /dev/ram0..2 and a loop device; veil-keyd-stub plays the key
 * daemon.  Runs as root; skips when the modules or tools are missing.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <linux/fs.h>

#include "kselftest_harness.h"
#include "vc_ksft.h"

#define STUB "veil-keyd-stub serve --key-id " K1 "=" KEY1 \
	     " --key-id " K2 "=" KEY2 " --timeout 60"


static void cleanup(void)
{
	sh("for p in /tmp/stub.pid /tmp/holder.pid; do [ -f $p ] && kill $(cat $p) 2>/dev/null; rm -f $p; done; sleep 0.2");
	sh("umount /mnt 2>/dev/null; losetup -d /dev/loop0 2>/dev/null; losetup -d /dev/loop1 2>/dev/null");
	sh("rm -f /tmp/big.img /tmp/small.img /tmp/hb /tmp/hb.bad /tmp/data /tmp/d2 /tmp/key /tmp/src.img /tmp/io.stop /tmp/md.sum");
	sh("for d in $(dmsetup ls 2>/dev/null | cut -f1); do dmsetup remove $d; done 2>/dev/null");
	sh("for d in /dev/ram0 /dev/ram1 /dev/ram2; do dd if=/dev/zero of=$d bs=1M count=2 2>/dev/null;"
	   " dd if=/dev/zero of=$d bs=1M seek=14 count=2 2>/dev/null; done");
}

FIXTURE(vc) {
	int unused;
};

FIXTURE_SETUP(vc)
{
	setenv("DM_DISABLE_UDEV", "1", 1);
	/* these tests use the kernel-name mapping names (veil-ram0) */
	sh("echo 'names = kernel' >/tmp/veiltab.kernel-names");
	setenv("VEIL_VEILTAB", "/tmp/veiltab.kernel-names", 1);
	const char *why = vc_guest_ready();

	if (why)
		SKIP(return, "%s", why);
	cleanup();
}

FIXTURE_TEARDOWN(vc)
{
	cleanup();
}

static void stub(const char *extra)
{
	sh(STUB " %s >/tmp/stub.log 2>&1 & echo $! >/tmp/stub.pid; sleep 0.3",
	   extra ? extra : "");
}

TEST_F(vc, encrypt_attach_status_detach)
{
	stub(NULL);
	ASSERT_EQ(OK, run("veilctl encrypt /dev/ram0 --key-id " K1 " --wait 20"));
	EXPECT_TRUE(has("encrypted: key-id " K1));
	EXPECT_TRUE(has("veil-ram0: encrypted"));
	/* data round trip through the mapping; ciphertext on the LU */
	ASSERT_EQ(0, sh("printf 'veil-test-pattern' | dd of=/dev/mapper/veil-ram0 bs=512 conv=sync,fsync 2>/dev/null"));
	ASSERT_EQ(0, sh("dd if=/dev/mapper/veil-ram0 bs=512 count=1 iflag=direct 2>/dev/null | grep -q veil-test-pattern"));
	EXPECT_NE(0, sh("dd if=/dev/ram0 bs=1M count=16 iflag=direct 2>/dev/null | grep -q veil-test-pattern"));
	ASSERT_EQ(OK, run("veilctl status veil-ram0"));
	EXPECT_TRUE(has("state:       encrypted"));
	EXPECT_TRUE(has("key-id:      " K1));
	EXPECT_TRUE(has("key daemon:    pid"));
	ASSERT_EQ(OK, run("veilctl status /dev/ram0 --json"));
	EXPECT_TRUE(has("\"name\":\"veil-ram0\""));
	EXPECT_TRUE(has("\"state\":\"encrypted\""));
	EXPECT_TRUE(has("\"key_id\":\"" K1 "\""));
	EXPECT_TRUE(has("\"registered\":true"));
	ASSERT_EQ(OK, run("veilctl list"));
	EXPECT_TRUE(has("veil-ram0"));
	ASSERT_EQ(OK, run("veilctl list --json"));
	EXPECT_TRUE(has("{\"version\":1,\"devices\":[{\"name\":\"veil-ram0\""));
	ASSERT_EQ(OK, run("veilctl probe /dev/ram0"));
	EXPECT_TRUE(has("VEIL_EVLU=1"));
	EXPECT_TRUE(has("VEIL_KEY_ID=" K1));
	ASSERT_EQ(OK, run("veilctl detach veil-ram0"));
	EXPECT_NE(0, sh("test -e /dev/mapper/veil-ram0"));
	/* attach again (another name): unlocks, the data is still there */
	ASSERT_EQ(OK, run("veilctl attach /dev/ram0 lu0 --wait 20"));
	EXPECT_TRUE(has("lu0: encrypted"));
	ASSERT_EQ(0, sh("dd if=/dev/mapper/lu0 bs=512 count=1 iflag=direct 2>/dev/null | grep -q veil-test-pattern"));
	/* attach of an attached LU is a no-op */
	ASSERT_EQ(OK, run("veilctl attach /dev/ram0"));
	EXPECT_TRUE(has("already attached as lu0"));
	ASSERT_EQ(OK, run("veilctl detach /dev/ram0"));
}

TEST_F(vc, no_daemon_waits)
{
	ASSERT_EQ(OK, run("veilctl encrypt /dev/ram0 --key-id " K1));
	EXPECT_TRUE(has("no key daemon registered"));
	EXPECT_TRUE(has("waiting-for-key"));
	ASSERT_EQ(WAITING, run("veilctl attach /dev/ram0 --wait 1"));
	/* a daemon that turns up later unlocks it */
	stub(NULL);
	ASSERT_EQ(OK, run("veilctl attach /dev/ram0 --wait 20"));
	ASSERT_EQ(OK, run("veilctl status veil-ram0 --json"));
	EXPECT_TRUE(has("\"state\":\"encrypted\""));
}

TEST_F(vc, key_manager_refuses)
{
	sh("veil-keyd-stub serve --fail " K1 "=EKEYREJECTED:host-not-authorised"
	   " --timeout 60 >/tmp/stub.log 2>&1 & echo $! >/tmp/stub.pid; sleep 0.3");
	ASSERT_EQ(NOKEY, run("veilctl encrypt /dev/ram0 --key-id " K1 " --wait 20"));
	EXPECT_TRUE(has("no-key"));
	ASSERT_EQ(OK, run("veilctl status veil-ram0 --json"));
	EXPECT_TRUE(has("\"state\":\"no-key\""));
	EXPECT_TRUE(has("host-not-authorised"));
	/* no plaintext: reads of the encrypted region fail */
	EXPECT_NE(0, sh("dd if=/dev/mapper/veil-ram0 of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null"));
}

TEST_F(vc, refuses_busy_devices)
{
	/* mounted */
	ASSERT_EQ(0, sh("modprobe ext4; mkfs.ext4 -q -F /dev/ram1 && mount -t ext4 /dev/ram1 /mnt"));
	ASSERT_EQ(BUSY, run("veilctl encrypt /dev/ram1 --key-id " K1));
	EXPECT_TRUE(has("mounted on /mnt"));
	sh("umount /mnt");
	/* held by another mapping */
	ASSERT_EQ(0, sh("echo '0 1024 linear /dev/ram1 0' | dmsetup create other"));
	ASSERT_EQ(BUSY, run("veilctl encrypt /dev/ram1 --key-id " K1));
	EXPECT_TRUE(has("in use by dm-"));
	EXPECT_TRUE(has("(other)"));
	ASSERT_EQ(BUSY, run("veilctl migrate /dev/ram1 /dev/ram2 --key-id " K1));
	sh("dmsetup remove other");
	/* detach of an open mapping */
	stub(NULL);
	ASSERT_EQ(OK, run("veilctl encrypt /dev/ram0 --key-id " K1 " --wait 20"));
	sh("sleep 30 </dev/mapper/veil-ram0 & echo $! >/tmp/holder.pid; sleep 0.3");
	ASSERT_EQ(BUSY, run("veilctl detach veil-ram0"));
	EXPECT_TRUE(has("is open"));
	ASSERT_EQ(BUSY, run("veilctl decrypt-off veil-ram0 --yes-destroy-data"));
}

TEST_F(vc, refuses_evlu_and_non_evlu)
{
	ASSERT_EQ(OK, run("veilctl encrypt /dev/ram0 --key-id " K1 " --no-attach"));
	ASSERT_EQ(ISEVLU, run("veilctl encrypt /dev/ram0 --key-id " K2 " --no-attach"));
	EXPECT_TRUE(has("already an eVLU (key-id " K1 ")"));
	ASSERT_EQ(NOTEVLU, run("veilctl attach /dev/ram1"));
	EXPECT_TRUE(has("not an eVLU"));
	ASSERT_EQ(NOTEVLU, run("veilctl probe /dev/ram1"));
	EXPECT_FALSE(has("VEIL_EVLU"));
	ASSERT_EQ(NODEV, run("veilctl attach /dev/nonexistent"));
	ASSERT_EQ(NODEV, run("veilctl detach nosuchmapping"));
	ASSERT_EQ(NODEV, run("veilctl status nosuchmapping"));
	ASSERT_EQ(NODEV, run("veilctl update nosuchmapping"));
}

TEST_F(vc, bad_metadata)
{
	ASSERT_EQ(OK, run("veilctl encrypt /dev/ram0 --key-id " K1 " --no-attach"));
	ASSERT_EQ(0, sh("veil-mdtool corrupt /dev/ram0 primary csum >/dev/null && veil-mdtool corrupt /dev/ram0 alternate magic >/dev/null"));
	ASSERT_EQ(BADMD, run("veilctl attach /dev/ram0"));
	EXPECT_TRUE(has("metadata damaged"));
	ASSERT_EQ(ISEVLU, run("veilctl encrypt /dev/ram0 --key-id " K1));
	ASSERT_EQ(OK, run("veilctl probe /dev/ram0"));
	EXPECT_TRUE(has("VEIL_BAD=1"));
	/* damaged under a live mapping: update says so */
	cleanup();
	stub(NULL);
	ASSERT_EQ(OK, run("veilctl encrypt /dev/ram0 --key-id " K1 " --wait 20"));
	ASSERT_EQ(0, sh("veil-mdtool corrupt /dev/ram0 primary csum >/dev/null && veil-mdtool corrupt /dev/ram0 alternate csum >/dev/null"));
	ASSERT_EQ(BADMD, run("veilctl update veil-ram0"));
	EXPECT_TRUE(has("metadata unusable"));
}

/*
 * An LU too small for the two metadata areas that nevertheless carries
 * veil metadata: "unknown" (metadata present but unusable, exit 6), as
 * docs/format.md section 5 says and dm-veil reads it; blank, the same LU
 * is not an eVLU (exit 5).
 */
TEST_F(vc, small_lu_with_metadata)
{
	ASSERT_EQ(0, sh("truncate -s 16M /tmp/big.img && veil-mdtool format /tmp/big.img --key-id " K1 " >/dev/null"));
	ASSERT_EQ(0, sh("truncate -s 1M /tmp/small.img && dd if=/tmp/big.img of=/tmp/small.img bs=4096 count=1 conv=notrunc 2>/dev/null"));
	ASSERT_EQ(0, sh("[ -e /dev/loop1 ] || mknod /dev/loop1 b 7 1; losetup /dev/loop1 /tmp/small.img"));
	ASSERT_EQ(BADMD, run("veilctl attach /dev/loop1"));
	EXPECT_TRUE(has("metadata damaged"));
	EXPECT_TRUE(has("too small"));
	EXPECT_FALSE(has("not an eVLU"));
	ASSERT_EQ(OK, run("veilctl probe /dev/loop1"));
	EXPECT_TRUE(has("VEIL_BAD=1"));
	ASSERT_EQ(ISEVLU, run("veilctl encrypt /dev/loop1 --key-id " K2 " --no-attach"));
	/* dm-veil: metadata present, so no table fits (a blank LU would pass) */
	EXPECT_NE(0, sh("echo '0 8 veil /dev/loop1' | dmsetup create veil_small 2>/dev/null"));
	EXPECT_EQ(0, sh("dmesg | grep -q 'Metadata unreadable and table too long for any data area'"));
	sh("dmsetup remove veil_small 2>/dev/null");
	/* wiped, the same LU holds no veil metadata */
	ASSERT_EQ(0, sh("dd if=/dev/zero of=/dev/loop1 bs=4096 count=1 oflag=direct 2>/dev/null"));
	ASSERT_EQ(NOTEVLU, run("veilctl attach /dev/loop1"));
	EXPECT_TRUE(has("not an eVLU"));
	ASSERT_EQ(NOTEVLU, run("veilctl probe /dev/loop1"));
}

TEST_F(vc, update_rekeys_resynced_replica)
{
	stub(NULL);
	ASSERT_EQ(OK, run("veilctl encrypt /dev/ram0 --key-id " K1 " --wait 20"));
	ASSERT_EQ(OK, run("veilctl update veil-ram0"));
	EXPECT_TRUE(has("key-id unchanged"));
	/* the array resyncs the LU from another source: another key-id */
	ASSERT_EQ(0, sh("veil-mdtool set-key-id /dev/ram0 " K2 " >/dev/null"));
	ASSERT_EQ(OK, run("veilctl update veil-ram0 --wait 20"));
	EXPECT_TRUE(has("key-id changed (" K1 " -> " K2 ")"));
	EXPECT_TRUE(has("veil-ram0: encrypted, key-id " K2));
}

TEST_F(vc, decrypt_off)
{
	stub(NULL);
	ASSERT_EQ(OK, run("veilctl encrypt /dev/ram0 --key-id " K1 " --wait 20"));
	ASSERT_EQ(USAGE, run("veilctl decrypt-off /dev/ram0"));
	EXPECT_TRUE(has("permanently unreadable"));
	ASSERT_EQ(OK, run("veilctl decrypt-off veil-ram0 --yes-destroy-data"));
	EXPECT_TRUE(has("now unreadable"));
	EXPECT_TRUE(has("veil-ram0: unencrypted"));
	ASSERT_EQ(OK, run("veilctl probe /dev/ram0"));
	EXPECT_FALSE(has("VEIL_KEY_ID"));
	ASSERT_EQ(NOTEVLU, run("veilctl decrypt-off veil-ram0 --yes-destroy-data"));
	/* no longer encrypted: encrypt is allowed again */
	ASSERT_EQ(OK, run("veilctl detach veil-ram0"));
	ASSERT_EQ(OK, run("veilctl encrypt /dev/ram0 --key-id " K2 " --wait 20"));
}

TEST_F(vc, migrate)
{
	stub(NULL);
	ASSERT_EQ(0, sh("dd if=/dev/urandom of=/tmp/src.img bs=1M count=6 2>/dev/null && losetup /dev/loop0 /tmp/src.img"));
	ASSERT_EQ(USAGE, run("veilctl migrate /dev/ram1 /dev/ram2 --key-id " K1));
	EXPECT_TRUE(has("too small"));
	ASSERT_EQ(OK, run("veilctl migrate /dev/loop0 /dev/ram2 --key-id " K1 " --progress"));
	EXPECT_TRUE(has("verifying ["));
	EXPECT_TRUE(has("100%"));
	EXPECT_TRUE(has("verified: sha256 "));
	ASSERT_EQ(0, sh("cmp -n 6291456 /tmp/src.img /dev/mapper/veil-ram2"));
	/* the LU itself holds ciphertext */
	EXPECT_NE(0, sh("dd if=/dev/ram2 bs=512 skip=2048 count=12288 2>/dev/null | cmp -s - /tmp/src.img"));
	sh("losetup -d /dev/loop0; rm -f /tmp/src.img");
}

/*
 * The escape hatch: data written through dm-veil reads back through stock
 * dm-crypt (and dm-linear for the plaintext ranges) with the table
 * dmcrypt-table prints from the stub's key, for both sector sizes.
 */
static void rescue(struct __test_metadata *_metadata, const char *dev,
		   const char *extra, const char *want1, const char *want2)
{
	const char *name = strrchr(dev, '/') + 1;

	ASSERT_EQ(OK, run("veilctl encrypt %s --key-id " K1 " --wait 20 %s",
			  dev, extra));
	ASSERT_EQ(0, sh("dd if=/dev/urandom of=/tmp/data bs=1M count=8 2>/dev/null"));
	ASSERT_EQ(0, sh("dd if=/tmp/data of=/dev/mapper/veil-%s bs=1M oflag=direct 2>/dev/null", name));
	ASSERT_EQ(OK, run("veilctl detach veil-%s", name));
	/* the LU holds ciphertext (data area at 1 MiB) */
	ASSERT_EQ(0, sh("dd if=/tmp/data of=/tmp/d2 bs=1M skip=2 count=5 2>/dev/null"));
	EXPECT_NE(0, sh("dd if=%s bs=1M skip=3 count=5 iflag=direct 2>/dev/null | cmp -s - /tmp/d2", dev));
	ASSERT_EQ(0, sh("echo %s >/tmp/key", KEY1));
	ASSERT_EQ(OK, run("veilctl dmcrypt-table %s </tmp/key", dev));
	EXPECT_TRUE(has(" crypt aes-xts-plain64 "));
	EXPECT_TRUE(has(want1));
	EXPECT_TRUE(has(want2));
	ASSERT_EQ(0, run("dmsetup create rescue --table \"$(veilctl dmcrypt-table %s </tmp/key)\" && dmsetup table rescue", dev));
	EXPECT_EQ(0, sh("cmp -n 8388608 /dev/mapper/rescue /tmp/data"));
	sh("dmsetup remove rescue");
	/* a wrong key maps, but reads noise: there is no check value */
	ASSERT_EQ(0, sh("echo %s | veilctl dmcrypt-table %s >/tmp/t && dmsetup create rescue </tmp/t", KEY2, dev));
	EXPECT_NE(0, sh("cmp -s -n 8388608 /dev/mapper/rescue /tmp/data"));
	sh("dmsetup remove rescue; rm -f /tmp/t");
}

TEST_F(vc, dmcrypt_table_rescue_512)
{
	stub(NULL);
	rescue(_metadata, "/dev/ram0", "--plaintext 0:2048 --plaintext 8192:512",
	       "0 2048 linear /dev/ram0 2048\n2048 6144 crypt aes-xts-plain64 ",
	       "8192 512 linear /dev/ram0 10240\n8704 19968 crypt aes-xts-plain64 ");
	/* the plaintext range reads as plaintext on the LU itself */
	EXPECT_EQ(0, sh("dd if=/dev/ram0 bs=512 skip=2048 count=2048 iflag=direct 2>/dev/null | cmp -s -n 1048576 - /tmp/data"));
}

TEST_F(vc, dmcrypt_table_rescue_4096)
{
	stub(NULL);
	rescue(_metadata, "/dev/ram1", "--sector-size 4096 --plaintext 4096:64",
	       " 2048 2 sector_size:4096 iv_large_sectors\n4096 64 linear /dev/ram1 6144\n",
	       " 4160 /dev/ram1 6208 2 sector_size:4096 iv_large_sectors");
}

TEST_F(vc, dump_and_label)
{
	stub(NULL);
	ASSERT_EQ(OK, run("veilctl encrypt /dev/ram0 --key-id " K1 " --label 'db one' --wait 20"));
	ASSERT_EQ(OK, run("veilctl status veil-ram0"));
	EXPECT_TRUE(has("label:       db one"));
	ASSERT_EQ(OK, run("veilctl status veil-ram0 --json"));
	EXPECT_TRUE(has("\"label\":\"db one\""));
	ASSERT_EQ(OK, run("veilctl list"));
	EXPECT_TRUE(has("LABEL"));
	EXPECT_TRUE(has("db one"));
	ASSERT_EQ(OK, run("veilctl list --json"));
	EXPECT_TRUE(has("\"label\":\"db one\""));
	ASSERT_EQ(OK, run("veilctl detach veil-ram0"));
	ASSERT_EQ(OK, run("veilctl dump /dev/ram0"));
	EXPECT_TRUE(has("label:         db one"));
	EXPECT_TRUE(has("key-id:        " K1));
	EXPECT_TRUE(has("cipher:        aes-xts-plain64, 64-byte key"));
	EXPECT_TRUE(has("primary copy:   valid, seqno 1 (in use)"));
	EXPECT_TRUE(has("alternate copy: valid, seqno 1"));
	EXPECT_FALSE(has("0101010101"));	/* no key bytes anywhere */
	ASSERT_EQ(OK, run("veilctl dump /dev/ram0 --json"));
	EXPECT_TRUE(has("\"label\":\"db one\""));
	EXPECT_TRUE(has("\"key_id\":\"" K1 "\""));
	ASSERT_EQ(NOTEVLU, run("veilctl dump /dev/ram1"));
	ASSERT_EQ(0, sh("veil-mdtool corrupt /dev/ram0 alternate csum >/dev/null"));
	ASSERT_EQ(OK, run("veilctl dump /dev/ram0"));
	EXPECT_TRUE(has("alternate copy: damaged: checksum mismatch"));
	ASSERT_EQ(0, sh("veil-mdtool corrupt /dev/ram0 primary magic >/dev/null"));
	ASSERT_EQ(BADMD, run("veilctl dump /dev/ram0"));
}

TEST_F(vc, header_backup_restore)
{
	char uuid[64];

	stub(NULL);
	ASSERT_EQ(OK, run("veilctl encrypt /dev/ram0 --key-id " K1 " --label first --no-attach"));
	ASSERT_EQ(OK, run("veilctl dump /dev/ram0 --json | sed 's/.*\"uuid\":\"\\([^\"]*\\)\".*/\\1/'"));
	snprintf(uuid, sizeof(uuid), "%.36s", out);
	ASSERT_EQ(OK, run("veilctl header backup /dev/ram0 /tmp/hb"));
	EXPECT_TRUE(has(uuid));
	/* both copies lost: restore brings the LU back */
	ASSERT_EQ(0, sh("veil-mdtool corrupt /dev/ram0 primary csum >/dev/null && veil-mdtool corrupt /dev/ram0 alternate magic >/dev/null"));
	ASSERT_EQ(BADMD, run("veilctl attach /dev/ram0"));
	ASSERT_EQ(OK, run("veilctl header restore /dev/ram0 /tmp/hb"));
	ASSERT_EQ(OK, run("veilctl dump /dev/ram0"));
	EXPECT_TRUE(has(uuid));
	EXPECT_TRUE(has("alternate copy: valid"));
	EXPECT_TRUE(has("label:         first"));
	/* a damaged backup is refused before anything is written */
	ASSERT_EQ(0, sh("cp /tmp/hb /tmp/hb.bad && printf x | dd of=/tmp/hb.bad bs=1 seek=4200 conv=notrunc 2>/dev/null"));
	ASSERT_EQ(0, sh("veil-mdtool corrupt /dev/ram0 alternate csum >/dev/null"));
	ASSERT_EQ(BACKUP, run("veilctl header restore /dev/ram0 /tmp/hb.bad"));
	EXPECT_TRUE(has("checksum mismatch"));
	ASSERT_EQ(OK, run("veilctl dump /dev/ram0"));
	EXPECT_TRUE(has("alternate copy: damaged"));
	ASSERT_EQ(0, sh("head -c 8192 /tmp/hb >/tmp/hb.bad"));
	ASSERT_EQ(BACKUP, run("veilctl header restore /dev/ram0 /tmp/hb.bad"));
	EXPECT_TRUE(has("not a veil header backup"));
	/* a backup whose layout does not fit a smaller LU */
	ASSERT_EQ(0, sh("truncate -s 8M /tmp/big.img && { [ -e /dev/loop1 ] || mknod /dev/loop1 b 7 1; } && losetup /dev/loop1 /tmp/big.img"));
	ASSERT_EQ(BACKUP, run("veilctl header restore /dev/loop1 /tmp/hb"));
	EXPECT_TRUE(has("no copy in the backup is valid for this LU of 16384 sectors"));
	EXPECT_EQ(NOTEVLU, run("veilctl dump /dev/loop1"));
	/* another LU's backup: refused, then forced */
	ASSERT_EQ(OK, run("veilctl encrypt /dev/ram1 --key-id " K2 " --no-attach"));
	ASSERT_EQ(BACKUP, run("veilctl header restore /dev/ram1 /tmp/hb"));
	EXPECT_TRUE(has("refusing: the backup is of LU"));
	ASSERT_EQ(OK, run("veilctl dump /dev/ram1"));
	EXPECT_TRUE(has("key-id:        " K2));
	ASSERT_EQ(OK, run("veilctl header restore /dev/ram1 /tmp/hb --force"));
	ASSERT_EQ(OK, run("veilctl dump /dev/ram1"));
	EXPECT_TRUE(has("key-id:        " K1));
	/* never under a mapping */
	ASSERT_EQ(OK, run("veilctl attach /dev/ram0 --wait 20"));
	ASSERT_EQ(BUSY, run("veilctl header restore /dev/ram0 /tmp/hb"));
	EXPECT_TRUE(has("in use by dm-"));
}

/*
 * encrypt checks every part of the new metadata before it creates a key
 * or writes anything.  No key manager is configured in the guest, so an
 * encrypt that got as far as creating a key would fail with exit 12: exit
 * 2 shows the check came first; the LU stays blank (dump: exit 5).
 */
TEST_F(vc, encrypt_refuses_bad_state_first)
{
	static const char *const bad[] = {
		"--cipher aes-xts-foo",
		"--cipher foo-xts-plain64",
		"--cipher aes-xts-plain64:x",
		"--key-id " K1 " --key-bytes 24",
		"--key-id " K1 " --cipher aes-cbc-plain64 --key-bytes 64",
		"--key-id " K1 " --sector-size 1024",
		"--key-id " K1 " --plaintext 0:2048 --plaintext 1024:8",
		"--key-id " K1 " --plaintext 0:99999999",
		"--key-id " K1 " --plaintext 28672:8",
		"--key-id " K1 " --sector-size 4096 --plaintext 4:8",
		"--key-id " K1 " --plaintext 8:0",
	};
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(USAGE, run("veilctl encrypt /dev/ram2 %s", bad[i]));
		EXPECT_FALSE(has("encrypted"));
		EXPECT_FALSE(has("key manager"));
		EXPECT_EQ(NOTEVLU, run("veilctl dump /dev/ram2"));
	}
	/* what the refusals say */
	run("veilctl encrypt /dev/ram2 --cipher aes-xts-foo");
	EXPECT_TRUE(has("unsupported IV mode"));
	run("veilctl encrypt /dev/ram2 --key-id " K1 " --plaintext 0:2048 --plaintext 1024:8");
	EXPECT_TRUE(has("overlap"));
	run("veilctl encrypt /dev/ram2 --key-id " K1 " --plaintext 28672:8");
	EXPECT_TRUE(has("beyond the data area"));
	run("veilctl encrypt /dev/ram2 --key-id " K1 " --sector-size 4096 --plaintext 4:8");
	EXPECT_TRUE(has("not aligned"));
	/* and without --key-id the cipher is refused before the configuration is read */
	EXPECT_EQ(USAGE, run("veilctl encrypt /dev/ram2 --cipher aes-xts-foo -c /nonexistent"));
	EXPECT_FALSE(has("/nonexistent"));
	/* the good spec goes through, with its range */
	stub(NULL);
	ASSERT_EQ(OK, run("veilctl encrypt /dev/ram2 --key-id " K1 " --plaintext 0:2048 --wait 20"));
	ASSERT_EQ(OK, run("veilctl dump /dev/ram2"));
	EXPECT_TRUE(has("plaintext:     0:2048"));
}

/* A 16 MiB loop device over /tmp/big.img: the LU that resize grows. */
static int loop_lu(const char *size)
{
	return sh("truncate -s %s /tmp/big.img && { [ -e /dev/loop0 ] || mknod /dev/loop0 b 7 0; } && losetup /dev/loop0 /tmp/big.img",
		  size);
}

static int grow_lu(const char *size)
{
	return sh("truncate -s %s /tmp/big.img && losetup -c /dev/loop0", size);
}

/*
 * Writer/verifier: until /tmp/io.stop exists (at most 20000 rounds), write
 * a 4 KiB block tagged with its round into [first, first + 256) blocks of
 * @dev with O_DIRECT and read it back, noting whether the device had
 * changed size yet.  Exit status: 0 if every write and read succeeded and
 * read back what was written, and rounds ran both before and after the
 * size changed (so I/O was going on across the table swap); 1 on an I/O
 * error or mismatch, 3 if I/O did not span the change, 2 if it could not
 * start.
 */
static int io_child(const char *dev, unsigned int first)
{
	unsigned int round, errors = 0, before = 0, after = 0;
	uint64_t size0 = 0, size;
	double t, longest = 0;
	char *w, *r;
	off_t off;
	int fd;

	fd = open(dev, O_RDWR | O_DIRECT);
	if (fd < 0 || posix_memalign((void **)&w, 4096, 4096) ||
	    posix_memalign((void **)&r, 4096, 4096))
		return 2;
	if (ioctl(fd, BLKGETSIZE64, &size0))
		return 2;
	for (round = 0; round < 20000 && access("/tmp/io.stop", F_OK); round++) {
		if (!ioctl(fd, BLKGETSIZE64, &size) && size != size0)
			after++;
		else
			before++;
		off = (off_t)(first + round % 256) * 4096;
		t = now_s();
		memset(w, 'a' + round % 26, 4096);
		snprintf(w, 64, "round %u", round);
		if (pwrite(fd, w, 4096, off) != 4096 ||
		    pread(fd, r, 4096, off) != 4096 || memcmp(w, r, 4096)) {
			printf("# io: round %u at byte %lld failed\n", round,
			       (long long)off);
			errors++;
		}
		t = now_s() - t;
		if (t > longest)
			longest = t;
	}
	printf("# io: %u rounds (%u before the size changed, %u after), %u errors, longest round %.0f ms\n",
	       round, before, after, errors, longest * 1000);
	fflush(stdout);
	close(fd);
	return errors ? 1 : !before || !after ? 3 : 0;
}

static pid_t io_start(const char *dev, unsigned int first)
{
	pid_t pid;

	unlink("/tmp/io.stop");
	fflush(stdout);
	pid = fork();
	if (!pid)
		_exit(io_child(dev, first));
	usleep(300000);		/* let it get going */
	return pid;
}

static int io_stop(pid_t pid)
{
	int st;

	usleep(300000);
	sh("touch /tmp/io.stop");
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * The LU grows under a mounted-style workload: resize moves the alternate
 * copy to the new end and reloads the mapping while a writer/verifier
 * runs, with no I/O error; the data written before is intact and the new
 * space is usable.
 */
TEST_F_TIMEOUT(vc, resize_grow_under_io, 180)
{
	double t;
	pid_t io;

	stub(NULL);
	ASSERT_EQ(0, loop_lu("16M"));
	ASSERT_EQ(OK, run("veilctl encrypt /dev/loop0 --key-id " K1 " --wait 20"));
	ASSERT_EQ(0, sh("dd if=/dev/urandom of=/tmp/data bs=1M count=2 2>/dev/null && dd if=/tmp/data of=/dev/mapper/veil-loop0 bs=1M oflag=direct 2>/dev/null"));
	ASSERT_EQ(OK, run("veilctl resize /dev/loop0"));
	EXPECT_TRUE(has("nothing to do"));
	ASSERT_EQ(0, grow_lu("24M"));
	/* the grown LU runs on the primary only, and status says so */
	ASSERT_EQ(OK, run("veilctl status veil-loop0"));
	EXPECT_TRUE(has("alternate copy: absent"));
	EXPECT_TRUE(has("the LU grew from 32768 to 49152 sectors"));
	EXPECT_TRUE(has("runs on one metadata copy"));

	io = io_start("/dev/mapper/veil-loop0", 512);
	ASSERT_LT(0, io);
	t = now_s();
	EXPECT_EQ(OK, run("veilctl resize veil-loop0"));
	printf("# resize took %.0f ms\n", (now_s() - t) * 1000);
	EXPECT_TRUE(has("data area 28672 -> 45056 sectors"));
	EXPECT_TRUE(has("veil-loop0: mapping now 45056 sectors"));
	EXPECT_EQ(0, io_stop(io));

	EXPECT_EQ(0, sh("[ $(blockdev --getsz /dev/mapper/veil-loop0) = 45056 ]"));
	EXPECT_EQ(0, sh("cmp -n 2097152 /tmp/data /dev/mapper/veil-loop0"));
	EXPECT_EQ(0, sh("printf veil-new-space | dd of=/dev/mapper/veil-loop0 bs=512 seek=45055 conv=sync oflag=direct 2>/dev/null"));
	EXPECT_EQ(0, sh("dd if=/dev/mapper/veil-loop0 bs=512 skip=45055 count=1 iflag=direct 2>/dev/null | grep -q veil-new-space"));
	ASSERT_EQ(OK, run("veilctl status veil-loop0 --json"));
	EXPECT_TRUE(has("\"state\":\"encrypted\""));
	EXPECT_TRUE(has("\"degraded\":false"));
	ASSERT_EQ(OK, run("veilctl dump /dev/loop0"));
	EXPECT_TRUE(has("primary copy:   valid, seqno 2"));
	EXPECT_TRUE(has("alternate copy: valid, seqno 2"));
	/* the copy left at the old end is gone from the data area */
	EXPECT_NE(0, sh("dd if=/dev/loop0 bs=512 skip=30720 count=1 2>/dev/null | grep -q VEILeVLU"));
	/* detached and attached again, the LU opens at its new size */
	ASSERT_EQ(OK, run("veilctl detach veil-loop0"));
	ASSERT_EQ(OK, run("veilctl attach /dev/loop0 --wait 20"));
	EXPECT_EQ(0, sh("[ $(blockdev --getsz /dev/mapper/veil-loop0) = 45056 ]"));
	EXPECT_EQ(0, sh("cmp -n 2097152 /tmp/data /dev/mapper/veil-loop0"));
}

/*
 * The key daemon is gone before the resize: the new table takes the key
 * the live one holds, so the mapping still grows, no key request is
 * pending, and I/O goes on.
 */
TEST_F_TIMEOUT(vc, resize_without_key_daemon, 120)
{
	stub(NULL);
	ASSERT_EQ(0, loop_lu("16M"));
	ASSERT_EQ(OK, run("veilctl encrypt /dev/loop0 --key-id " K1 " --wait 20"));
	ASSERT_EQ(0, sh("dd if=/dev/urandom of=/tmp/data bs=1M count=1 2>/dev/null && dd if=/tmp/data of=/dev/mapper/veil-loop0 bs=1M oflag=direct 2>/dev/null"));
	sh("kill $(cat /tmp/stub.pid); rm -f /tmp/stub.pid; sleep 0.5");
	ASSERT_EQ(OK, run("veilctl status"));
	EXPECT_TRUE(has("key daemon:    none registered"));
	ASSERT_EQ(0, grow_lu("20M"));
	ASSERT_EQ(OK, run("veilctl resize /dev/loop0"));
	EXPECT_TRUE(has("mapping now 36864 sectors"));
	ASSERT_EQ(OK, run("veilctl status veil-loop0"));
	EXPECT_TRUE(has("state:       encrypted"));
	EXPECT_TRUE(has("none registered (0 key requests pending)"));
	EXPECT_EQ(0, sh("[ $(blockdev --getsz /dev/mapper/veil-loop0) = 36864 ]"));
	EXPECT_EQ(0, sh("timeout 20 cmp -n 1048576 /tmp/data /dev/mapper/veil-loop0"));
	EXPECT_EQ(0, sh("printf veil-new-space | timeout 20 dd of=/dev/mapper/veil-loop0 bs=512 seek=36000 conv=sync oflag=direct 2>/dev/null"));
	EXPECT_EQ(0, sh("timeout 20 dd if=/dev/mapper/veil-loop0 bs=512 skip=36000 count=1 iflag=direct 2>/dev/null | grep -q veil-new-space"));
}

/*
 * The metadata on disk names another key than the live table holds (a
 * replica resynced under the mapping, no update yet) and no daemon runs:
 * the new table would wait for its key, so it never goes live; the mapping
 * keeps its size, its key and its I/O, and no inactive table is left.
 */
TEST_F_TIMEOUT(vc, resize_keeps_a_table_that_would_wait, 120)
{
	stub(NULL);
	ASSERT_EQ(0, loop_lu("16M"));
	ASSERT_EQ(OK, run("veilctl encrypt /dev/loop0 --key-id " K1 " --wait 20"));
	ASSERT_EQ(0, sh("dd if=/dev/urandom of=/tmp/data bs=1M count=1 2>/dev/null && dd if=/tmp/data of=/dev/mapper/veil-loop0 bs=1M oflag=direct 2>/dev/null"));
	sh("kill $(cat /tmp/stub.pid); rm -f /tmp/stub.pid; sleep 0.5");
	ASSERT_EQ(0, sh("veil-mdtool set-key-id /dev/loop0 " K2 " >/dev/null"));
	ASSERT_EQ(0, grow_lu("20M"));
	ASSERT_EQ(1, run("veilctl resize veil-loop0"));
	EXPECT_TRUE(has("the new table would wait for its key (state waiting-for-key): left as it was"));
	EXPECT_EQ(0, sh("[ $(blockdev --getsz /dev/mapper/veil-loop0) = 28672 ]"));
	EXPECT_NE(0, sh("dmsetup info veil-loop0 | grep -q INACTIVE"));
	ASSERT_EQ(OK, run("veilctl status veil-loop0"));
	EXPECT_TRUE(has("state:       encrypted"));
	EXPECT_TRUE(has("key-id:      " K1));
	EXPECT_EQ(0, sh("timeout 20 cmp -n 1048576 /tmp/data /dev/mapper/veil-loop0"));
}

/*
 * Power cut in the middle of resize's metadata write, at each block write
 * and torn: whatever landed, the LU still has a valid copy describing the
 * old or the new size, the live mapping keeps its data, the LU attaches
 * again, and running resize once more finishes the job.
 */
TEST_F_TIMEOUT(vc, resize_crash_points, 240)
{
	/* each point grows the LU by 4 MiB first, so there is work to cut */
	static const char *const points[] = { "0", "1", "0:2048", "1:2048" };
	unsigned int i, mib = 16;
	char old[48], grown[48];

	stub(NULL);
	ASSERT_EQ(0, loop_lu("16M"));
	ASSERT_EQ(OK, run("veilctl encrypt /dev/loop0 --key-id " K1 " --wait 20"));
	ASSERT_EQ(0, sh("dd if=/dev/urandom of=/tmp/data bs=1M count=2 2>/dev/null && dd if=/tmp/data of=/dev/mapper/veil-loop0 bs=1M oflag=direct 2>/dev/null"));
	for (i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		snprintf(old, sizeof(old), "\"data_sectors\":%u",
			 mib * 2048 - 4096);
		mib += 4;
		snprintf(grown, sizeof(grown), "\"data_sectors\":%u",
			 mib * 2048 - 4096);
		ASSERT_EQ(0, sh("truncate -s %uM /tmp/big.img && losetup -c /dev/loop0",
				mib));
		printf("# %u MiB, crash after %s block write(s)\n", mib,
		       points[i]);
		EXPECT_EQ(1, run("VEIL_TEST_MD_CRASH_AFTER=%s veilctl resize veil-loop0",
				 points[i]));
		EXPECT_TRUE(has("simulated crash"));
		EXPECT_EQ(0, sh("cmp -n 2097152 /tmp/data /dev/mapper/veil-loop0"));
		ASSERT_EQ(OK, run("veilctl dump /dev/loop0 --json"));
		EXPECT_TRUE(has(old) || has(grown));
		ASSERT_EQ(OK, run("veilctl detach veil-loop0"));
		ASSERT_EQ(OK, run("veilctl attach /dev/loop0 --wait 20"));
		EXPECT_EQ(0, sh("cmp -n 2097152 /tmp/data /dev/mapper/veil-loop0"));
		/* running it again finishes the job */
		ASSERT_EQ(OK, run("veilctl resize veil-loop0"));
		EXPECT_EQ(0, sh("[ $(blockdev --getsz /dev/mapper/veil-loop0) = %u ]",
				mib * 2048 - 4096));
		ASSERT_EQ(OK, run("veilctl dump /dev/loop0"));
		EXPECT_TRUE(has("primary copy:   valid"));
		EXPECT_TRUE(has("alternate copy: valid"));
	}
	EXPECT_EQ(0, sh("cmp -n 2097152 /tmp/data /dev/mapper/veil-loop0"));
}

TEST_F_TIMEOUT(vc, resize_shrink_and_refusals, 120)
{
	stub(NULL);
	ASSERT_EQ(0, loop_lu("16M"));
	ASSERT_EQ(OK, run("veilctl encrypt /dev/loop0 --key-id " K1 " --plaintext 0:8 --plaintext 20000:8 --wait 20"));
	ASSERT_EQ(0, sh("dd if=/dev/urandom of=/tmp/data bs=1M count=4 2>/dev/null && dd if=/tmp/data of=/dev/mapper/veil-loop0 bs=1M oflag=direct 2>/dev/null"));
	/* shrinking needs the flag; nothing changes without it */
	ASSERT_EQ(USAGE, run("veilctl resize veil-loop0 --size 24576"));
	EXPECT_TRUE(has("refusing to shrink the data area from 28672 to 24576 sectors without --shrink"));
	EXPECT_EQ(0, sh("[ $(blockdev --getsz /dev/mapper/veil-loop0) = 28672 ]"));
	/* bad sizes */
	ASSERT_EQ(USAGE, run("veilctl resize veil-loop0 --size 16000 --shrink"));
	EXPECT_TRUE(has("would cut the plaintext range 20000:8"));
	ASSERT_EQ(USAGE, run("veilctl resize veil-loop0 --size 99999999"));
	EXPECT_TRUE(has("beyond the device"));
	ASSERT_EQ(USAGE, run("veilctl resize veil-loop0 --size 0 --shrink"));
	EXPECT_TRUE(has("positive multiple"));
	ASSERT_EQ(USAGE, run("veilctl resize veil-loop0 --size 12k"));
	ASSERT_EQ(USAGE, run("veilctl resize"));
	ASSERT_EQ(OK, run("veilctl dump /dev/loop0"));
	EXPECT_TRUE(has("28672 sectors at sector 2048"));
	EXPECT_TRUE(has("seqno 1"));
	/* with the flag: the mapping and the data area shrink */
	ASSERT_EQ(OK, run("veilctl resize veil-loop0 --size 24576 --shrink"));
	EXPECT_EQ(0, sh("[ $(blockdev --getsz /dev/mapper/veil-loop0) = 24576 ]"));
	EXPECT_EQ(0, sh("cmp -n 4194304 /tmp/data /dev/mapper/veil-loop0"));
	ASSERT_EQ(OK, run("veilctl dump /dev/loop0"));
	EXPECT_TRUE(has("24576 sectors at sector 2048"));
	EXPECT_TRUE(has("alternate copy: valid, seqno 2"));
	/* not an eVLU, no such mapping, 4096-byte sectors */
	ASSERT_EQ(NOTEVLU, run("veilctl resize /dev/ram1"));
	EXPECT_TRUE(has("not an eVLU"));
	ASSERT_EQ(NODEV, run("veilctl resize nosuchmapping"));
	ASSERT_EQ(OK, run("veilctl encrypt /dev/ram2 --key-id " K2 " --sector-size 4096 --no-attach"));
	ASSERT_EQ(USAGE, run("veilctl resize /dev/ram2 --size 16001 --shrink"));
	EXPECT_TRUE(has("positive multiple of the encryption sector (4096 bytes: 8 sectors)"));
	ASSERT_EQ(OK, run("veilctl resize /dev/ram2 --size 16000 --shrink"));
	ASSERT_EQ(OK, run("veilctl dump /dev/ram2"));
	EXPECT_TRUE(has("16000 sectors at sector 2048"));
}

/*
 * One copy damaged: status (text and JSON) says which and why; resize
 * rewrites both copies from the valid one, also while growing the LU.
 */
TEST_F_TIMEOUT(vc, resize_and_status_with_a_damaged_copy, 120)
{
	stub(NULL);
	ASSERT_EQ(0, loop_lu("16M"));
	ASSERT_EQ(OK, run("veilctl encrypt /dev/loop0 --key-id " K1 " --wait 20"));
	ASSERT_EQ(OK, run("veilctl status veil-loop0"));
	EXPECT_TRUE(has("primary copy:   valid, seqno 1 (in use)"));
	EXPECT_TRUE(has("alternate copy: valid, seqno 1"));
	EXPECT_FALSE(has("runs on one metadata copy"));
	ASSERT_EQ(0, sh("veil-mdtool corrupt /dev/loop0 alternate csum >/dev/null"));
	ASSERT_EQ(OK, run("veilctl status veil-loop0"));
	EXPECT_TRUE(has("alternate copy: damaged: checksum mismatch"));
	EXPECT_TRUE(has("runs on one metadata copy (primary valid, alternate damaged)"));
	ASSERT_EQ(OK, run("veilctl status /dev/loop0 --json"));
	EXPECT_TRUE(has("\"degraded\":true"));
	EXPECT_TRUE(has("{\"copy\":\"alternate\",\"state\":\"damaged\",\"problem\":\"checksum mismatch\"}"));
	ASSERT_EQ(OK, run("veilctl list"));
	EXPECT_TRUE(has("runs on one metadata copy"));
	ASSERT_EQ(0, grow_lu("20M"));
	ASSERT_EQ(OK, run("veilctl resize /dev/loop0"));
	EXPECT_TRUE(has("data area 28672 -> 36864 sectors"));
	ASSERT_EQ(OK, run("veilctl status veil-loop0 --json"));
	EXPECT_TRUE(has("\"degraded\":false"));
	/* the primary damaged, the alternate current: repaired from it */
	ASSERT_EQ(0, sh("veil-mdtool corrupt /dev/loop0 primary magic >/dev/null"));
	ASSERT_EQ(OK, run("veilctl status veil-loop0"));
	EXPECT_TRUE(has("primary copy:   absent"));
	EXPECT_TRUE(has("alternate copy: valid, seqno 2 (in use)"));
	ASSERT_EQ(OK, run("veilctl resize veil-loop0"));
	EXPECT_TRUE(has("data area unchanged (36864 sectors), both metadata copies rewritten"));
	ASSERT_EQ(OK, run("veilctl dump /dev/loop0"));
	EXPECT_TRUE(has("primary copy:   valid, seqno 3 (in use)"));
	/* both damaged: refused, nothing written */
	ASSERT_EQ(0, sh("veil-mdtool corrupt /dev/loop0 primary csum >/dev/null && veil-mdtool corrupt /dev/loop0 alternate csum >/dev/null"));
	ASSERT_EQ(BADMD, run("veilctl resize veil-loop0"));
	EXPECT_TRUE(has("no valid copy"));
	ASSERT_EQ(OK, run("veilctl status veil-loop0"));
	EXPECT_TRUE(has("primary copy:   damaged: checksum mismatch"));
}

/* migrate takes encrypt's --cipher and --plaintext, checked first. */
TEST_F_TIMEOUT(vc, migrate_cipher_plaintext, 120)
{
	stub(NULL);
	ASSERT_EQ(0, sh("dd if=/dev/urandom of=/tmp/src.img bs=1M count=6 2>/dev/null && { [ -e /dev/loop0 ] || mknod /dev/loop0 b 7 0; } && losetup /dev/loop0 /tmp/src.img"));
	ASSERT_EQ(USAGE, run("veilctl migrate /dev/loop0 /dev/ram2 --key-id " K1 " --cipher aes-xts-foo"));
	EXPECT_TRUE(has("unsupported IV mode"));
	ASSERT_EQ(USAGE, run("veilctl migrate /dev/loop0 /dev/ram2 --key-id " K1 " --plaintext 0:99999999"));
	EXPECT_TRUE(has("beyond the data area"));
	ASSERT_EQ(USAGE, run("veilctl migrate /dev/loop0 /dev/ram2 --key-id " K1 " --plaintext 8"));
	ASSERT_EQ(USAGE, run("veilctl migrate /dev/loop0 /dev/ram2 --cipher aes-xts-plain64 --key-bytes 64"));
	EXPECT_TRUE(has("--key-bytes goes with --key-id"));
	ASSERT_EQ(NOTEVLU, run("veilctl dump /dev/ram2"));
	ASSERT_EQ(OK, run("veilctl migrate /dev/loop0 /dev/ram2 --key-id " K1 " --cipher aes-xts-plain --plaintext 0:2048 --label moved --no-progress"));
	EXPECT_TRUE(has("verified: sha256 "));
	ASSERT_EQ(0, sh("cmp -n 6291456 /tmp/src.img /dev/mapper/veil-ram2"));
	ASSERT_EQ(OK, run("veilctl dump /dev/ram2"));
	EXPECT_TRUE(has("cipher:        aes-xts-plain, 64-byte key"));
	EXPECT_TRUE(has("plaintext:     0:2048"));
	EXPECT_TRUE(has("label:         moved"));
	/* on the LU: the first MiB in the clear, the next one not */
	EXPECT_EQ(0, sh("dd if=/dev/ram2 bs=512 skip=2048 count=2048 2>/dev/null | cmp -s -n 1048576 - /tmp/src.img"));
	EXPECT_NE(0, sh("dd if=/dev/ram2 bs=512 skip=4096 count=2048 2>/dev/null | cmp -s -n 1048576 -i 0:1048576 - /tmp/src.img"));
}

/*
 * reencrypt's refusals that need no re-encrypting dm-veil: an LU that is
 * not attached, no such mapping, --resume with nothing in progress, an
 * unencrypted LU, and bad arguments.
 */
TEST_F(vc, reencrypt_refusals)
{
	stub(NULL);
	ASSERT_EQ(OK, run("veilctl encrypt /dev/ram0 --key-id " K1 " --no-attach"));
	ASSERT_EQ(NODEV, run("veilctl reencrypt /dev/ram0"));
	EXPECT_TRUE(has("not attached"));
	ASSERT_EQ(NODEV, run("veilctl reencrypt nosuchmapping --resume"));
	EXPECT_TRUE(has("no such veil mapping"));
	ASSERT_EQ(OK, run("veilctl attach /dev/ram0 --wait 20"));
	ASSERT_EQ(0, sh("dd if=/dev/ram0 bs=4096 count=1 2>/dev/null | md5sum >/tmp/md.sum"));
	ASSERT_EQ(REENC, run("veilctl reencrypt veil-ram0 --resume"));
	EXPECT_TRUE(has("nothing to resume"));
	ASSERT_EQ(USAGE, run("veilctl reencrypt veil-ram0 --window 2048"));
	ASSERT_EQ(USAGE, run("veilctl reencrypt veil-ram0 --rate fast"));
	/* the refusals wrote nothing */
	ASSERT_EQ(0, sh("dd if=/dev/ram0 bs=4096 count=1 2>/dev/null | md5sum | cmp -s - /tmp/md.sum"));
	ASSERT_EQ(OK, run("veilctl decrypt-off veil-ram0 --yes-destroy-data"));
	ASSERT_EQ(NOTEVLU, run("veilctl reencrypt veil-ram0"));
	EXPECT_TRUE(has("no key-id"));
}

TEST_F(vc, usage_errors)
{
	ASSERT_EQ(USAGE, run("veilctl"));
	ASSERT_EQ(USAGE, run("veilctl frobnicate"));
	ASSERT_EQ(USAGE, run("veilctl encrypt"));
	ASSERT_EQ(USAGE, run("veilctl encrypt /dev/ram0 --key-id nothex"));
	ASSERT_EQ(USAGE, run("veilctl attach /dev/ram0 --key-timeout 0"));
	ASSERT_EQ(OK, run("veilctl --help"));
	EXPECT_TRUE(has("exit status:"));
	ASSERT_EQ(OK, run("veilctl encrypt --help"));
}

TEST_HARNESS_MAIN
