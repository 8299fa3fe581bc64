// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the KMIP reply decoder (lib/kmip/ttlv.c and
 * lib/kmip/proto.c): everything a key manager's reply meets in veild.
 *
 * Input: one control byte selecting the operation the reply answers
 * (low 2 bits: 0 Get, 1 Locate, 2 Get Attributes, 3 Create), then the
 * reply.  Every input is also parsed as the reply to veild's two-item
 * batch (Get Attributes, Get).  The decoder gets exactly the reply's bytes, in a buffer of that
 * size, so ASan sees any read past it.
 *
 * Properties checked: no crash or overread; a failed parse always says
 * why; a Get that yields a key yields at most the buffer's size and
 * exactly the length it reports; the key buffer is wiped when a Get fails.
 *
 * Seeds (tests/fuzz/corpus/fuzz_kmip) are replies encoded by PyKMIP 0.10.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kmip/proto.h"

static const uint32_t ops[4] = {
	KMIP_OP_GET, KMIP_OP_LOCATE, KMIP_OP_GET_ATTRIBUTES, KMIP_OP_CREATE,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char uids[4][KMIP_UID_MAX], uid[KMIP_UID_MAX];
	struct kmip_result r;
	struct kmip_attrs a;
	struct kmip_key info;
	uint8_t key[128];
	const char *why = NULL;
	uint8_t *copy;
	uint32_t op;
	size_t i;
	int n, e;

	if (size < 1)
		return 0;
	op = ops[data[0] & 3];
	size--;
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size);

	{
		static const uint32_t batch[KMIP_BATCH_MAX] = {
			KMIP_OP_GET_ATTRIBUTES, KMIP_OP_GET,
		};
		struct kmip_result res[KMIP_BATCH_MAX];
		int got;

		why = NULL;
		e = kmip_resp_parse_batch(size ? copy : NULL, size, batch,
					  KMIP_BATCH_MAX, res, &got, &why);
		if (e ? e != -EBADMSG || !why : got < 1 || got > KMIP_BATCH_MAX)
			abort();
		if (!e && res[0].has_payload)
			kmip_parse_attributes(&res[0].payload, &a);
		why = NULL;
	}
	e = kmip_resp_parse(size ? copy : NULL, size, op, &r, &why);
	if (e) {
		if (e != -EBADMSG || !why)
			abort();
		goto out;
	}
	if (!r.has_payload)
		goto out;
	switch (op) {
	case KMIP_OP_GET:
		memset(key, 0xa5, sizeof(key));
		e = kmip_parse_symkey(&r.payload, key, sizeof(key), &info, &why);
		if (!e && (info.len < 1 || info.len > sizeof(key)))
			abort();
		if (e && e != -EBADMSG && e != -EMSGSIZE && e != -EOPNOTSUPP)
			abort();
		if (e)
			for (i = 0; i < sizeof(key); i++)
				if (key[i] != 0xa5)
					abort();	/* key bytes written on failure */
		break;
	case KMIP_OP_LOCATE:
		e = kmip_parse_locate(&r.payload, uids, 4, &n);
		if (!e)
			for (i = 0; i < 4 && (int)i < n; i++)
				if (strlen(uids[i]) >= KMIP_UID_MAX)
					abort();
		break;
	case KMIP_OP_GET_ATTRIBUTES:
		if (!kmip_parse_attributes(&r.payload, &a) &&
		    (strlen(a.uid) >= KMIP_UID_MAX || strlen(a.name) >= KMIP_NAME_MAX))
			abort();
		break;
	default:
		if (!kmip_parse_uid(&r.payload, uid, sizeof(uid)) && !uid[0])
			abort();
		break;
	}
out:
	free(copy);
	return 0;
}
