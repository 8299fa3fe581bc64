// SPDX-License-Identifier: GPL-2.0
/*
 * veil_async_cipher: a test-only skcipher for the dm-veil kselftests that
 * behaves like a crypto accelerator: it answers requests later, from a
 * workqueue, and backlogs some of them.
 *
 * It registers under the algorithm name "alg" (load-time parameter,
 * default "xts(aes)") with a priority above every other implementation,
 * so a tfm allocated for that name while it is loaded is this one.  Each
 * request is done by the best synchronous implementation of that name.
 *
 * Parameters under /sys/module/veil_async_cipher/parameters/:
 *   async       1 (default): answer on a workqueue (-EINPROGRESS), and
 *               backlog every third request that may be backlogged (-EBUSY,
 *               then -EINPROGRESS from the workqueue, then the answer);
 *               0: do the request in the caller's context and return.
 *   fail        bit 0 set: every decryption answers -EIO; bit 1 set:
 *               every encryption does (0, the default: neither).
 *   requests    read-only counters: requests taken,
 *   softirq     ...of those made in softirq context,
 *   task        ...of those made by a task that is not a workqueue
 *               worker (the submitter, in a read's completion on brd),
 *   backlogged  ...and of those answered -EBUSY first.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/err.h>
#include <linux/module.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/workqueue.h>
#include <crypto/internal/skcipher.h>

static char alg_name[CRYPTO_MAX_ALG_NAME] = "xts(aes)";
module_param_string(alg, alg_name, sizeof(alg_name), 0444);
MODULE_PARM_DESC(alg, "algorithm name to register under");

static bool async = true;
module_param(async, bool, 0644);
MODULE_PARM_DESC(async, "answer later, from a workqueue");

#define VAC_FAIL_DECRYPT	1
#define VAC_FAIL_ENCRYPT	2
static unsigned int fail;
module_param(fail, uint, 0644);
MODULE_PARM_DESC(fail, "answer -EIO to every decryption (1), encryption (2)");

static atomic_t requests, softirq, task, backlogged;
module_param_named(requests, requests.counter, int, 0444);
module_param_named(softirq, softirq.counter, int, 0444);
module_param_named(task, task.counter, int, 0444);
module_param_named(backlogged, backlogged.counter, int, 0444);

static struct workqueue_struct *vac_wq;

struct vac_ctx {
	struct crypto_skcipher *child;
};

/* Per-request data; the child's request (and its context) ends it. */
struct vac_req {
	struct work_struct work;
	struct skcipher_request *req;
	bool encrypt;
	bool backlog;
	struct skcipher_request sub;
};

static int vac_run(struct vac_req *vr)
{
	if (READ_ONCE(fail) &
	    (vr->encrypt ? VAC_FAIL_ENCRYPT : VAC_FAIL_DECRYPT))
		return -EIO;
	return vr->encrypt ? crypto_skcipher_encrypt(&vr->sub) :
			     crypto_skcipher_decrypt(&vr->sub);
}

static void vac_work(struct work_struct *w)
{
	struct vac_req *vr = container_of(w, struct vac_req, work);
	struct skcipher_request *req = vr->req;
	int err;

	if (vr->backlog) {
		local_bh_disable();
		skcipher_request_complete(req, -EINPROGRESS);
		local_bh_enable();
	}
	err = vac_run(vr);
	/* Answer as cryptd and most drivers do: with softirqs off. */
	local_bh_disable();
	skcipher_request_complete(req, err);
	local_bh_enable();
}

static int vac_crypt(struct skcipher_request *req, bool encrypt)
{
	struct vac_ctx *ctx = crypto_skcipher_ctx(crypto_skcipher_reqtfm(req));
	struct vac_req *vr = skcipher_request_ctx(req);
	int n = atomic_inc_return(&requests);
	bool backlog;

	if (in_serving_softirq())
		atomic_inc(&softirq);
	else if (in_task() && !(current->flags & PF_WQ_WORKER))
		atomic_inc(&task);
	vr->req = req;
	vr->encrypt = encrypt;
	skcipher_request_set_tfm(&vr->sub, ctx->child);
	skcipher_request_set_callback(&vr->sub, 0, NULL, NULL);
	skcipher_request_set_crypt(&vr->sub, req->src, req->dst, req->cryptlen,
				   req->iv);
	if (!READ_ONCE(async)) {
		vr->backlog = false;
		return vac_run(vr);
	}
	backlog = (req->base.flags & CRYPTO_TFM_REQ_MAY_BACKLOG) && !(n % 3);
	if (backlog)
		atomic_inc(&backlogged);
	vr->backlog = backlog;
	INIT_WORK(&vr->work, vac_work);
	queue_work(vac_wq, &vr->work);
	/* @vr may already be answered and gone: only locals from here. */
	return backlog ? -EBUSY : -EINPROGRESS;
}

static int vac_encrypt(struct skcipher_request *req)
{
	return vac_crypt(req, true);
}

static int vac_decrypt(struct skcipher_request *req)
{
	return vac_crypt(req, false);
}

static int vac_setkey(struct crypto_skcipher *tfm, const u8 *key,
		      unsigned int len)
{
	struct vac_ctx *ctx = crypto_skcipher_ctx(tfm);

	crypto_skcipher_clear_flags(ctx->child, CRYPTO_TFM_REQ_MASK);
	crypto_skcipher_set_flags(ctx->child, crypto_skcipher_get_flags(tfm) &
				  CRYPTO_TFM_REQ_MASK);
	return crypto_skcipher_setkey(ctx->child, key, len);
}

/* The synchronous implementation behind this one (never this one). */
static struct crypto_skcipher *vac_child_alloc(void)
{
	return crypto_alloc_skcipher(alg_name, 0, CRYPTO_ALG_ASYNC);
}

static int vac_init_tfm(struct crypto_skcipher *tfm)
{
	struct vac_ctx *ctx = crypto_skcipher_ctx(tfm);
	struct crypto_skcipher *child = vac_child_alloc();

	if (IS_ERR(child))
		return PTR_ERR(child);
	ctx->child = child;
	crypto_skcipher_set_reqsize(tfm, sizeof(struct vac_req) +
				    crypto_skcipher_reqsize(child));
	return 0;
}

static void vac_exit_tfm(struct crypto_skcipher *tfm)
{
	struct vac_ctx *ctx = crypto_skcipher_ctx(tfm);

	crypto_free_skcipher(ctx->child);
}

static struct skcipher_alg vac_alg = {
	.base = {
		.cra_driver_name	= "veil-async-test",
		.cra_priority		= 10000,
		.cra_flags		= CRYPTO_ALG_ASYNC,
		.cra_ctxsize		= sizeof(struct vac_ctx),
		.cra_module		= THIS_MODULE,
	},
	.init		= vac_init_tfm,
	.exit		= vac_exit_tfm,
	.setkey		= vac_setkey,
	.encrypt	= vac_encrypt,
	.decrypt	= vac_decrypt,
};

static int __init vac_init(void)
{
	struct crypto_skcipher *probe;
	int r;

	probe = vac_child_alloc();
	if (IS_ERR(probe)) {
		pr_err("no synchronous %s: %ld\n", alg_name, PTR_ERR(probe));
		return PTR_ERR(probe);
	}
	strscpy(vac_alg.base.cra_name, alg_name, sizeof(vac_alg.base.cra_name));
	vac_alg.base.cra_blocksize = crypto_skcipher_blocksize(probe);
	vac_alg.base.cra_alignmask = crypto_skcipher_alignmask(probe);
	vac_alg.min_keysize = crypto_skcipher_min_keysize(probe);
	vac_alg.max_keysize = crypto_skcipher_max_keysize(probe);
	vac_alg.ivsize = crypto_skcipher_ivsize(probe);
	vac_alg.chunksize = crypto_skcipher_chunksize(probe);
	crypto_free_skcipher(probe);

	vac_wq = alloc_workqueue("veil_async_cipher", WQ_UNBOUND, 0);
	if (!vac_wq)
		return -ENOMEM;
	r = crypto_register_skcipher(&vac_alg);
	if (r) {
		destroy_workqueue(vac_wq);
		return r;
	}
	return 0;
}

static void __exit vac_exit(void)
{
	crypto_unregister_skcipher(&vac_alg);
	destroy_workqueue(vac_wq);
}

module_init(vac_init);
module_exit(vac_exit);
MODULE_DESCRIPTION("veil test: an asynchronous skcipher");
MODULE_LICENSE("GPL");
