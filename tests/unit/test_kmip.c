// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the KMIP TTLV codec and reply parsers (lib/kmip/ttlv.c,
 * lib/kmip/proto.c), the key-id naming and the configuration parser.
 * Output is TAP 13 with a kselftest-style "# Totals" line; the exit status
 * is 1 if anything failed.
 *
 * Three kinds of input: encodings from the KMIP 1.2 specification's own
 * examples (section 9.1.2) written out byte by byte; replies encoded by an
 * independent implementation (PyKMIP 0.10, the vectors below); and
 * malformed replies built here.  Each malformed case names the reason the
 * decoder must give, so a test cannot pass because an earlier, unrelated
 * check fired.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kmip/kmip.h"
#include "tap.h"
#include "util.h"

/* ------------------------------------------------------------ harness --- */


static size_t unhex(const char *hex, uint8_t *out, size_t size)
{
	size_t n = 0;
	unsigned int v;

	while (hex[0] && hex[1] && n < size && sscanf(hex, "%2x", &v) == 1) {
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

static bool bytes_are(const struct ttlv_buf *b, const char *hex)
{
	uint8_t want[512];
	size_t n = unhex(hex, want, sizeof(want));

	return b->len == n && !memcmp(b->p, want, n);
}

/* Replies to one-item requests, encoded by PyKMIP 0.10 (kmip.core). */
static const char vec_get[] =
	"42007b010000013042007a0100000048420069010000002042006a0200000004"
	"000000010000000042006b020000000400000002000000004200920900000008"
	"000000006553f10042000d0200000004000000010000000042000f01000000d8"
	"42005c05000000040000000a0000000042007f05000000040000000000000000"
	"42007c01000000b0420057050000000400000002000000004200940700000001"
	"370000000000000042008f010000008842004001000000804200420500000004"
	"0000000100000000420045010000004842004308000000400001020304050607"
	"08090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627"
	"28292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f4200280500000004"
	"000000030000000042002a02000000040000020000000000"
	;
static const char vec_locate[] =
	"42007b01000000a042007a0100000048420069010000002042006a0200000004"
	"000000010000000042006b020000000400000002000000004200920900000008"
	"000000006553f10042000d0200000004000000010000000042000f0100000048"
	"42005c0500000004000000080000000042007f05000000040000000000000000"
	"42007c0100000020420094070000000133000000000000004200940700000002"
	"3132000000000000"
	;
static const char vec_denied[] =
	"42007b01000000b042007a0100000048420069010000002042006a0200000004"
	"000000010000000042006b020000000400000002000000004200920900000008"
	"000000006553f10042000d0200000004000000010000000042000f0100000058"
	"42005c05000000040000000a0000000042007f05000000040000000100000000"
	"42007e05000000040000000c0000000042007d070000001a436f756c64206e6f"
	"74206c6f63617465206f626a6563743a2037000000000000"
	;
static const char vec_getattrs[] =
	"42007b010000015042007a0100000048420069010000002042006a0200000004"
	"000000010000000042006b020000000400000002000000004200920900000008"
	"000000006553f10042000d0200000004000000010000000042000f01000000f8"
	"42005c05000000040000000b0000000042007f05000000040000000000000000"
	"42007c01000000d0420094070000000135000000000000004200080100000020"
	"42000a0700000005537461746500000042000b05000000040000000200000000"
	"420008010000003042000a070000001443727970746f67726170686963204c65"
	"6e6774680000000042000b020000000400000200000000004200080100000058"
	"42000a07000000044e616d650000000042000b01000000404200550700000025"
	"7665696c2d303031313232333334343535363637373838393961616262636364"
	"646565666600000042005405000000040000000100000000"
	;

static uint8_t buf[8192];

/* ------------------------------------------------------- spec examples --- */

static void test_spec_encodings(void)
{
	struct ttlv_buf b;

	ttlv_buf_init(&b, false);
	ttlv_put_int(&b, 0x420020, 8);
	check(bytes_are(&b, "4200200200000004" "0000000800000000"),
	      "integer 8 encodes as in the spec");
	ttlv_buf_free(&b);

	ttlv_buf_init(&b, false);
	ttlv_put_long(&b, 0x420020, 123456789000000000LL);
	check(bytes_are(&b, "4200200300000008" "01b69b4ba5749200"),
	      "long integer encodes as in the spec");
	ttlv_buf_free(&b);

	ttlv_buf_init(&b, false);
	ttlv_put_enum(&b, 0x420020, 255);
	check(bytes_are(&b, "4200200500000004" "000000ff00000000"),
	      "enumeration encodes as in the spec");
	ttlv_buf_free(&b);

	ttlv_buf_init(&b, false);
	ttlv_put_bool(&b, 0x420020, true);
	check(bytes_are(&b, "4200200600000008" "0000000000000001"),
	      "boolean true encodes as in the spec");
	ttlv_buf_free(&b);

	ttlv_buf_init(&b, false);
	ttlv_put_text(&b, 0x420020, "Hello World");
	check(bytes_are(&b, "420020070000000b" "48656c6c6f20576f726c640000000000"),
	      "text string encodes as in the spec (zero padded)");
	ttlv_buf_free(&b);

	ttlv_buf_init(&b, false);
	ttlv_put_bytes(&b, 0x420020, "\x01\x02\x03", 3);
	check(bytes_are(&b, "4200200800000003" "0102030000000000"),
	      "byte string encodes as in the spec");
	ttlv_buf_free(&b);

	ttlv_buf_init(&b, true);
	ttlv_begin(&b, 0x420020);
	ttlv_put_enum(&b, 0x420004, 254);
	ttlv_put_int(&b, 0x420005, 255);
	ttlv_end(&b);
	check(!ttlv_buf_finish(&b) &&
	      bytes_are(&b, "4200200100000020" "42000405000000040000" "00fe00000000"
			"42000502000000040000" "00ff00000000"),
	      "structure encodes as in the spec (secret buffer)");
	ttlv_buf_free(&b);
}

static void test_encoder_errors(void)
{
	struct ttlv_buf b;
	int i;

	ttlv_buf_init(&b, false);
	ttlv_begin(&b, 0x420078);
	check(ttlv_buf_finish(&b) == -EINVAL, "unclosed structure is an error");
	ttlv_buf_free(&b);

	ttlv_buf_init(&b, false);
	ttlv_end(&b);
	check(ttlv_buf_finish(&b) == -EINVAL, "closing nothing is an error");
	ttlv_buf_free(&b);

	ttlv_buf_init(&b, false);
	for (i = 0; i < TTLV_MAX_OPEN + 1; i++)
		ttlv_begin(&b, 0x420078);
	check(ttlv_buf_finish(&b) == -EOVERFLOW, "nesting beyond %d is refused",
	      TTLV_MAX_OPEN);
	ttlv_buf_free(&b);

	ttlv_buf_init(&b, false);
	for (i = 0; i < 100; i++)
		ttlv_put_bytes(&b, 0x420043, buf, sizeof(buf));
	check(!ttlv_buf_finish(&b) && b.len == 100 * (8 + sizeof(buf)),
	      "buffer grows across many items");
	ttlv_buf_free(&b);
}

/* ------------------------------------------------------------ decoder --- */

struct bad_case {
	const char *name, *hex, *why;
};

static const struct bad_case bad_cases[] = {
	{ "empty", "", "empty message" },
	{ "short header", "42007b0100", "truncated item header" },
	{ "length past end", "42007b0100000010" "4200940700000001",
	  "item longer than its container" },
	{ "child past parent", "42007b0100000008" "4200940700000008",
	  "item longer than its container" },
	{ "unknown type", "42007b0b00000000", "unknown item type" },
	{ "type zero", "42007b0000000000", "unknown item type" },
	{ "integer of 8 bytes", "4200200200000008" "0000000000000008",
	  "wrong length for a fixed-size type" },
	{ "boolean of 4 bytes", "4200200600000004" "0000000100000000",
	  "wrong length for a fixed-size type" },
	{ "enum of 0 bytes", "4200200500000000", "wrong length for a fixed-size type" },
	{ "big integer of 5", "4200200400000005" "0102030405000000",
	  "big integer length not a multiple of 8" },
	{ "structure of 12", "42007b010000000c" "4200200700000004" "31323334",
	  "structure length not a multiple of 8" },
	{ "trailing bytes", "4200200700000001" "3100000000000000" "00",
	  "trailing bytes after the message" },
	{ "huge length", "42002008ffffffff" "00", "item longer than its container" },
	{ "text missing its padding", "4200200700000001" "31",
	  "item longer than its container" },
};

static void test_decoder_errors(void)
{
	const char *why;
	struct ttlv t;
	size_t i, n;
	int r;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		n = unhex(bad_cases[i].hex, buf, sizeof(buf));
		r = ttlv_parse(n ? buf : NULL, n, &t, &why);
		check(r == -EBADMSG && why && !strcmp(why, bad_cases[i].why),
		      "malformed: %s -> %s (got %s)", bad_cases[i].name,
		      bad_cases[i].why, why ? why : "accepted");
	}
}

/* Nest @depth structures, innermost holding one integer. */
static size_t nest(int depth)
{
	size_t off = 0;
	int i;

	for (i = 0; i < depth; i++) {
		uint32_t len = (uint32_t)(depth - i - 1) * 8 + 16;
		uint8_t *p = buf + off;

		p[0] = 0x42; p[1] = 0; p[2] = 0x20; p[3] = TTLV_STRUCT;
		p[4] = len >> 24; p[5] = len >> 16; p[6] = len >> 8; p[7] = len;
		off += 8;
	}
	unhex("4200200200000004" "0000000100000000", buf + off, 16);
	return off + 16;
}

static void test_depth(void)
{
	const char *why;
	struct ttlv t;
	size_t n;

	n = nest(TTLV_MAX_DEPTH);
	check(!ttlv_parse(buf, n, &t, &why), "%d nested structures accepted",
	      TTLV_MAX_DEPTH);
	n = nest(TTLV_MAX_DEPTH + 1);
	check(ttlv_parse(buf, n, &t, &why) == -EBADMSG && why &&
	      !strcmp(why, "structures nested too deep"),
	      "%d nested structures refused: too deep", TTLV_MAX_DEPTH + 1);
	n = nest(500);
	check(ttlv_parse(buf, n, &t, &why) == -EBADMSG,
	      "500 nested structures refused without deep recursion");
}

static void test_accessors(void)
{
	struct ttlv_buf b;
	struct ttlv root, t;
	char s[8];
	uint32_t e;
	int32_t i;

	ttlv_buf_init(&b, false);
	ttlv_begin(&b, 0x420001);
	ttlv_put_int(&b, 0x420002, -5);
	ttlv_put_enum(&b, 0x420003, 7);
	ttlv_put_text(&b, 0x420004, "abc");
	ttlv_put_text(&b, 0x420005, "abcdefghij");
	ttlv_put_bytes(&b, 0x420006, "a\0b", 3);
	ttlv_end(&b);
	check(!ttlv_buf_finish(&b) && !ttlv_parse(b.p, b.len, &root, NULL),
	      "encoded structure parses");
	check(!ttlv_find_int(&root, 0x420002, &i) && i == -5, "negative integer");
	check(!ttlv_find_enum(&root, 0x420003, &e) && e == 7, "enumeration");
	check(ttlv_find_enum(&root, 0x420002, &e) == -EBADMSG,
	      "integer read as enumeration is -EBADMSG");
	check(ttlv_find_int(&root, 0x420099, &i) == -ENOENT, "absent tag is -ENOENT");
	check(!ttlv_find_text(&root, 0x420004, s, sizeof(s)) && !strcmp(s, "abc"),
	      "text copied");
	check(ttlv_find_text(&root, 0x420005, s, sizeof(s)) == -EBADMSG,
	      "text too long for the buffer is -EBADMSG");
	check(!ttlv_find(&root, 0x420006, 0, &t) && t.type == TTLV_BYTES && t.len == 3,
	      "find with any type");
	ttlv_buf_free(&b);
}

/* ------------------------------------------------------------ replies --- */

static size_t vec(const char *hex)
{
	return unhex(hex, buf, sizeof(buf));
}

static void test_pykmip_replies(void)
{
	char uids[4][KMIP_UID_MAX];
	struct kmip_result r;
	struct kmip_key info;
	uint8_t key[128], want[64];
	const char *why = NULL;
	size_t n, i;
	int cnt;

	for (i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)i;
	n = vec(vec_get);
	check(!kmip_resp_parse(buf, n, KMIP_OP_GET, &r, &why) &&
	      r.status == KMIP_STATUS_SUCCESS && r.has_payload,
	      "PyKMIP Get reply parses");
	check(!kmip_parse_symkey(&r.payload, key, sizeof(key), &info, &why) &&
	      info.len == 64 && !memcmp(key, want, 64) && info.bits == 512 &&
	      info.algorithm == KMIP_ALG_AES && info.format == KMIP_KFT_RAW,
	      "PyKMIP Get reply: 512-bit AES key, raw");
	check(kmip_parse_symkey(&r.payload, key, 32, &info, &why) == -EMSGSIZE,
	      "key larger than the caller's buffer is -EMSGSIZE");
	check(kmip_resp_parse(buf, n, KMIP_OP_LOCATE, &r, &why) == -EBADMSG &&
	      !strcmp(why, "response is for another operation"),
	      "Get reply to a Locate is refused: another operation");

	n = vec(vec_locate);
	check(!kmip_resp_parse(buf, n, KMIP_OP_LOCATE, &r, &why) &&
	      !kmip_parse_locate(&r.payload, uids, 4, &cnt) && cnt == 2 &&
	      !strcmp(uids[0], "3") && !strcmp(uids[1], "12"),
	      "PyKMIP Locate reply: identifiers 3 and 12");
	check(!kmip_parse_locate(&r.payload, uids, 1, &cnt) && cnt == 2,
	      "Locate counts identifiers beyond those copied");

	n = vec(vec_denied);
	check(!kmip_resp_parse(buf, n, KMIP_OP_GET, &r, &why) &&
	      r.status == KMIP_STATUS_OPERATION_FAILED &&
	      r.reason == KMIP_REASON_PERMISSION_DENIED &&
	      !strcmp(r.message, "Could not locate object: 7") && !r.has_payload,
	      "PyKMIP failure reply: permission denied with its message");

	n = vec(vec_getattrs);
	{
		struct kmip_attrs a;

		check(!kmip_resp_parse(buf, n, KMIP_OP_GET_ATTRIBUTES, &r, &why) &&
		      !kmip_parse_attributes(&r.payload, &a) && !strcmp(a.uid, "5") &&
		      a.state == KMIP_STATE_ACTIVE && a.bits == 512 &&
		      !strcmp(a.name, "veil-00112233445566778899aabbccddeeff"),
		      "PyKMIP Get Attributes reply: uid, state, length, name");
	}

	/* every truncation of a valid reply is refused, never overread */
	n = vec(vec_get);
	for (i = 0; i < n; i++)
		if (kmip_resp_parse(buf, i, KMIP_OP_GET, &r, &why) != -EBADMSG)
			break;
	check(i == n, "every truncation of the Get reply is refused (%zu)", n);
}

/* A reply built with our encoder; @mut changes one thing. */
enum mut {
	M_NONE, M_BATCH2, M_NO_STATUS, M_BADLEN, M_WRAPPED, M_TRANSPARENT,
	M_NO_PAYLOAD, M_MAJOR2, M_NOT_RESPONSE, M_SECRET_DATA, M_STATUS_TEXT,
	M_COMPRESSED, M_COUNT3, M_IDS, M_BADID, M_LEN0, M_3DES, M_HMAC,
	M_NOALG, M_NOLEN, M_LENNEG,
};

static struct ttlv_buf build(enum mut m)
{
	struct ttlv_buf b;
	int items = m == M_BATCH2 || m == M_COUNT3 || m == M_IDS ||
		    m == M_BADID ? 2 : 1, i;

	ttlv_buf_init(&b, true);
	ttlv_begin(&b, m == M_NOT_RESPONSE ? KMIP_TAG_REQUEST_MESSAGE :
		   KMIP_TAG_RESPONSE_MESSAGE);
	ttlv_begin(&b, KMIP_TAG_RESPONSE_HEADER);
	ttlv_begin(&b, KMIP_TAG_PROTOCOL_VERSION);
	ttlv_put_int(&b, KMIP_TAG_PROTOCOL_VERSION_MAJOR, m == M_MAJOR2 ? 2 : 1);
	ttlv_put_int(&b, KMIP_TAG_PROTOCOL_VERSION_MINOR, 2);
	ttlv_end(&b);
	ttlv_put_datetime(&b, KMIP_TAG_TIME_STAMP, 1700000000);
	ttlv_put_int(&b, KMIP_TAG_BATCH_COUNT, m == M_COUNT3 ? 3 : items);
	ttlv_end(&b);
	for (i = 0; i < items; i++) {
		ttlv_begin(&b, KMIP_TAG_BATCH_ITEM);
		ttlv_put_enum(&b, KMIP_TAG_OPERATION, KMIP_OP_GET);
		if (m == M_IDS || m == M_BADID) {
			uint8_t id = m == M_BADID && i ? 9 : (uint8_t)(i + 1);

			ttlv_put_bytes(&b, KMIP_TAG_UNIQUE_BATCH_ITEM_ID, &id, 1);
		}
		if (m == M_STATUS_TEXT)
			ttlv_put_text(&b, KMIP_TAG_RESULT_STATUS, "ok");
		else if (m != M_NO_STATUS)
			ttlv_put_enum(&b, KMIP_TAG_RESULT_STATUS, KMIP_STATUS_SUCCESS);
		if (m == M_NO_PAYLOAD) {
			ttlv_end(&b);
			continue;
		}
		ttlv_begin(&b, KMIP_TAG_RESPONSE_PAYLOAD);
		ttlv_put_enum(&b, KMIP_TAG_OBJECT_TYPE, m == M_SECRET_DATA ? 7 :
			      KMIP_OBJ_SYMMETRIC_KEY);
		ttlv_put_text(&b, KMIP_TAG_UNIQUE_IDENTIFIER, "42");
		ttlv_begin(&b, KMIP_TAG_SYMMETRIC_KEY);
		ttlv_begin(&b, KMIP_TAG_KEY_BLOCK);
		ttlv_put_enum(&b, KMIP_TAG_KEY_FORMAT_TYPE, m == M_TRANSPARENT ?
			      KMIP_KFT_TRANSPARENT_SYMMETRIC : KMIP_KFT_RAW);
		if (m == M_COMPRESSED)
			ttlv_put_enum(&b, KMIP_TAG_KEY_COMPRESSION_TYPE, 1);
		ttlv_begin(&b, KMIP_TAG_KEY_VALUE);
		if (m == M_TRANSPARENT) {
			ttlv_begin(&b, KMIP_TAG_KEY_MATERIAL);
			ttlv_put_bytes(&b, KMIP_TAG_KEY, "0123456789abcdef", 16);
			ttlv_end(&b);
		} else {
			ttlv_put_bytes(&b, KMIP_TAG_KEY_MATERIAL, "0123456789abcdef", 16);
		}
		ttlv_end(&b);
		if (m != M_NOALG)
			ttlv_put_enum(&b, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM,
				      m == M_3DES ? 2 : m == M_HMAC ? 9 :
				      KMIP_ALG_AES);
		if (m != M_NOLEN)
			ttlv_put_int(&b, KMIP_TAG_CRYPTOGRAPHIC_LENGTH,
				     m == M_BADLEN ? 256 : m == M_LEN0 ? 0 :
				     m == M_LENNEG ? -128 : 128);
		if (m == M_WRAPPED) {
			ttlv_begin(&b, KMIP_TAG_KEY_WRAPPING_DATA);
			ttlv_put_enum(&b, 0x42009E, 1);
			ttlv_end(&b);
		}
		ttlv_end(&b);
		ttlv_end(&b);
		ttlv_end(&b);
		ttlv_end(&b);
	}
	ttlv_end(&b);
	return b;
}

static void test_built_replies(void)
{
	static const struct {
		enum mut m;
		int resp;		/* kmip_resp_parse result */
		int key;		/* kmip_parse_symkey result */
		const char *why;
	} cases[] = {
		{ M_NONE, 0, 0, NULL },
		{ M_TRANSPARENT, 0, 0, NULL },
		{ M_BATCH2, -EBADMSG, 0, "response batch count is not 1" },
		{ M_NO_STATUS, -EBADMSG, 0, "no result status" },
		{ M_STATUS_TEXT, -EBADMSG, 0, "no result status" },
		{ M_NO_PAYLOAD, -EBADMSG, 0, "successful response without a payload" },
		{ M_MAJOR2, -EBADMSG, 0, "response in a KMIP major version other than 1" },
		{ M_NOT_RESPONSE, -EBADMSG, 0, "not a KMIP response message" },
		{ M_BADLEN, 0, -EBADMSG, "key length does not match its cryptographic length" },
		{ M_WRAPPED, 0, -EOPNOTSUPP, "key is wrapped (not supported)" },
		{ M_COMPRESSED, 0, -EOPNOTSUPP, "key is compressed (not supported)" },
		{ M_SECRET_DATA, 0, -EOPNOTSUPP, "object is not a symmetric key" },
		{ M_LEN0, 0, -EBADMSG, "key length does not match its cryptographic length" },
		{ M_LENNEG, 0, -EBADMSG, "key length does not match its cryptographic length" },
		{ M_3DES, 0, -EOPNOTSUPP, "a 3DES key, not AES: veil's ciphers take AES keys only" },
		{ M_HMAC, 0, -EOPNOTSUPP, "an HMAC key, not AES: veil's ciphers take AES keys only" },
		{ M_NOALG, 0, 0, NULL },
		{ M_NOLEN, 0, 0, NULL },
	};
	struct kmip_result r;
	struct kmip_key info;
	struct ttlv_buf b;
	uint8_t key[64];
	const char *why;
	size_t i;
	int rr, kr;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b = build(cases[i].m);
		why = NULL;
		kr = 1;
		rr = ttlv_buf_finish(&b);
		if (!rr)
			rr = kmip_resp_parse(b.p, b.len, KMIP_OP_GET, &r, &why);
		if (!rr) {
			memset(key, 0xaa, sizeof(key));
			kr = kmip_parse_symkey(&r.payload, key, sizeof(key), &info, &why);
		}
		if (cases[i].resp)
			check(rr == cases[i].resp && why && !strcmp(why, cases[i].why),
			      "reply case %zu refused: %s (got %s)", i, cases[i].why,
			      why ? why : "-");
		else if (cases[i].key)
			check(kr == cases[i].key && why && !strcmp(why, cases[i].why) &&
			      key[0] == 0xaa,
			      "reply case %zu key refused: %s (got %s)", i, cases[i].why,
			      why ? why : "-");
		else
			check(!rr && !kr && info.len == 16 &&
			      !memcmp(key, "0123456789abcdef", 16),
			      "reply case %zu: 16-byte key read", i);
		ttlv_buf_free(&b);
	}
}

/* Replies to a request of several items (veild's Get Attributes + Get). */
static void test_batch_replies(void)
{
	static const uint32_t get2[] = { KMIP_OP_GET, KMIP_OP_GET, KMIP_OP_GET };
	static const uint32_t attr_get[] = { KMIP_OP_GET_ATTRIBUTES, KMIP_OP_GET };
	struct kmip_result res[3];
	struct ttlv_buf b;
	const char *why;
	int got, r;

	b = build(M_BATCH2);
	check(!ttlv_buf_finish(&b), "batch reply built");
	why = NULL;
	r = kmip_resp_parse_batch(b.p, b.len, get2, 2, res, &got, &why);
	check(!r && got == 2 && res[0].has_payload && res[1].has_payload &&
	      res[1].status == KMIP_STATUS_SUCCESS,
	      "two-item reply to a two-item request: both results");
	r = kmip_resp_parse_batch(b.p, b.len, get2, 3, res, &got, &why);
	check(!r && got == 2, "a server may answer fewer items than asked");
	why = NULL;
	r = kmip_resp_parse_batch(b.p, b.len, attr_get, 2, res, &got, &why);
	check(r == -EBADMSG && why && !strcmp(why, "response is for another operation"),
	      "an item answering another operation is refused");
	why = NULL;
	r = kmip_resp_parse_batch(b.p, b.len, get2, 1, res, &got, &why);
	check(r == -EBADMSG && why && !strcmp(why, "response batch count is not 1"),
	      "more items than asked are refused");
	ttlv_buf_free(&b);

	b = build(M_IDS);
	check(!ttlv_buf_finish(&b), "batch reply with item IDs built");
	r = kmip_resp_parse_batch(b.p, b.len, get2, 2, res, &got, &why);
	check(!r && got == 2, "items carrying the request's batch item IDs");
	ttlv_buf_free(&b);

	b = build(M_BADID);
	check(!ttlv_buf_finish(&b), "batch reply with a wrong item ID built");
	why = NULL;
	r = kmip_resp_parse_batch(b.p, b.len, get2, 2, res, &got, &why);
	check(r == -EBADMSG && why && !strcmp(why, "batch item ID is not the request's"),
	      "an item carrying another batch item ID is refused");
	ttlv_buf_free(&b);

	b = build(M_COUNT3);
	check(!ttlv_buf_finish(&b), "batch reply with a wrong count built");
	why = NULL;
	r = kmip_resp_parse_batch(b.p, b.len, get2, 3, res, &got, &why);
	check(r == -EBADMSG && why &&
	      !strcmp(why, "response batch items disagree with its count"),
	      "a batch count that disagrees with the items is refused");
	ttlv_buf_free(&b);
}

static void test_requests(void)
{
	struct ttlv root, hdr, item, pl, t;
	struct ttlv_buf b;
	char s[64];
	uint32_t e;
	int32_t v;

	ttlv_buf_init(&b, false);
	kmip_req_begin(&b, 2, KMIP_OP_LOCATE, 65536);
	kmip_pl_locate_name(&b, "veil-00ff", KMIP_STATE_ACTIVE, 0);
	kmip_req_end(&b);
	check(!ttlv_buf_finish(&b) && !ttlv_parse(b.p, b.len, &root, NULL) &&
	      root.tag == KMIP_TAG_REQUEST_MESSAGE, "Locate request is one message");
	check(!ttlv_find(&root, KMIP_TAG_REQUEST_HEADER, TTLV_STRUCT, &hdr) &&
	      !ttlv_find(&hdr, KMIP_TAG_PROTOCOL_VERSION, TTLV_STRUCT, &t) &&
	      !ttlv_find_int(&t, KMIP_TAG_PROTOCOL_VERSION_MINOR, &v) && v == 2 &&
	      !ttlv_find_int(&hdr, KMIP_TAG_BATCH_COUNT, &v) && v == 1,
	      "header: KMIP 1.2, batch count 1");
	check(!ttlv_find(&root, KMIP_TAG_BATCH_ITEM, TTLV_STRUCT, &item) &&
	      !ttlv_find_enum(&item, KMIP_TAG_OPERATION, &e) && e == KMIP_OP_LOCATE &&
	      !ttlv_find(&item, KMIP_TAG_REQUEST_PAYLOAD, TTLV_STRUCT, &pl),
	      "batch item: Locate with payload");
	/* the Name attribute carries the name */
	{
		struct ttlv_iter it;
		bool found = false;

		ttlv_iter_init(&it, &pl);
		while (ttlv_iter_next(&it, &t)) {
			struct ttlv v2;

			if (t.tag != KMIP_TAG_ATTRIBUTE ||
			    ttlv_find_text(&t, KMIP_TAG_ATTRIBUTE_NAME, s, sizeof(s)) ||
			    strcmp(s, "Name") ||
			    ttlv_find(&t, KMIP_TAG_ATTRIBUTE_VALUE, TTLV_STRUCT, &v2))
				continue;
			found = !ttlv_find_text(&v2, KMIP_TAG_NAME_VALUE, s, sizeof(s)) &&
				!strcmp(s, "veil-00ff");
		}
		check(found, "Locate filters by Name 'veil-00ff'");
	}
	ttlv_buf_free(&b);

	/* the key-hint lookup: two items, IDs 1 and 2, named attributes */
	{
		static const char *const names[] = { "Name", "State" };
		struct ttlv_iter it;
		uint8_t ids[2] = { 0, 0 };
		int items = 0, attrs = 0;

		ttlv_buf_init(&b, false);
		kmip_req_begin_batch(&b, 2, 2, 0);
		kmip_req_item(&b, KMIP_OP_GET_ATTRIBUTES, 1);
		kmip_pl_get_attrs(&b, "7", names, 2);
		kmip_req_item_end(&b);
		kmip_req_item(&b, KMIP_OP_GET, 2);
		kmip_pl_uid(&b, "7");
		kmip_req_item_end(&b);
		ttlv_end(&b);
		check(!ttlv_buf_finish(&b) && !ttlv_parse(b.p, b.len, &root, NULL) &&
		      !ttlv_find(&root, KMIP_TAG_REQUEST_HEADER, TTLV_STRUCT, &hdr) &&
		      !ttlv_find_int(&hdr, KMIP_TAG_BATCH_COUNT, &v) && v == 2,
		      "batch request: header says 2 items");
		ttlv_iter_init(&it, &root);
		while (ttlv_iter_next(&it, &item)) {
			struct ttlv id;

			if (item.tag != KMIP_TAG_BATCH_ITEM)
				continue;
			if (items < 2 &&
			    !ttlv_find(&item, KMIP_TAG_UNIQUE_BATCH_ITEM_ID, TTLV_BYTES, &id) &&
			    id.len == 1)
				ids[items] = id.val[0];
			if (!items && !ttlv_find(&item, KMIP_TAG_REQUEST_PAYLOAD, TTLV_STRUCT, &pl)) {
				struct ttlv_iter ai;

				ttlv_iter_init(&ai, &pl);
				while (ttlv_iter_next(&ai, &t))
					attrs += t.tag == KMIP_TAG_ATTRIBUTE_NAME;
			}
			items++;
		}
		check(items == 2 && ids[0] == 1 && ids[1] == 2,
		      "batch request: two items with batch item IDs 1 and 2");
		check(attrs == 2, "Get Attributes asks for the named attributes only");
		ttlv_buf_free(&b);
	}
}

static void test_attributes(void)
{
	struct kmip_result r;
	struct kmip_attrs a;
	struct ttlv_buf b;

	ttlv_buf_init(&b, false);
	ttlv_begin(&b, KMIP_TAG_RESPONSE_MESSAGE);
	ttlv_begin(&b, KMIP_TAG_RESPONSE_HEADER);
	ttlv_begin(&b, KMIP_TAG_PROTOCOL_VERSION);
	ttlv_put_int(&b, KMIP_TAG_PROTOCOL_VERSION_MAJOR, 1);
	ttlv_put_int(&b, KMIP_TAG_PROTOCOL_VERSION_MINOR, 2);
	ttlv_end(&b);
	ttlv_put_int(&b, KMIP_TAG_BATCH_COUNT, 1);
	ttlv_end(&b);
	ttlv_begin(&b, KMIP_TAG_BATCH_ITEM);
	ttlv_put_enum(&b, KMIP_TAG_OPERATION, KMIP_OP_GET_ATTRIBUTES);
	ttlv_put_enum(&b, KMIP_TAG_RESULT_STATUS, 0);
	ttlv_begin(&b, KMIP_TAG_RESPONSE_PAYLOAD);
	ttlv_put_text(&b, KMIP_TAG_UNIQUE_IDENTIFIER, "9");
	ttlv_begin(&b, KMIP_TAG_ATTRIBUTE);
	ttlv_put_text(&b, KMIP_TAG_ATTRIBUTE_NAME, "State");
	ttlv_put_enum(&b, KMIP_TAG_ATTRIBUTE_VALUE, KMIP_STATE_ACTIVE);
	ttlv_end(&b);
	ttlv_begin(&b, KMIP_TAG_ATTRIBUTE);
	ttlv_put_text(&b, KMIP_TAG_ATTRIBUTE_NAME, "Cryptographic Length");
	ttlv_put_int(&b, KMIP_TAG_ATTRIBUTE_VALUE, 512);
	ttlv_end(&b);
	ttlv_begin(&b, KMIP_TAG_ATTRIBUTE);
	ttlv_put_text(&b, KMIP_TAG_ATTRIBUTE_NAME, "Name");
	ttlv_begin(&b, KMIP_TAG_ATTRIBUTE_VALUE);
	ttlv_put_text(&b, KMIP_TAG_NAME_VALUE, "veil-\x01x");
	ttlv_put_enum(&b, KMIP_TAG_NAME_TYPE, 1);
	ttlv_end(&b);
	ttlv_end(&b);
	ttlv_begin(&b, KMIP_TAG_ATTRIBUTE);
	ttlv_put_text(&b, KMIP_TAG_ATTRIBUTE_NAME, "Some Vendor Attribute");
	ttlv_put_bytes(&b, KMIP_TAG_ATTRIBUTE_VALUE, "zz", 2);
	ttlv_end(&b);
	ttlv_end(&b);
	ttlv_end(&b);
	ttlv_end(&b);
	check(!ttlv_buf_finish(&b) &&
	      !kmip_resp_parse(b.p, b.len, KMIP_OP_GET_ATTRIBUTES, &r, NULL) &&
	      !kmip_parse_attributes(&r.payload, &a) && !strcmp(a.uid, "9") &&
	      a.state == KMIP_STATE_ACTIVE && a.bits == 512,
	      "Get Attributes: state and length read, unknown attribute skipped");
	check(!strcmp(a.name, "veil-\\x01x"), "server text is escaped (got %s)", a.name);
	ttlv_buf_free(&b);
}

/* ---------------------------------------------------- key-ids, config --- */

static void test_keyids(void)
{
	uint8_t id[64];
	char name[KMIP_NAME_MAX];

	check(veil_kmip_keyid_parse("00112233445566778899aabbccddeeff", id, 64) == 16 &&
	      id[0] == 0 && id[15] == 0xff, "hex key-id parses");
	check(veil_kmip_keyid_parse("veil-0aFF", id, 64) == 2 && id[1] == 0xff,
	      "key-id with its name prefix parses");
	check(veil_kmip_keyid_parse("abc", id, 64) == -EINVAL &&
	      veil_kmip_keyid_parse("zz", id, 64) == -EINVAL &&
	      veil_kmip_keyid_parse("", id, 64) == -EINVAL &&
	      veil_kmip_keyid_parse("0011", id, 1) == -EINVAL,
	      "odd, non-hex, empty and too long key-ids refused");
	check(!veil_kmip_keyid_name((const uint8_t *)"\x01\xab", 2, name, sizeof(name)) &&
	      !strcmp(name, "veil-01ab"), "key-id names its key veil-<hex>");
	check(veil_kmip_keyid_name(id, 64, name, 20) == -EINVAL,
	      "name that does not fit is refused");
}

static char conf_path[64];

static int conf_try(const char *text, struct veil_kmip_conf *c, char *err,
		    size_t errlen)
{
	FILE *f = fopen(conf_path, "w");

	fputs(text, f);
	fclose(f);
	veil_kmip_conf_defaults(c);
	return veil_kmip_conf_load(c, conf_path, err, errlen);
}

static void test_config(void)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
		{ "server = a\nca = x\ncert = y\nkey = z\nsever = b\n", ":5: unknown setting 'sever'" },
		{ "server = a\n\n  # c\nnonsense\n", ":4: expected 'key = value'" },
		{ "server = a:99999\n", ":1: server port must be an integer from 1 to 65535" },
		{ "server = fe80::1\n", ":1: server 'fe80::1': write an IPv6 address as [address]:port" },
		{ "retry_budget = soon\n", ":1: retry_budget must be a number of seconds" },
		{ "workers = 0\n", ":1: workers must be an integer from 1 to 256" },
		{ "ca =\n", ":1: ca needs a value" },
		{ "ca = x\ncert = y\nkey = z\n", "no 'server = host[:port]' set" },
		{ "server = a\ncert = y\nkey = z\n", "no 'ca = FILE' set" },
		{ "log = journal\n", ":1: log must be stderr or syslog" },
		{ "= x\n", ":1: missing key before '='" },
	};
	struct veil_kmip_conf c;
	char err[512];
	size_t i;

	snprintf(conf_path, sizeof(conf_path), "/tmp/test_kmip.%d.conf", getpid());
	check(!conf_try("# veild\nserver = kms.example:5697\nserver=[::1]\n"
			"server = 10.0.2.100\n"
			"ca = /c\ncert = /h\nkey = /k\nretry_budget = 2.5\n"
			"workers = 3\nidle_timeout = 0\nkmip_version = 1.4\n"
			"server_name = kms\nlog = syslog\ndebug = yes\n", &c, err, sizeof(err)) &&
	      c.nservers == 3 && !strcmp(c.servers[0].host, "kms.example") &&
	      !strcmp(c.servers[0].port, "5697") && !strcmp(c.servers[1].host, "::1") &&
	      !strcmp(c.servers[1].port, "5696") && !strcmp(c.servers[2].port, "5696") &&
	      c.retry_budget_ms == 2500 && c.workers == 3 && c.idle_timeout_ms == 0 &&
	      c.kmip_minor == 4 && c.log == VEIL_LOG_SYSLOG && c.debug,
	      "a full configuration parses");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = conf_try(bad[i].text, &c, err, sizeof(err));

		check(r == -EINVAL && strstr(err, bad[i].err),
		      "bad configuration %zu: '%s' (got '%s')", i, bad[i].err, err);
	}
	check(veil_kmip_conf_load(&c, "/nonexistent/veild.conf", err, sizeof(err)) == -ENOENT &&
	      strstr(err, "/nonexistent/veild.conf"), "missing file named in the error");
	unlink(conf_path);
}

static void test_secmem(void)
{
	uint8_t *p = veil_secmem_alloc(100);
	size_t i;
	bool zero = true;

	if (!check(p != NULL, "locked memory allocated (%s)", veil_secmem_kind()))
		return;
	for (i = 0; i < 4096; i++)
		zero &= !p[i];
	memset(p, 0x5a, 4096);
	check(zero, "locked memory starts zeroed, whole page usable");
	veil_secmem_free(p, 100);
}

static void test_escape(void)
{
	static const char forged[] = "x\nveild[1]: info: forged line\x1b[2K\r";
	char out[VEIL_ESCAPED_SIZE(sizeof(forged))], small[8];
	static const uint8_t bin[] = { 0, 0x7f, 0x80, 0xff, '\\', 'a' };
	size_t i;
	bool printable = true;

	veil_escape_str(out, sizeof(out), forged);
	for (i = 0; out[i]; i++)
		if (out[i] < 0x20 || out[i] >= 0x7f)
			printable = false;
	check(printable && !strcmp(out, "x\\x0aveild[1]: info: forged line\\x1b[2K\\x0d"),
	      "escape: a forged log line becomes one printable line (%s)", out);
	veil_escape(out, sizeof(out), bin, sizeof(bin));
	check(!strcmp(out, "\\x00\\x7f\\x80\\xff\\\\a"),
	      "escape: NUL, DEL, high bytes, backslash (%s)", out);
	veil_escape_str(small, sizeof(small), "ab\ncd");
	check(!strcmp(small, "ab\\x0ac"), "escape: truncated at a whole escape (%s)", small);
	veil_escape_str(small, 3, "\n");
	check(!strcmp(small, ""), "escape: an escape that does not fit is left out");
	memset(small, 'z', sizeof(small));
	veil_escape_str(small, 1, "abc");
	check(small[0] == '\0' && small[1] == 'z', "escape: size 1 holds only the NUL");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	test_spec_encodings();
	test_encoder_errors();
	test_decoder_errors();
	test_depth();
	test_accessors();
	test_pykmip_replies();
	test_built_replies();
	test_batch_replies();
	test_requests();
	test_attributes();
	test_keyids();
	test_config();
	test_secmem();
	test_escape();
	return tap_done();
}
