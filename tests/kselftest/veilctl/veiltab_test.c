// SPDX-License-Identifier: GPL-2.0
/*
 * veiltab and automatic attach in the guest: names from the LU's
 * metadata, veiltab's names and options (discard, key-timeout, ro),
 * attach --all with noauto and nofail, the auto-attach policies, and the
 * refusals that keep a multipath path, an md member or a held device from
 * being attached.  The guest has no udev: "veilctl attach --auto" is what
 * the rule runs, and the udev properties are set in its environment as
 * multipath's and blkid's rules set them.  The LUs are brd RAM disks
 * /dev/ram0..2; veil-keyd-stub plays the key daemon.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "vc_ksft.h"

#define TAB "/tmp/veiltab"


static bool mapped(const char *name)
{
	return !sh("dmsetup info %s >/dev/null 2>&1", name);
}

static void tab(const char *text)
{
	FILE *f = fopen(TAB, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* Make /dev/ramN an eVLU (label optional); its uuid (8-4-4-4-12) in @uuid. */
static int mkevlu(int n, const char *label, char uuid[37])
{
	char *p;

	if (run("veilctl encrypt /dev/ram%d --key-id " K1 " --no-attach%s%s%s", n,
		label ? " --label '" : "", label ? label : "", label ? "'" : ""))
		return -1;
	if (run("veilctl probe /dev/ram%d", n))
		return -1;
	p = strstr(out, "ID_FS_UUID=");
	if (!p)
		return -1;
	snprintf(uuid, 37, "%.36s", p + 11);
	return 0;
}

static void cleanup(void)
{
	sh("for d in $(dmsetup ls 2>/dev/null | cut -f1); do dmsetup remove $d; done 2>/dev/null");
	sh("for d in $(dmsetup ls 2>/dev/null | cut -f1); do dmsetup remove $d; done 2>/dev/null");
	sh("rm -rf " TAB " /dev/disk/by-partuuid");
	sh("for d in /dev/ram0 /dev/ram1 /dev/ram2; do dd if=/dev/zero of=$d bs=1M count=2 2>/dev/null;"
	   " dd if=/dev/zero of=$d bs=1M seek=14 count=2 2>/dev/null; done");
}

FIXTURE(vt) {
	char u0[37], u1[37], u2[37];
};

FIXTURE_SETUP(vt)
{
	setenv("DM_DISABLE_UDEV", "1", 1);
	setenv("VEIL_VEILTAB", TAB, 1);
	unsetenv("DM_MULTIPATH_DEVICE_PATH");
	unsetenv("ID_FS_TYPE");
	const char *why = vc_guest_ready();

	if (why)
		SKIP(return, "%s", why);
	cleanup();
	sh("veil-keyd-stub serve --key-id " K1 "=" KEY1 " --timeout 60 >/tmp/stub.log 2>&1 &"
	   " echo $! >/tmp/stub.pid; sleep 0.3");
}

FIXTURE_TEARDOWN(vt)
{
	sh("[ -f /tmp/stub.pid ] && kill $(cat /tmp/stub.pid) 2>/dev/null; rm -f /tmp/stub.pid; sleep 0.2");
	cleanup();
}

TEST_F_TIMEOUT(vt, names_from_metadata, 150)
{
	char name[64];

	ASSERT_EQ(0, mkevlu(0, "dbone", self->u0));
	ASSERT_EQ(0, mkevlu(1, NULL, self->u1));
	ASSERT_EQ(0, mkevlu(2, "db one", self->u2));
	/* no veiltab: the label, else veil-<uuid>; never veil-ramN */
	ASSERT_EQ(OK, run("veilctl attach /dev/ram0 --wait 20"));
	EXPECT_TRUE(has("attached as /dev/mapper/dbone"));
	EXPECT_TRUE(has("dbone: encrypted"));
	ASSERT_EQ(OK, run("veilctl attach /dev/ram1"));
	snprintf(name, sizeof(name), "veil-%s", self->u1);
	EXPECT_TRUE(mapped(name));
	/* a label that is no dm name ("db one") gives the uuid name */
	ASSERT_EQ(OK, run("veilctl attach /dev/ram2"));
	snprintf(name, sizeof(name), "veil-%s", self->u2);
	EXPECT_TRUE(mapped(name));
	EXPECT_FALSE(mapped("veil-ram0") || mapped("veil-ram1") || mapped("veil-ram2"));
	/* the udev helper for the mapping's by-veil links */
	ASSERT_EQ(OK, run("veilctl probe --mapping dbone"));
	EXPECT_TRUE(has("VEIL_MAP_UUID="));
	EXPECT_TRUE(strstr(out, self->u0) != NULL);
	EXPECT_TRUE(has("VEIL_MAP_LABEL_ENC=dbone\n"));
	ASSERT_EQ(OK, run("veilctl probe --mapping %s", name));
	EXPECT_TRUE(has("VEIL_MAP_LABEL_ENC=db\\x20one\n"));
	EXPECT_NE(OK, run("veilctl probe --mapping nosuchmapping"));
	/* names = kernel: the old naming, for admins who rely on it */
	ASSERT_EQ(OK, run("veilctl detach dbone"));
	tab("names = kernel\n");
	ASSERT_EQ(OK, run("veilctl attach /dev/ram0"));
	EXPECT_TRUE(mapped("veil-ram0"));
	/* the same LU through another device (a copy, a second path): refused */
	ASSERT_EQ(0, sh("dmsetup remove %s", name));
	ASSERT_EQ(0, sh("dd if=/dev/ram0 of=/dev/ram2 bs=1M 2>/dev/null"));
	ASSERT_EQ(BUSY, run("veilctl attach /dev/ram2"));
	EXPECT_TRUE(has("attached already as veil-ram0 through /dev/ram0"));
	/* encrypt names its mapping the same way attach would */
	cleanup();
	ASSERT_EQ(OK, run("veilctl encrypt /dev/ram1 --key-id " K1 " --label fresh"));
	EXPECT_TRUE(mapped("fresh"));
}

TEST_F_TIMEOUT(vt, listed_name_and_options_win, 150)
{
	char t[512];

	ASSERT_EQ(0, mkevlu(0, "dbone", self->u0));
	snprintf(t, sizeof(t), "# test\ndata = UUID=%s discard,key-timeout=7,ro\n", self->u0);
	tab(t);
	ASSERT_EQ(OK, run("veilctl attach /dev/ram0 --wait 20"));
	EXPECT_TRUE(has("attached as /dev/mapper/data"));
	EXPECT_TRUE(has("read-only"));
	EXPECT_TRUE(has("data: encrypted"));
	ASSERT_EQ(0, run("dmsetup table data"));
	EXPECT_TRUE(has("key_timeout:7"));
	EXPECT_TRUE(has("allow_discards"));
	ASSERT_EQ(0, run("dmsetup info data"));
	EXPECT_TRUE(has("READ-ONLY"));
	/* ro: a write is refused, a read works */
	EXPECT_NE(0, sh("dd if=/dev/zero of=/dev/mapper/data bs=4k count=1 oflag=direct 2>/dev/null"));
	EXPECT_EQ(0, sh("dd if=/dev/mapper/data of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null"));
	ASSERT_EQ(OK, run("veilctl detach data"));
	/* the command line's NAME and options win over the file */
	ASSERT_EQ(OK, run("veilctl attach /dev/ram0 mine --key-timeout 9"));
	EXPECT_TRUE(mapped("mine"));
	ASSERT_EQ(0, run("dmsetup table mine"));
	EXPECT_TRUE(has("key_timeout:9"));
	ASSERT_EQ(OK, run("veilctl detach mine"));
	/* LABEL= and a /dev path name the same LU */
	tab("bylabel = LABEL=dbone\n");
	ASSERT_EQ(OK, run("veilctl attach /dev/ram0"));
	EXPECT_TRUE(mapped("bylabel"));
	ASSERT_EQ(OK, run("veilctl detach bylabel"));
	tab("bypath = /dev/ram0 discard\n");
	ASSERT_EQ(OK, run("veilctl attach /dev/ram0"));
	EXPECT_TRUE(mapped("bypath"));
	ASSERT_EQ(0, run("dmsetup table bypath"));
	EXPECT_TRUE(has("allow_discards"));
	EXPECT_FALSE(has("key_timeout"));
}

TEST_F_TIMEOUT(vt, attach_all_noauto_nofail, 150)
{
	char t[1024];

	ASSERT_EQ(0, mkevlu(0, "la", self->u0));
	ASSERT_EQ(0, mkevlu(1, NULL, self->u1));
	ASSERT_EQ(0, mkevlu(2, NULL, self->u2));
	sh("mkdir -p /dev/disk/by-partuuid && ln -sf /dev/ram2 /dev/disk/by-partuuid/6b1d2a3c-01");
	snprintf(t, sizeof(t),
		 "a = LABEL=la\n"
		 "b = UUID=%s key-timeout=5\n"
		 "c = PARTUUID=6B1D2A3C-01 noauto\n"
		 "gone = LABEL=nothere nofail\n", self->u1);
	tab(t);
	ASSERT_EQ(OK, run("veilctl attach --all --wait 20"));
	EXPECT_TRUE(has("no such device"));
	EXPECT_TRUE(has("gone: not attached; nofail"));
	EXPECT_TRUE(has("a: encrypted"));
	EXPECT_TRUE(has("b: encrypted"));
	EXPECT_TRUE(mapped("a") && mapped("b"));
	EXPECT_FALSE(mapped("c"));
	/* again: already attached is fine */
	ASSERT_EQ(OK, run("veilctl attach --all"));
	EXPECT_TRUE(has("already attached as a"));
	/* noauto is for automatic attaches only: by hand it attaches (by-partuuid) */
	ASSERT_EQ(OK, run("veilctl attach /dev/ram2"));
	EXPECT_TRUE(mapped("c"));
	/* a missing LU without nofail fails the command (after the others) */
	cleanup();
	ASSERT_EQ(0, mkevlu(0, "la", self->u0));
	tab("gone = LABEL=nothere\na = LABEL=la\n");
	ASSERT_EQ(NODEV, run("veilctl attach --all"));
	EXPECT_TRUE(has("gone (LABEL=nothere, " TAB ":1): no such device"));
	EXPECT_TRUE(mapped("a"));
	/* bad lines: each reported with FILE:LINE, the good ones attached, exit 12 */
	sh("dmsetup remove a");
	tab("a = LABEL=la\nb = sdb\nc = LABEL=x discards\n");
	ASSERT_EQ(CONF, run("veilctl attach --all"));
	EXPECT_TRUE(has(TAB ":2: 'sdb' is not an LU"));
	EXPECT_TRUE(has(TAB ":3: unknown option 'discards'"));
	EXPECT_TRUE(has("2 bad lines left out"));
	EXPECT_TRUE(mapped("a"));
	/* --initrd: only x-initrd.attach LUs */
	sh("dmsetup remove a");
	ASSERT_EQ(0, mkevlu(1, "lb", self->u1));
	tab("a = LABEL=la\nb = LABEL=lb x-initrd.attach\n");
	ASSERT_EQ(OK, run("veilctl attach --initrd"));
	EXPECT_TRUE(mapped("b"));
	EXPECT_FALSE(mapped("a"));
	/* usage */
	EXPECT_EQ(USAGE, run("veilctl attach --all /dev/ram0"));
	EXPECT_EQ(CONF, run("veilctl attach --all --veiltab /nonexistent/dir/"));
}

TEST_F_TIMEOUT(vt, auto_attach_policy, 150)
{
	char t[512];

	ASSERT_EQ(0, mkevlu(0, "la", self->u0));
	ASSERT_EQ(0, mkevlu(1, "lb", self->u1));
	/* default (no file): all */
	ASSERT_EQ(OK, run("veilctl attach --auto /dev/ram0"));
	EXPECT_TRUE(mapped("la"));
	sh("dmsetup remove la");
	/* none: nothing by itself, a listed LU neither; by hand and --all, yes */
	snprintf(t, sizeof(t), "auto-attach = none\nsecond = UUID=%s\n", self->u1);
	tab(t);
	ASSERT_EQ(OK, run("veilctl attach --auto /dev/ram0"));
	EXPECT_TRUE(has("not attached: auto-attach = none (" TAB ":1)"));
	EXPECT_FALSE(mapped("la"));
	ASSERT_EQ(OK, run("veilctl attach --auto /dev/ram1"));
	EXPECT_TRUE(has("auto-attach = none"));
	EXPECT_FALSE(mapped("second"));
	ASSERT_EQ(OK, run("veilctl attach --all"));
	EXPECT_TRUE(mapped("second"));
	EXPECT_FALSE(mapped("la"));
	sh("dmsetup remove second");
	/* listed: only what the file names, under its name */
	tab("auto-attach = listed\nsecond = LABEL=lb\n");
	ASSERT_EQ(OK, run("veilctl attach --auto /dev/ram0"));
	EXPECT_TRUE(has("auto-attach = listed"));
	EXPECT_FALSE(mapped("la"));
	ASSERT_EQ(OK, run("veilctl attach --auto /dev/ram1"));
	EXPECT_TRUE(mapped("second"));
	sh("dmsetup remove second");
	/* noauto: udev leaves it; by hand it attaches */
	tab("second = LABEL=lb noauto\n");
	ASSERT_EQ(OK, run("veilctl attach --auto /dev/ram1"));
	EXPECT_TRUE(has("not attached: noauto (" TAB ":1)"));
	EXPECT_FALSE(mapped("second"));
	ASSERT_EQ(OK, run("veilctl attach /dev/ram1"));
	EXPECT_TRUE(mapped("second"));
	/* all, written out */
	tab("auto-attach = all\n");
	ASSERT_EQ(OK, run("veilctl attach --auto /dev/ram0"));
	EXPECT_TRUE(mapped("la"));
	/* a veiltab that cannot be read (here a directory): nothing by itself */
	sh("dmsetup remove la; rm -f " TAB "; mkdir " TAB);
	ASSERT_EQ(OK, run("veilctl attach --auto /dev/ram0"));
	EXPECT_TRUE(has("not attached: " TAB " is unreadable"));
	EXPECT_FALSE(mapped("la"));
	EXPECT_EQ(CONF, run("veilctl attach --all"));
	ASSERT_EQ(OK, run("veilctl attach /dev/ram0"));
	EXPECT_TRUE(mapped("la"));
	sh("rmdir " TAB);
	/* the RUN path without systemd: a detached child does the same */
	sh("dmsetup remove la");
	tab("auto-attach = listed\n");
	ASSERT_EQ(OK, run("veilctl -q attach --auto --background /dev/ram0; sleep 1"));
	EXPECT_FALSE(mapped("la"));
	tab("");
	ASSERT_EQ(OK, run("veilctl -q attach --auto --background /dev/ram0; sleep 1"));
	EXPECT_TRUE(mapped("la"));
}

TEST_F_TIMEOUT(vt, multipath_and_md_refused, 150)
{
	char t[512];

	ASSERT_EQ(0, mkevlu(0, "mplu", self->u0));
	ASSERT_EQ(0, mkevlu(1, "member", self->u1));
	/* what multipath's rules set on a path, what blkid sets on an md member */
	ASSERT_EQ(OK, run("DM_MULTIPATH_DEVICE_PATH=1 veilctl attach --auto /dev/ram0"));
	EXPECT_TRUE(has("a multipath path (DM_MULTIPATH_DEVICE_PATH=1)"));
	EXPECT_FALSE(mapped("mplu"));
	ASSERT_EQ(OK, run("DM_MULTIPATH_DEVICE_PATH=1 veilctl -q attach --auto --background /dev/ram0; sleep 1"));
	EXPECT_FALSE(mapped("mplu"));
	ASSERT_EQ(OK, run("ID_FS_TYPE=linux_raid_member veilctl attach --auto /dev/ram1"));
	EXPECT_TRUE(has("an md RAID member"));
	EXPECT_FALSE(mapped("member"));
	/* DM_MULTIPATH_DEVICE_PATH=0 is not a path */
	ASSERT_EQ(OK, run("DM_MULTIPATH_DEVICE_PATH=0 veilctl attach --auto /dev/ram1"));
	EXPECT_TRUE(mapped("member"));
	sh("dmsetup remove member");

	/* a multipath map over ram0 (one path): the map is attached, not the path */
	ASSERT_EQ(0, sh("echo \"0 $(blockdev --getsz /dev/ram0) linear /dev/ram0 0\" |"
			" dmsetup create mpatha --uuid mpath-3600a0b800012345600000000deadbeef"));
	ASSERT_EQ(BUSY, run("veilctl attach /dev/ram0"));
	EXPECT_TRUE(has("a path of multipath map mpatha"));
	EXPECT_TRUE(has("attach /dev/mapper/mpatha instead"));
	/*
	 * veil-attach@sda may run after multipathd built the map that udev's
	 * rules had not yet seen: nothing to do, and not a failed unit.
	 */
	ASSERT_EQ(OK, run("veilctl attach --auto /dev/ram0"));
	EXPECT_TRUE(has("not attached: a path of multipath map mpatha; the map is attached instead"));
	EXPECT_FALSE(mapped("mplu"));
	snprintf(t, sizeof(t), "lu = UUID=%s\n", self->u0);
	tab(t);
	ASSERT_EQ(OK, run("veilctl attach --all --wait 20"));
	EXPECT_TRUE(has("lu: encrypted"));
	ASSERT_EQ(0, run("veilctl status lu --json"));
	/* the mapping sits on the map (dm-N), not on ram0 */
	EXPECT_EQ(0, sh("dmsetup table lu | grep -qE \" veil $(dmsetup info -c -o major,minor --noheadings --separator : mpatha)( |$)\""));
	ASSERT_EQ(OK, run("veilctl detach lu"));
	ASSERT_EQ(OK, run("veilctl attach --auto /dev/mapper/mpatha"));
	EXPECT_TRUE(mapped("lu"));
	/* what veil-attach@dm\x2dN's ExecStop and an admin may say */
	ASSERT_EQ(OK, run("veilctl detach /dev/mapper/mpatha"));
	EXPECT_FALSE(mapped("lu"));

	/* another dm device (not a multipath map) on ram1: held, and --auto leaves dm devices alone */
	ASSERT_EQ(0, sh("echo \"0 $(blockdev --getsz /dev/ram1) linear /dev/ram1 0\" | dmsetup create lvlike"));
	ASSERT_EQ(BUSY, run("veilctl attach /dev/ram1"));
	EXPECT_TRUE(has("in use by dm-"));
	EXPECT_TRUE(has("(lvlike)"));
	ASSERT_EQ(OK, run("veilctl attach --auto /dev/mapper/lvlike"));
	EXPECT_TRUE(has("not a multipath map"));
	EXPECT_FALSE(mapped("member"));
	/* attach --all does not pick a held device, and says why */
	tab("m = LABEL=member\n");
	ASSERT_EQ(BUSY, run("veilctl attach --all"));
	EXPECT_TRUE(has("m: refusing: the LU is on /dev/"));
	EXPECT_TRUE(has("which is in use"));
	EXPECT_FALSE(mapped("m"));
}

TEST_HARNESS_MAIN
