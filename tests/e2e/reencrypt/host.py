#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Host-side helpers of the reencrypt scenario (run.sh).

  host.py quit SOCKET
      HMP `quit` on a QEMU monitor socket: the guest dies at once, nothing
      is shut down or flushed by it.
  host.py check IMAGE MDJSON CERTS PORT OLDKID LOG
      The key check: MDJSON is `veilctl dump --json IMAGE`; its key-id must
      differ from OLDKID.  Both keys are fetched from the key manager with
      the PyKMIP client (name "veil-<key-id>", docs/kmip.md); every
      "VEIL-PT OFFSET HEX" line of the guest's LOG (the plaintext the
      guest read through the mapping at byte OFFSET of the data area) must
      be what AES-XTS with the new key (tweak: the encryption sector's
      number in the data area, docs/format.md) makes of IMAGE's bytes
      there, and what the old key makes of them must differ.
  host.py tear IMAGE MDJSON START LEN
      A torn write: random bytes over the middle half of data-area
      sectors [START, START+LEN) (512-byte sectors) of IMAGE.
"""
import json
import os
import re
import socket
import sys
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "kmip"))
import kms  # noqa: E402


def quit_qemu(sock_path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(sock_path)
    buf, end = b"", time.monotonic() + 30
    while not buf.endswith(b"(qemu) ") and time.monotonic() < end:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    s.sendall(b"quit\n")
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    print("monitor: quit sent")


def xts(key, data, first_unit, ssz, decrypt):
    out = b""
    for i in range(0, len(data), ssz):
        iv = (first_unit + i // ssz).to_bytes(16, "little")
        c = Cipher(algorithms.AES(key), modes.XTS(iv))
        op = c.decryptor() if decrypt else c.encryptor()
        out += op.update(data[i:i + ssz]) + op.finalize()
    return out


def check(image, mdjson, certs, port, oldkid, log):
    md = json.load(open(mdjson))["metadata"]
    newkid = md["key_id"]
    off, ssz = md["data_offset"], md["sector_size"]
    if md["cipher"] != "aes-xts-plain64":
        sys.exit(f"cipher {md['cipher']}, this check knows aes-xts-plain64")
    if not newkid or newkid == oldkid:
        sys.exit(f"the image's key-id {newkid} is not a new one (old {oldkid})")
    if md["incompat_flags"] & 1:
        sys.exit("the image is still marked re-encrypting")
    keys = {}
    for what, kid in (("new", newkid), ("old", oldkid)):
        uid, key, bits = kms.py_get_by_name(certs, int(port), "veil-" + kid)
        keys[what] = key
        print(f"key manager: {what} key {kid} is object {uid}, {bits} bits")
    pts = re.findall(r"^VEIL-PT (\d+) ([0-9a-f]+)\s*$", open(log, errors="replace").read(), re.M)
    if not pts:
        sys.exit("no VEIL-PT lines in the guest's log")
    with open(image, "rb") as f:
        for o, hexpt in pts:
            o, pt = int(o), bytes.fromhex(hexpt)
            if o % ssz or len(pt) % ssz or not pt:
                sys.exit(f"VEIL-PT at {o}: {len(pt)} bytes, not whole {ssz}-byte sectors")
            f.seek(off * 512 + o)
            ct = f.read(len(pt))
            if ct == pt:
                sys.exit(f"data-area byte {o}: the image holds the plaintext")
            if xts(keys["new"], ct, o // ssz, ssz, True) != pt:
                sys.exit(f"data-area byte {o}: the new key {newkid} does not decrypt the image's bytes to what the guest read")
            if xts(keys["old"], ct, o // ssz, ssz, True) == pt:
                sys.exit(f"data-area byte {o}: the old key {oldkid} still decrypts it")
            print(f"data-area byte {o} ({len(pt)} bytes, encryption sector {o // ssz}): "
                  f"AES-XTS under the new key, not under the old one")


def tear(image, mdjson, start, length):
    md = json.load(open(mdjson))["metadata"]
    start, length = int(start), int(length)
    if length <= 0 or start + length > md["data_sectors"]:
        sys.exit(f"window {start}+{length} is not inside the data area")
    a = start + length // 4
    n = max(1, length // 2)
    with open(image, "r+b") as f:
        f.seek((md["data_offset"] + a) * 512)
        f.write(os.urandom(n * 512))
    print(f"torn write: {n} random sectors at data-area sector {a} (window {start}+{length})")


def main(argv):
    if len(argv) == 3 and argv[1] == "quit":
        quit_qemu(argv[2])
    elif len(argv) == 8 and argv[1] == "check":
        check(*argv[2:8])
    elif len(argv) == 6 and argv[1] == "tear":
        tear(*argv[2:6])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
