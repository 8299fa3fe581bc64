#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""frontend.py BACKEND WORKDIR: play QEMU (the vhost-user front end) and a
hostile guest against vhost-user-vsock, printing TAP.

A guest kernel always writes its own CID into packet headers, so forging
is shown here, with packets written straight into the rings: a packet
with another source CID gets RST and never reaches a host socket, even
on an established connection's ports.  Hostile rings (descriptors outside
guest memory, a looping chain, an oversized chain, an avail index that
jumps, ring addresses outside memory) must fail the queue with a log line
and leave the back end alive, without a sanitizer report.
"""
import os
import select
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from proc import stop_clean  # noqa: E402

MEM = 2 << 20
UVA = 0x7F0000000000
NUM = 16
RXQ, TXQ = 0, 1
RING = {RXQ: (0x1000, 0x1100, 0x1200), TXQ: (0x2000, 0x2100, 0x2200)}
HDR = struct.Struct("<QQIIIHHIII")
OP = {"REQUEST": 1, "RESPONSE": 2, "RST": 3, "SHUTDOWN": 4, "RW": 5}
F_PROTO, F_V1 = 1 << 30, 1 << 32

n = 0
bad = 0


def tap(ok, what):
    global n, bad
    n += 1
    print(f"{'ok' if ok else 'not ok'} {n} - {what}", flush=True)
    if not ok:
        bad += 1


class Session:
    def __init__(self, sock_path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(sock_path)
        self.fd = os.memfd_create("guest", 0)
        os.ftruncate(self.fd, MEM)
        import mmap
        self.m = mmap.mmap(self.fd, MEM)
        self.kick = {q: os.eventfd(0, os.EFD_NONBLOCK) for q in (RXQ, TXQ)}
        self.call = {q: os.eventfd(0, os.EFD_NONBLOCK) for q in (RXQ, TXQ)}
        self.avail = {RXQ: 0, TXQ: 0}
        self.used_seen = {RXQ: 0, TXQ: 0}
        self.port = 40000

    def msg(self, req, payload=b"", fds=None, reply=False):
        data = struct.pack("<III", req, 1, len(payload)) + payload
        if fds:
            socket.send_fds(self.s, [data], fds)
        else:
            self.s.sendall(data)
        if reply:
            h = self.s.recv(12, socket.MSG_WAITALL)
            _, _, size = struct.unpack("<III", h)
            return self.s.recv(size, socket.MSG_WAITALL) if size else b""

    def setup(self, tx_addrs=None):
        feat = struct.unpack("<Q", self.msg(1, reply=True))[0]
        self.msg(2, struct.pack("<Q", feat & (F_PROTO | F_V1)))
        pf = struct.unpack("<Q", self.msg(15, reply=True))[0]
        self.msg(16, struct.pack("<Q", pf))
        self.msg(3)
        cfg = self.msg(24, struct.pack("<III", 0, 8, 0) + bytes(8), reply=True)
        self.cid = struct.unpack("<Q", cfg[12:20])[0] if len(cfg) == 20 else None
        self.msg(5, struct.pack("<II", 1, 0) + struct.pack("<QQQQ", 0, MEM, UVA, 0), fds=[self.fd])
        for q in (RXQ, TXQ):
            d, a, u = RING[q] if not (q == TXQ and tx_addrs) else tx_addrs
            self.msg(8, struct.pack("<II", q, NUM))
            self.msg(10, struct.pack("<II", q, 0))
            self.msg(9, struct.pack("<IIQQQQ", q, 0, UVA + d, UVA + u, UVA + a, 0))
            self.msg(12, struct.pack("<Q", q), fds=[self.kick[q]])
            self.msg(13, struct.pack("<Q", q), fds=[self.call[q]])
            self.msg(18, struct.pack("<II", q, 1))
        # rx buffers: one writable descriptor each
        for i in range(8):
            self.desc(RXQ, i, 0x10000 + i * 0x2000, 4096 + 44, 2, 0)
            self.post(RXQ, i)
        self.kick_q(RXQ)

    def desc(self, q, i, addr, length, flags, nxt):
        struct.pack_into("<QIHH", self.m, RING[q][0] + 16 * i, addr, length, flags, nxt)

    def post(self, q, head, publish=True):
        """Put head in the avail ring; publish=False leaves the avail index
        alone so that several chains can be made visible at once."""
        a = RING[q][1]
        idx = self.avail[q]
        struct.pack_into("<H", self.m, a + 4 + 2 * (idx % NUM), head)
        self.avail[q] = (idx + 1) & 0xFFFF
        if publish:
            struct.pack_into("<H", self.m, a + 2, self.avail[q])

    def set_avail_idx(self, q, v):
        struct.pack_into("<H", self.m, RING[q][1] + 2, v)

    def kick_q(self, q):
        os.eventfd_write(self.kick[q], 1)

    def used_idx(self, q):
        return struct.unpack_from("<H", self.m, RING[q][2] + 2)[0]

    def send_pkt(self, slot, src_cid, sport, dport, op, payload=b"", dst_cid=2, kick=True):
        """Queue one tx packet; kick=False only stages it (avail index unchanged)."""
        base = 0x40000 + slot * 0x11000
        hdr = HDR.pack(src_cid, dst_cid, sport, dport, len(payload), 1, op, 0, 65536, 0)
        self.m[base:base + 44 + len(payload)] = hdr + payload
        self.desc(TXQ, slot % NUM, base, 44 + len(payload), 0, 0)
        self.post(TXQ, slot % NUM, publish=kick)
        if kick:
            self.kick_q(TXQ)

    def recv_until(self, pred, timeout=5):
        """rx packets until one satisfies pred (all of them, in order)."""
        out, end = [], time.monotonic() + timeout
        while time.monotonic() < end:
            out += self.recv_pkts(0.2)
            if any(pred(x) for x in out):
                break
        return out

    def recv_pkts(self, timeout=3):
        """rx packets the back end wrote since last time."""
        out, end = [], time.monotonic() + timeout
        while time.monotonic() < end:
            ui = self.used_idx(RXQ)
            while self.used_seen[RXQ] != ui:
                e = RING[RXQ][2] + 4 + 8 * (self.used_seen[RXQ] % NUM)
                head, length = struct.unpack_from("<II", self.m, e)
                base = 0x10000 + head * 0x2000
                h = HDR.unpack_from(self.m, base)
                out.append(h + (bytes(self.m[base + 44:base + length]),))
                self.used_seen[RXQ] = (self.used_seen[RXQ] + 1) & 0xFFFF
                self.post(RXQ, head)  # give the buffer back
                self.kick_q(RXQ)
            if out:
                return out
            time.sleep(0.02)
        return out

    def close(self):
        self.s.close()
        for fd in list(self.kick.values()) + list(self.call.values()) + [self.fd]:
            os.close(fd)


def wait_log(path, text, timeout=5, count=1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if open(path, errors="replace").read().count(text) >= count:
            return True
        time.sleep(0.05)
    return False


def accepted(listener, timeout):
    r, _, _ = select.select([listener], [], [], timeout)
    if not r:
        return None
    c, _ = listener.accept()
    return c


def main():
    exe, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, mode=0o700, exist_ok=True)
    vu, uds, logp = f"{work}/vu.sock", f"{work}/v", f"{work}/backend.log"
    logf = open(logp, "w")
    be = subprocess.Popen([exe, "--socket", vu, "--cid", "3", "--uds", uds],
                          stdout=logf, stderr=subprocess.STDOUT)
    for _ in range(100):
        if os.path.exists(vu):
            break
        time.sleep(0.05)
    lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lst.bind(f"{uds}_7000")
    lst.listen(4)
    print("TAP version 13")
    try:
        s = Session(vu)
        s.setup()
        tap(s.cid == 3, f"GET_CONFIG gives the guest CID 3 (got {s.cid})")

        # forged REQUEST: RST, and no host connection
        s.send_pkt(0, 4, 1111, 7000, OP["REQUEST"])
        p = s.recv_pkts()
        tap(len(p) == 1 and p[0][6] == OP["RST"] and p[0][1] == 3 and p[0][3] == 1111,
            f"REQUEST with source CID 4 from a CID-3 guest is answered RST to CID 3 ({p[:1]})")
        tap(accepted(lst, 0.5) is None, "the forged REQUEST reaches no host socket")

        # the same from the true CID: RESPONSE and a host connection (the control)
        s.send_pkt(1, 3, 1112, 7000, OP["REQUEST"])
        p = s.recv_pkts()
        c = accepted(lst, 3)
        tap(len(p) == 1 and p[0][6] == OP["RESPONSE"] and c is not None,
            "REQUEST from CID 3 gets RESPONSE and a connection to <uds>_7000")
        s.send_pkt(2, 3, 1112, 7000, OP["RW"], b"from-3")
        c.settimeout(3)
        got = c.recv(100)
        tap(got == b"from-3", f"data from CID 3 arrives ({got!r})")

        # forged data on the established connection's ports: RST, nothing delivered
        s.send_pkt(3, 5, 1112, 7000, OP["RW"], b"forged")
        p = s.recv_pkts()
        try:
            got = c.recv(100)
        except socket.timeout:
            got = None
        tap(len(p) == 1 and p[0][6] == OP["RST"] and p[0][1] == 3,
            "RW with source CID 5 on an open connection's ports is answered RST")
        tap(got == b"", f"the forged payload never reaches the host; the connection is closed ({got!r})")
        c.close()

        # a packet to another guest (dst CID 4): RST
        s.send_pkt(4, 3, 1113, 7000, OP["REQUEST"], dst_cid=4)
        p = s.recv_pkts()
        tap(len(p) == 1 and p[0][6] == OP["RST"] and accepted(lst, 0.3) is None,
            "a REQUEST for CID 4 instead of the host is answered RST")

        # credit: more data than the back end's buffer allows, without waiting: RST.
        # The six chains become visible in one avail index update: the back end
        # polls the tx ring on every wakeup, and a credit update sent between
        # two of them (the host socket buffer absorbs some) would grant more.
        s.send_pkt(5, 3, 1114, 7000, OP["REQUEST"])
        s.recv_pkts()
        c = accepted(lst, 3)
        big = b"x" * 65536
        for i in range(6):   # 384 KiB > 256 KiB credit in one batch, the host never reads
            s.send_pkt(6 + i, 3, 1114, 7000, OP["RW"], big, kick=False)
        s.set_avail_idx(TXQ, s.avail[TXQ])
        s.kick_q(TXQ)
        p = s.recv_until(lambda x: x[6] == OP["RST"])
        tap(any(x[6] == OP["RST"] for x in p) and wait_log(logp, "beyond its credit"),
            "a guest sending beyond its credit is reset")
        if c:
            c.close()

        # host client: CONNECT line in two pieces, first data right after it
        h = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        h.settimeout(5)
        h.connect(uds)
        h.sendall(b"CONN")
        time.sleep(0.3)
        h.sendall(b"ECT 7001\nxyz")
        p = s.recv_until(lambda x: x[6] == OP["REQUEST"])
        req = [x for x in p if x[6] == OP["REQUEST"]]
        tap(len(req) == 1 and req[0][0] == 2 and req[0][1] == 3 and req[0][3] == 7001,
            "a host client's CONNECT 7001, split across writes, becomes a REQUEST to guest port 7001")
        if req:
            hp = req[0][2]
            s.send_pkt(12, 3, 7001, hp, OP["RESPONSE"])
            line = b""
            while not line.endswith(b"\n"):
                line += h.recv(1)
            p = s.recv_until(lambda x: x[6] == OP["RW"])
            rw = [x for x in p if x[6] == OP["RW"]]
            tap(line == f"OK {hp}\n".encode() and len(rw) == 1 and rw[0][-1] == b"xyz",
                f"the guest's RESPONSE gives the client {line!r}; its first bytes reach the guest")
        h.close()
        h = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        h.settimeout(5)
        h.connect(uds)
        h.sendall(b"CONNECT port\n")
        try:
            got = h.recv(10)
        except socket.timeout:
            got = None
        tap(got == b"" and wait_log(logp, "bad CONNECT line"), "a bad CONNECT line is closed with a log line")
        h.close()
        s.close()
        tap(be.poll() is None, "back end alive after the forgery tests")

        hostile = [
            ("descriptor outside guest memory", lambda s: (s.desc(TXQ, 0, MEM - 10, 100, 0, 0), s.post(TXQ, 0)),
             "outside guest memory"),
            ("descriptor address wrapping around", lambda s: (s.desc(TXQ, 0, (1 << 64) - 8, 44, 0, 0), s.post(TXQ, 0)),
             "outside guest memory"),
            ("looping chain", lambda s: (s.desc(TXQ, 0, 0x40000, 44, 1, 1), s.desc(TXQ, 1, 0x40000, 44, 1, 0),
                                         s.post(TXQ, 0)), "loops"),
            ("oversized chain", lambda s: (s.desc(TXQ, 0, 0x40000, 1 << 20, 0, 0), s.post(TXQ, 0)), "longer than"),
            ("next index outside the ring", lambda s: (s.desc(TXQ, 0, 0x40000, 44, 1, 999), s.post(TXQ, 0)),
             "out of a ring"),
            ("avail index jumping ahead", lambda s: s.set_avail_idx(TXQ, 1000), "ahead of"),
            ("indirect descriptor", lambda s: (s.desc(TXQ, 0, 0x40000, 64, 4, 0), s.post(TXQ, 0)), "indirect"),
        ]
        for what, act, text in hostile:
            s = Session(vu)
            s.setup()
            before = open(logp).read().count("queue tx failed: ")
            act(s)
            s.kick_q(TXQ)
            ok = wait_log(logp, "queue tx failed: ", count=before + 1) and \
                text in open(logp).read().split("queue tx failed")[-1]
            s.close()
            time.sleep(0.1)
            tap(ok and be.poll() is None, f"{what}: the tx queue fails with a log line, back end alive")
        s = Session(vu)
        s.setup(tx_addrs=(MEM - 8, 0x2100, 0x2200))
        tap(wait_log(logp, "ring addresses outside guest memory") and be.poll() is None,
            "ring addresses outside guest memory: the queue fails, back end alive")
        s.close()
    finally:
        rc, clean = stop_clean(be, logf, logp)
    tap(rc == 0 and clean,
        f"back end exits 0 on SIGTERM, no sanitizer report (exit {rc})")
    print(f"# Totals: pass:{n - bad} fail:{bad} xfail:0 xpass:0 skip:0 error:0")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
