#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""mkevlu.py EVLU FSIMG KEYHEX DATA_OFFSET DATA_SECTORS SECTOR_SIZE

Writes FSIMG, encrypted, into the data area of EVLU (whose metadata
veil-mdtool already wrote): aes-xts-plain64, the IV of each encryption
sector its number in SECTOR_SIZE units from the start of the data area
(docs/format.md).  This is how a host without device-mapper builds the
test's encrypted root; the guest's dm-veil must read it back.
"""
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def main():
    evlu, fsimg, keyhex = sys.argv[1:4]
    off, nsec, ssz = (int(x) for x in sys.argv[4:7])
    key = bytes.fromhex(keyhex)
    chunk = 256 * ssz
    with open(fsimg, "rb") as src, open(evlu, "r+b") as dst:
        dst.seek(off * 512)
        unit = 0
        while True:
            buf = src.read(chunk)
            if not buf:
                break
            if len(buf) % ssz:
                buf += bytes(ssz - len(buf) % ssz)
            out = bytearray()
            for i in range(0, len(buf), ssz):
                iv = (unit).to_bytes(16, "little")
                enc = Cipher(algorithms.AES(key), modes.XTS(iv)).encryptor()
                out += enc.update(buf[i:i + ssz]) + enc.finalize()
                unit += 1
            if unit * ssz > nsec * 512:
                sys.exit("mkevlu: %s does not fit the data area" % fsimg)
            dst.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
