// SPDX-License-Identifier: GPL-2.0
/*
 * Every veil module loads and unloads cleanly; veil.ko registers the "veil"
 * generic netlink family and takes it away again on unload; dm-veil.ko
 * registers the device-mapper target "veil".
 *
 * Runs inside the QEMU guest as root, where the project's modules are under
 * /lib/modules/$(uname -r)/extra.  A kernel WARNING/BUG during any of this
 * fails the whole run in the host-side runner, even though the test itself
 * cannot see it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/family.h>
#include <netlink/genl/genl.h>

#include <linux/veil.h>

#include "kselftest_harness.h"

static int run(const char *cmd)
{
	int rc = system(cmd);

	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/*
 * rmmod @name, retrying for up to 5 s: a module that registers a crypto
 * algorithm is held while the crypto manager self-tests it, which on 6.12
 * can still be running when modprobe has returned.  A module that never
 * unloads still fails.
 */
static int unload(const char *name)
{
	char cmd[300];
	int i, rc = -1;

	snprintf(cmd, sizeof(cmd), "rmmod %s 2>/dev/null", name);
	for (i = 0; i < 50; i++) {
		rc = run(cmd);
		if (!rc)
			break;
		usleep(100000);
	}
	return rc;
}

static int module_present(const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return stat(path, &st) == 0;
}

static int have_module_file(const char *file)
{
	struct utsname u;
	char path[512];
	struct stat st;

	if (uname(&u))
		return 0;
	snprintf(path, sizeof(path), "/lib/modules/%s/extra/%s", u.release, file);
	return stat(path, &st) == 0;
}

/*
 * Is the family registered right now?  Looked up in a dump of all families:
 * resolving it by name would make the kernel autoload veil.ko (the module
 * carries the genl family alias), which is what a daemon wants but not what
 * a test of "gone after unload" may do.
 */
static int family_listed(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_cache *cache = NULL;
	struct genl_family *fam;
	int found = -1;

	if (!sk)
		return -1;
	if (genl_connect(sk) || genl_ctrl_alloc_cache(sk, &cache))
		goto out;
	fam = genl_ctrl_search_by_name(cache, VEIL_GENL_NAME);
	found = fam != NULL;
	if (fam)
		genl_family_put(fam);
out:
	if (cache)
		nl_cache_free(cache);
	nl_socket_free(sk);
	return found;
}

/* Resolve by name, as veild does: may autoload veil.ko. */
static int resolve_family(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	int id;

	if (!sk)
		return -NLE_NOMEM;
	id = genl_connect(sk);
	if (!id)
		id = genl_ctrl_resolve(sk, VEIL_GENL_NAME);
	nl_socket_free(sk);
	return id;
}

static int dm_target_listed(const char *target)
{
	char line[256];
	int found = 0;
	FILE *p = popen("dmsetup targets 2>/dev/null", "r");

	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p))
		if (!strncmp(line, target, strlen(target)) &&
		    (line[strlen(target)] == ' ' || line[strlen(target)] == '\t'))
			found = 1;
	pclose(p);
	return found;
}

/*
 * Unload every module of ours, whatever loaded it (other suites run in the
 * same guest before this one): users first, so a few passes over the list.
 */
static void unload_all(void)
{
	char dir[512], cmd[600];
	struct utsname u;
	struct dirent *e;
	int pass;
	DIR *d;

	if (uname(&u))
		return;
	snprintf(dir, sizeof(dir), "/lib/modules/%s/extra", u.release);
	for (pass = 0; pass < 4; pass++) {
		d = opendir(dir);
		if (!d)
			return;
		while ((e = readdir(d))) {
			size_t len = strlen(e->d_name);

			if (len < 4 || strcmp(e->d_name + len - 3, ".ko"))
				continue;
			snprintf(cmd, sizeof(cmd), "rmmod %.*s 2>/dev/null",
				 (int)(len - 3), e->d_name);
			run(cmd);
		}
		closedir(d);
	}
}

FIXTURE(mods) {
	int dummy;
};

FIXTURE_SETUP(mods)
{
	if (getuid() != 0)
		SKIP(return, "needs root");
	/* Start from a clean slate: nothing of ours loaded. */
	unload_all();
	ASSERT_FALSE(module_present("veil")) TH_LOG("veil.ko still in use");
}

FIXTURE_TEARDOWN(mods)
{
	unload_all();
}

TEST_F(mods, core_loads_registers_family_and_unloads)
{
	ASSERT_TRUE(have_module_file("veil.ko"));
	ASSERT_EQ(0, family_listed());
	ASSERT_EQ(0, run("modprobe veil"));
	ASSERT_TRUE(module_present("veil"));
	ASSERT_EQ(1, family_listed());
	ASSERT_EQ(0, run("rmmod veil"));
	ASSERT_FALSE(module_present("veil"));
	ASSERT_EQ(0, family_listed());
}

TEST_F(mods, core_reload_cycles)
{
	int i;

	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, run("modprobe veil"));
		ASSERT_EQ(1, family_listed());
		ASSERT_EQ(0, run("rmmod veil"));
		ASSERT_EQ(0, family_listed());
	}
}

/* A daemon resolving the family by name gets veil.ko loaded on demand. */
TEST_F(mods, family_lookup_autoloads_core)
{
	ASSERT_FALSE(module_present("veil"));
	ASSERT_GT(resolve_family(), 0);
	ASSERT_TRUE(module_present("veil"));
	ASSERT_EQ(1, family_listed());
}

TEST_F(mods, dm_target_loads_and_unloads)
{
	if (!have_module_file("dm-veil.ko"))
		SKIP(return, "dm-veil.ko not built");
	ASSERT_EQ(0, run("modprobe dm-veil"));
	ASSERT_TRUE(module_present("dm_veil"));
	/* dm-veil depends on veil.ko, which modprobe pulls in. */
	ASSERT_TRUE(module_present("veil"));
	ASSERT_TRUE(dm_target_listed("veil"));
	/* The core cannot go while the target uses it. */
	ASSERT_NE(0, run("rmmod veil 2>/dev/null"));
	ASSERT_EQ(0, run("rmmod dm_veil"));
	ASSERT_FALSE(dm_target_listed("veil"));
	ASSERT_EQ(0, run("rmmod veil"));
	ASSERT_FALSE(module_present("veil"));
}

/* Every module the build produced loads, and unloads with what it pulled in. */
TEST_F(mods, every_module_loads_and_unloads)
{
	char dir[512], name[256], cmd[600];
	struct utsname u;
	struct dirent *e;
	int n = 0;
	DIR *d;

	ASSERT_EQ(0, uname(&u));
	snprintf(dir, sizeof(dir), "/lib/modules/%s/extra", u.release);
	d = opendir(dir);
	ASSERT_NE(NULL, d);
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		size_t i;

		if (len < 4 || strcmp(e->d_name + len - 3, ".ko") ||
		    len - 3 >= sizeof(name))
			continue;
		memcpy(name, e->d_name, len - 3);
		name[len - 3] = '\0';
		for (i = 0; name[i]; i++)
			if (name[i] == '-')
				name[i] = '_';
		snprintf(cmd, sizeof(cmd), "modprobe %s", name);
		EXPECT_EQ(0, run(cmd)) TH_LOG("%s does not load", name);
		EXPECT_TRUE(module_present(name)) TH_LOG("%s not in /sys/module", name);
		/*
		 * rmmod, not modprobe -r: the latter also tries the kernel's
		 * own dependencies (9pnet), which other suites may be using.
		 */
		EXPECT_EQ(0, unload(name)) TH_LOG("%s does not unload", name);
		EXPECT_FALSE(module_present(name));
		if (strcmp(name, "veil"))
			run("rmmod veil 2>/dev/null");
		EXPECT_FALSE(module_present("veil")) TH_LOG("veil left loaded by %s", name);
		n++;
	}
	closedir(d);
	ASSERT_GE(n, 2);
}

TEST_HARNESS_MAIN
