/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * veil: encrypted logical units whose replicas unlock themselves, and a
 * vsock filesystem for untrusted guests.
 *
 * This is the one header shared by the kernel modules (veil.ko, dm-veil.ko,
 * 9pnet_vsock.ko) and userspace (libveil, veild, veilctl, veil-fsd).  It
 * holds two ABIs: the generic netlink event queue and the on-disk metadata
 * layout of an encrypted LU (eVLU).  Both grow only by adding: a new command,
 * attribute, property or flag gets a new number; an existing one never
 * changes meaning.
 *
 * ---------------------------------------------------------------------------
 * Generic netlink family "veil", version VEIL_GENL_VERSION
 * ---------------------------------------------------------------------------
 *
 * The kernel holds a table of key requests.  A consumer (the dm target, the
 * vsock transport) asks veil.ko for the key of a key-id; veil.ko gives the
 * request a handle (VEIL_A_REQ_ID) and posts it to the registered key daemon.
 * The daemon answers with a push (the keyblob) or a failure (an errno and a
 * reason).  Only a CAP_SYS_ADMIN caller (in the initial user namespace) may
 * register, push or fail.  Nothing in the family ever sends key bytes to
 * userspace.  The family exists in the initial network namespace only.
 * Resolving it by name loads veil.ko if needed (module alias).
 *
 * VEIL_CMD_GET_INFO (any caller; doit)
 *   request:  none
 *   reply:    VEIL_A_ABI_VERSION   u32  VEIL_ABI_VERSION of the kernel
 *             VEIL_A_DAEMON_PID    u32  pid of the registered daemon, 0 if none
 *             VEIL_A_PENDING       u32  key requests not yet answered
 *
 * VEIL_CMD_REGISTER (CAP_SYS_ADMIN; doit)
 *   request:  VEIL_A_ABI_VERSION   u32  the daemon's ABI; must equal the kernel's
 *   reply:    VEIL_A_ABI_VERSION   u32  the kernel's ABI
 *   The calling socket becomes the key daemon; a previous daemon's socket is
 *   forgotten.  Every request still unanswered is (re-)sent to the new daemon
 *   as VEIL_CMD_KEY_REQUEST messages.  When the daemon's socket closes, the
 *   kernel keeps the requests and waits for the next registration.  A
 *   mismatched ABI is refused with EPROTO and the kernel's ABI in the reply
 *   extack.  The reply comes before the re-sent requests.  A request the
 *   kernel could not send (daemon's receive buffer full) stays pending; a
 *   daemon may REGISTER again on the same socket to have everything pending
 *   re-sent (it then sees duplicates of requests it already holds).
 *
 * VEIL_CMD_KEY_REQUEST (kernel -> daemon, unicast)
 *             VEIL_A_REQ_ID        u32  handle, unique among pending requests
 *             VEIL_A_CONSUMER      u32  enum veil_consumer
 *             VEIL_A_OBJECT        string  consumer's name for the object
 *                                          ("dm-3", "vsock:cid=5", ...)
 *             VEIL_A_KEY_ID        binary  1..VEIL_KEY_ID_MAX bytes
 *             VEIL_A_KEY_HINT      string  optional, where the key manager
 *                                          keeps the key (the LU's key-hint
 *                                          property: a KMIP Unique
 *                                          Identifier); a hint only, the
 *                                          daemon checks it against the key-id
 *
 * VEIL_CMD_KEY_PUSH (CAP_SYS_ADMIN; doit)
 *   request:  VEIL_A_REQ_ID        u32
 *             VEIL_A_KEY_ID        binary  must equal the request's key-id
 *             VEIL_A_KEY           binary  1..VEIL_KEY_MAX bytes of key
 *             VEIL_A_CIPHER        string  optional, dm-crypt style spec the
 *                                          key is meant for ("aes-xts-plain64")
 *   A push whose handle matches no pending request, or whose key-id differs
 *   from the one the request carried, is refused (ENOENT / EKEYREJECTED;
 *   the request then stays pending).  A request is answered exactly once.
 *
 * VEIL_CMD_KEY_FAIL (CAP_SYS_ADMIN; doit)
 *   request:  VEIL_A_REQ_ID        u32
 *             VEIL_A_KEY_ID        binary  must equal the request's key-id
 *             VEIL_A_ERRNO         u32  positive errno (EKEYREJECTED: refused
 *                                       by the key manager, ENOKEY: not found,
 *                                       EHOSTUNREACH: key manager unreachable;
 *                                       also EKEYREVOKED, EKEYEXPIRED, EACCES,
 *                                       EPERM, ETIMEDOUT, ECONNREFUSED,
 *                                       ENETUNREACH, EPROTO, EINVAL, EIO; any
 *                                       other reaches the consumer as EIO,
 *                                       0 is refused)
 *             VEIL_A_REASON        string  optional, human-readable, shown by
 *                                          status (never contains key bytes)
 *
 * Strict policies: every attribute has a fixed type and length bound; unknown
 * attributes, and attributes the command does not take, are rejected.
 * A refused KEY_PUSH never returns its key: veil.ko wipes the request's
 * attributes before the error ack is built, so an ack that repeats the
 * request (a socket without NETLINK_CAP_ACK) repeats zeros.  A daemon
 * should still set NETLINK_CAP_ACK (and NETLINK_EXT_ACK for the reason).
 *
 * ---------------------------------------------------------------------------
 * On-disk metadata of an eVLU (format version VEIL_MD_VERSION)
 * ---------------------------------------------------------------------------
 *
 * See docs/format.md for the full specification.  Summary: two copies, the
 * primary in the first VEIL_MD_AREA_SECTORS of the LU and the alternate in
 * the last VEIL_MD_AREA_SECTORS.  Each copy is one VEIL_MD_BLOCK_SIZE block:
 * a 512-byte header (struct veil_md_header, little endian) followed by a
 * list of properties (struct veil_md_prop + name + value, 8-byte aligned).
 * The checksum is crc32c over the header (with the csum field zero) and the
 * property list.  The data area the dm device exposes lies between the copies.
 */
#ifndef _UAPI_LINUX_VEIL_H
#define _UAPI_LINUX_VEIL_H

#include <linux/types.h>

#define VEIL_GENL_NAME		"veil"
#define VEIL_GENL_VERSION	1
#define VEIL_ABI_VERSION	1

enum veil_cmd {
	VEIL_CMD_UNSPEC,
	VEIL_CMD_GET_INFO,
	VEIL_CMD_REGISTER,
	VEIL_CMD_KEY_REQUEST,
	VEIL_CMD_KEY_PUSH,
	VEIL_CMD_KEY_FAIL,
	__VEIL_CMD_MAX,
};

#define VEIL_CMD_MAX (__VEIL_CMD_MAX - 1)

enum veil_attr {
	VEIL_A_UNSPEC,
	VEIL_A_ABI_VERSION,	/* u32 */
	VEIL_A_DAEMON_PID,	/* u32 */
	VEIL_A_PENDING,		/* u32 */
	VEIL_A_REQ_ID,		/* u32 */
	VEIL_A_CONSUMER,	/* u32, enum veil_consumer */
	VEIL_A_OBJECT,		/* NUL-terminated string */
	VEIL_A_KEY_ID,		/* binary, 1..VEIL_KEY_ID_MAX */
	VEIL_A_KEY,		/* binary, 1..VEIL_KEY_MAX; daemon -> kernel only */
	VEIL_A_CIPHER,		/* NUL-terminated string */
	VEIL_A_ERRNO,		/* u32, positive errno */
	VEIL_A_REASON,		/* NUL-terminated string */
	VEIL_A_KEY_HINT,	/* NUL-terminated string, < VEIL_KEY_HINT_MAX */
	__VEIL_A_MAX,
};

#define VEIL_A_MAX (__VEIL_A_MAX - 1)

enum veil_consumer {
	VEIL_CONSUMER_NONE,
	VEIL_CONSUMER_DM,	/* dm-veil target */
	VEIL_CONSUMER_VSOCK,	/* 9pnet_vsock transport (shared secret) */
	__VEIL_CONSUMER_MAX,
};

#define VEIL_KEY_ID_MAX		64	/* bytes */
#define VEIL_KEY_MAX		128	/* bytes: covers a 1024-bit key */
#define VEIL_OBJECT_MAX		64	/* bytes including NUL */
#define VEIL_CIPHER_MAX		64	/* bytes including NUL */
#define VEIL_REASON_MAX		128	/* bytes including NUL */
#define VEIL_KEY_HINT_MAX	65	/* bytes including NUL */

/*
 * Upper bound of dm-veil's key_timeout table option, in seconds.  A task
 * reading or writing through a bio held for the key sleeps
 * uninterruptibly for up to key_timeout; the kernel reports a task
 * blocked for 120 s (the default hung_task_timeout_secs) as hung.  60 s is
 * half of that: room for the timeout work running late on a loaded host
 * and for the I/O itself once the bio is let go.
 */
#define VEIL_KEY_TIMEOUT_MAX	60	/* seconds */

/* Device states, as shown by dm status and veilctl. */
enum veil_state {
	VEIL_STATE_UNKNOWN,		/* metadata unreadable */
	VEIL_STATE_UNENCRYPTED,		/* valid metadata (or none), no key-id */
	VEIL_STATE_WAITING,		/* key-id read, lookup posted */
	VEIL_STATE_NO_KEY,		/* lookup failed or refused */
	VEIL_STATE_ENCRYPTED,		/* keyblob present */
	__VEIL_STATE_MAX,
};

/* ---- on-disk metadata ------------------------------------------------- */

#define VEIL_MD_MAGIC		"VEILeVLU"	/* 8 bytes, no NUL */
#define VEIL_MD_MAGIC_LEN	8
#define VEIL_MD_VERSION		1
#define VEIL_MD_HEADER_SIZE	512
#define VEIL_MD_BLOCK_SIZE	4096	/* one copy: header + properties */
#define VEIL_MD_AREA_SECTORS	2048	/* 1 MiB reserved per copy */
#define VEIL_MD_PROPS_MAX	(VEIL_MD_BLOCK_SIZE - VEIL_MD_HEADER_SIZE)
#define VEIL_MD_PROP_ALIGN	8
#define VEIL_MD_PROP_NAME_MAX	32	/* bytes, no NUL on disk */
#define VEIL_MD_PLAINTEXT_MAX	64	/* ranges in the plaintext property */
#define VEIL_KEY_ID_DEFAULT	16	/* bytes */
#define VEIL_MD_LABEL_MAX	256	/* bytes of the label property */

/* Copy index stored in each header. */
#define VEIL_MD_COPY_PRIMARY	0
#define VEIL_MD_COPY_ALTERNATE	1

/* Header flags.  Unknown compat flags are ignored; unknown incompat flags
 * refuse activation.
 */
/* A re-encryption is in progress: the reencrypt property says which
 * sectors use which key.
 */
#define VEIL_MD_INCOMPAT_REENCRYPT 0x1u
#define VEIL_MD_INCOMPAT_KNOWN	VEIL_MD_INCOMPAT_REENCRYPT
#define VEIL_MD_COMPAT_KNOWN	0x0u

/* Property flags. */
#define VEIL_MD_PROP_REQUIRED	0x1u	/* unknown + required => refuse */
#define VEIL_MD_PROP_FLAGS_KNOWN VEIL_MD_PROP_REQUIRED

/* Well-known property names. */
#define VEIL_MD_PROP_KEY_ID	"key-id"	/* binary key-id */
#define VEIL_MD_PROP_PLAINTEXT	"plaintext"	/* array of veil_md_range */
#define VEIL_MD_PROP_LABEL	"label"		/* UTF-8 string */
#define VEIL_MD_PROP_KEY_HINT	"key-hint"	/* printable ASCII, no spaces */
#define VEIL_MD_PROP_REENCRYPT	"reencrypt"	/* struct veil_md_reencrypt */

/*
 * Re-encryption journal: while a window is being rewritten, its old
 * ciphertext is kept in the second half of the primary metadata area, so
 * a window is at most that long.
 */
#define VEIL_MD_JOURNAL_OFFSET	1024	/* LU sector of the journal */
#define VEIL_MD_JOURNAL_SECTORS	1024	/* 512 KiB: the largest window */

struct veil_md_header {
	__u8	magic[VEIL_MD_MAGIC_LEN];	/*   0 */
	__le16	version;			/*   8 */
	__le16	header_size;			/*  10 */
	__le32	csum;				/*  12 crc32c, see above */
	__le64	seqno;				/*  16 */
	__le32	incompat_flags;			/*  24 */
	__le32	compat_flags;			/*  28 */
	__le64	lu_sectors;			/*  32 LU size when written */
	__le64	data_offset;			/*  40 in 512-byte sectors */
	__le64	data_sectors;			/*  48 in 512-byte sectors */
	__le32	sector_size;			/*  56 512 or 4096 */
	__le32	props_len;			/*  60 bytes after header */
	__le32	key_bytes;			/*  64 key size for cipher */
	__le32	copy;				/*  68 VEIL_MD_COPY_* */
	__u8	uuid[16];			/*  72 LU identity */
	char	cipher[VEIL_CIPHER_MAX];	/*  88 NUL-padded */
	__u8	reserved[360];			/* 152 must be zero */
} __attribute__((packed));

struct veil_md_prop {
	__le16	name_len;	/* 1..VEIL_MD_PROP_NAME_MAX */
	__le16	flags;		/* VEIL_MD_PROP_* */
	__le32	value_len;	/* bytes of value after the name */
	/* name (name_len bytes), value (value_len bytes), zero pad to 8 */
} __attribute__((packed));

/* One range of the plaintext property, in 512-byte sectors of the data
 * area (device-relative, as the layer above addresses it).
 */
struct veil_md_range {
	__le64	start;
	__le64	len;
} __attribute__((packed));

/*
 * Value of the reencrypt property (present exactly when the header has
 * VEIL_MD_INCOMPAT_REENCRYPT).  Data-area sectors below boundary are
 * encrypted with the key of the key-id property (the new key), sectors at
 * or above it with the key of old_key_id.  window, when not 0, is the
 * number of sectors from boundary whose old ciphertext was saved in the
 * journal (CRC-32C journal_csum) before they are rewritten: a reader must
 * copy the journal back over them before using the LU.
 */
struct veil_md_reencrypt {
	__le64	boundary;		/* data-area sector */
	__le64	window;			/* sectors, 0..VEIL_MD_JOURNAL_SECTORS */
	__le32	journal_csum;		/* 0 when window is 0 */
	__le32	old_key_id_len;		/* 1..VEIL_KEY_ID_MAX */
	/* old_key_id (old_key_id_len bytes) follows */
} __attribute__((packed));

/* ---- vsock proof handshake (9pnet_vsock <-> veil-fsd) ------------------ */
/*
 * Where a VM's CID cannot be trusted, veil-fsd requires the guest to prove
 * it holds the VM's shared secret before any 9P message.  The guest side is
 * the 9pnet_vsock transport, mounted with keyid=<hex>; it obtains the secret
 * through the event queue (consumer VEIL_CONSUMER_VSOCK), never from a file.
 * All integers little endian.  See docs/9p-profile.md.
 *
 *   guest -> host  struct veil_proof_hello   magic "VEILHELO", version 1,
 *                                            key-id (len + bytes, <= 64)
 *   host -> guest  struct veil_proof_nonce   magic "VEILNONC", 32-byte nonce
 *   guest -> host  struct veil_proof_mac     magic "VEILPROF",
 *                  mac = HMAC-SHA256(secret, "veil-vsock-proof-v1" ||
 *                                    nonce[32] || le32 guest_cid ||
 *                                    le32 port)
 *   host -> guest  struct veil_proof_result  magic "VEILRSLT", status
 *                                            (0 accepted, else a positive
 *                                            errno: EACCES wrong proof,
 *                                            ENOKEY no secret for this VM)
 *
 * guest_cid and port are the guest's view: its own local CID and the
 * server port it connected to; the host checks them against the socket's
 * peer CID and its own port, so a proof cannot be replayed for another VM.
 * The label enters the MAC as its 19 bytes, without a terminating NUL.
 * The guest's "own local CID" is the source CID its transport puts on the
 * connection (1 over vsock_loopback, the VM's CID over virtio), i.e. what
 * the host sees as the peer; not getsockname(), which reports
 * VMADDR_CID_ANY for an auto-bound socket.
 * A server that requires proof closes a connection whose first bytes are
 * not a hello; a server that does not require it still answers a hello
 * (verifying if it has the VM's secret, otherwise accepting).
 */
#define VEIL_PROOF_VERSION	1
#define VEIL_PROOF_NONCE_LEN	32
#define VEIL_PROOF_MAC_LEN	32
#define VEIL_PROOF_LABEL	"veil-vsock-proof-v1"
#define VEIL_PROOF_SECRET_MAX	VEIL_KEY_MAX

struct veil_proof_hello {
	__u8	magic[8];		/* "VEILHELO" */
	__le32	version;		/* VEIL_PROOF_VERSION */
	__le16	key_id_len;		/* 1..VEIL_KEY_ID_MAX */
	__u8	key_id[VEIL_KEY_ID_MAX];
	__u8	pad[2];
} __attribute__((packed));

struct veil_proof_nonce {
	__u8	magic[8];		/* "VEILNONC" */
	__u8	nonce[VEIL_PROOF_NONCE_LEN];
} __attribute__((packed));

struct veil_proof_mac {
	__u8	magic[8];		/* "VEILPROF" */
	__u8	mac[VEIL_PROOF_MAC_LEN];
} __attribute__((packed));

struct veil_proof_result {
	__u8	magic[8];		/* "VEILRSLT" */
	__le32	status;
} __attribute__((packed));

#endif /* _UAPI_LINUX_VEIL_H */
