// SPDX-License-Identifier: GPL-2.0
/*
 * veil_test_consumer: a test-only consumer of veil.ko, so the core
 * kselftests can create real key requests without dm-veil.
 *
 * debugfs, under /sys/kernel/debug/veil_test_consumer/:
 *   ctl     write "request SLOT KEYIDHEX [OBJECT [HINT]]"
 *                                                    post a key request
 *                 "cancel SLOT"                      veil_key_cancel()
 *                 "delay SLOT MS"                    make SLOT's callback
 *                                                    sleep MS first
 *   status  one line per used slot:
 *           "SLOT active=A calls=N violations=V result=R"
 *           R is "pending", "ok len=N cipher=C" or "err=-E reason=TEXT".
 *
 * The key bytes are never recorded, only their length.  violations counts
 * callbacks seen running after, or after the return of, veil_key_cancel().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "veil_core.h"

#define VTC_SLOTS	16

struct vtc_slot {
	struct veil_key_req *req;	/* under vtc_ctl_lock */
	bool used;
	unsigned int delay_ms;
	/* under vtc_res_lock: */
	bool in_cb;
	bool cancelled;			/* veil_key_cancel() has returned */
	unsigned int calls;
	unsigned int violations;
	char result[VEIL_REASON_MAX + 32];
};

static struct vtc_slot vtc_slots[VTC_SLOTS];
static DEFINE_MUTEX(vtc_ctl_lock);	/* never taken by the callback */
static DEFINE_SPINLOCK(vtc_res_lock);
static struct dentry *vtc_dir;

static void vtc_cb(void *ctx, int err, const struct veil_keyblob *kb,
		   const char *reason)
{
	struct vtc_slot *s = ctx;
	unsigned int delay;

	spin_lock(&vtc_res_lock);
	s->in_cb = true;
	if (s->cancelled)
		s->violations++;
	delay = s->delay_ms;
	spin_unlock(&vtc_res_lock);

	if (delay)
		msleep(delay);

	spin_lock(&vtc_res_lock);
	s->calls++;
	if (s->cancelled)
		s->violations++;
	if (!err)
		snprintf(s->result, sizeof(s->result), "ok len=%u cipher=%s",
			 kb->key_len, kb->cipher[0] ? kb->cipher : "-");
	else
		snprintf(s->result, sizeof(s->result), "err=%d reason=%s",
			 err, reason);
	s->in_cb = false;
	spin_unlock(&vtc_res_lock);
}

static void vtc_cancel_locked(struct vtc_slot *s)
{
	if (!s->req)
		return;
	veil_key_cancel(s->req);
	s->req = NULL;
	spin_lock(&vtc_res_lock);
	if (s->in_cb)
		s->violations++;
	s->cancelled = true;
	spin_unlock(&vtc_res_lock);
}

static int vtc_request(unsigned int n, const char *hex, const char *object,
		       const char *hint)
{
	struct vtc_slot *s = &vtc_slots[n];
	u8 key_id[VEIL_KEY_ID_MAX];
	size_t len = strlen(hex);
	char name[16];
	struct veil_key_req *req;

	if (!len || len % 2 || len / 2 > sizeof(key_id) ||
	    hex2bin(key_id, hex, len / 2))
		return -EINVAL;
	if (s->req)
		return -EBUSY;
	if (!object) {
		snprintf(name, sizeof(name), "test-%u", n);
		object = name;
	}
	spin_lock(&vtc_res_lock);
	s->used = true;
	s->in_cb = false;
	s->cancelled = false;
	s->calls = 0;
	strscpy(s->result, "pending", sizeof(s->result));
	spin_unlock(&vtc_res_lock);

	req = veil_key_request(VEIL_CONSUMER_DM, object, key_id, len / 2, hint,
			       vtc_cb, s);
	if (IS_ERR(req)) {
		spin_lock(&vtc_res_lock);
		snprintf(s->result, sizeof(s->result), "request-failed=%ld",
			 PTR_ERR(req));
		spin_unlock(&vtc_res_lock);
		return PTR_ERR(req);
	}
	s->req = req;
	return 0;
}

static ssize_t vtc_ctl_write(struct file *file, const char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	char buf[256], *p = buf, *verb, *a1, *a2, *a3, *a4;
	unsigned int n, v;
	int err;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	strim(buf);
	verb = strsep(&p, " ");
	a1 = strsep(&p, " ");
	a2 = strsep(&p, " ");
	a3 = strsep(&p, " ");
	a4 = strsep(&p, " ");
	if (!verb || !a1 || kstrtouint(a1, 10, &n) || n >= VTC_SLOTS)
		return -EINVAL;

	mutex_lock(&vtc_ctl_lock);
	if (!strcmp(verb, "request") && a2) {
		err = vtc_request(n, a2, a3, a4);
	} else if (!strcmp(verb, "cancel")) {
		vtc_cancel_locked(&vtc_slots[n]);
		err = 0;
	} else if (!strcmp(verb, "delay") && a2 && !kstrtouint(a2, 10, &v)) {
		spin_lock(&vtc_res_lock);
		vtc_slots[n].delay_ms = min(v, 10000U);
		spin_unlock(&vtc_res_lock);
		err = 0;
	} else {
		err = -EINVAL;
	}
	mutex_unlock(&vtc_ctl_lock);
	return err ? err : count;
}

static int vtc_status_show(struct seq_file *m, void *unused)
{
	unsigned int i;

	mutex_lock(&vtc_ctl_lock);
	spin_lock(&vtc_res_lock);
	for (i = 0; i < VTC_SLOTS; i++) {
		struct vtc_slot *s = &vtc_slots[i];

		if (!s->used)
			continue;
		seq_printf(m, "%u active=%d calls=%u violations=%u result=%s\n",
			   i, !!s->req, s->calls, s->violations, s->result);
	}
	spin_unlock(&vtc_res_lock);
	mutex_unlock(&vtc_ctl_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vtc_status);

static const struct file_operations vtc_ctl_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = vtc_ctl_write,
	.llseek = noop_llseek,
};

static int __init vtc_init(void)
{
	vtc_dir = debugfs_create_dir("veil_test_consumer", NULL);
	debugfs_create_file("ctl", 0200, vtc_dir, NULL, &vtc_ctl_fops);
	debugfs_create_file("status", 0400, vtc_dir, NULL, &vtc_status_fops);
	return 0;
}

static void __exit vtc_exit(void)
{
	unsigned int i;

	debugfs_remove_recursive(vtc_dir);
	mutex_lock(&vtc_ctl_lock);
	for (i = 0; i < VTC_SLOTS; i++)
		vtc_cancel_locked(&vtc_slots[i]);
	mutex_unlock(&vtc_ctl_lock);
}

module_init(vtc_init);
module_exit(vtc_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("veil test-only key request consumer (kselftests)");
