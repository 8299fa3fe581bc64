#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""veil-fsd serving one connection's requests at once, on the host, no VM.

concurrency.py FSD WORKDIR

Starts veil-fsd (the ASan/UBSan build) on a hybrid-vsock unix socket and
speaks raw 9P2000.L to it over one connection, several requests in flight.

The slow backend is fanotify: the test marks a file in the tenant with
FAN_ACCESS_PERM, so every read() of it by veil-fsd blocks in the kernel
until this process answers the permission event.  That gives a read that
stays stuck exactly as long as the test wants (a FIFO would be simpler,
but veil-fsd refuses to open special files), with no FUSE and no test
knob in veil-fsd.  Each test is one TAP line.  LEGACY=1 in the
environment leaves max_workers out of the config, to run the suite
against an older veil-fsd and see it fail.
"""
import ctypes
import os
import select
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from p9raw import (NOFID, PORT, T, Client, Fsd as FsdProcess,  # noqa: E402
                   P9Error, closed_by_server, failed, note, s9, tap, totals)

FSD, WORK = sys.argv[1], sys.argv[2]
WORKERS = 4
DELAY = 0.3                # seconds the slow backend holds each read (scaling test)
HOLD = 8.0                 # seconds a stuck read may last before the test gives up


# ------------------------------------------------- the slow backend ---
class SlowFile:
    """fanotify FAN_ACCESS_PERM on one file: every read of it waits for us.

    mode "hold": reads wait until release(); mode "delay": each read is
    let go DELAY seconds after it began, each on its own timer.
    """
    FAN_CLASS_CONTENT, FAN_CLOEXEC, FAN_ACCESS_PERM, FAN_MARK_ADD = 4, 1, 0x20000, 1
    FAN_ALLOW = 1

    def __init__(self, path):
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.fanotify_init(self.FAN_CLASS_CONTENT | self.FAN_CLOEXEC, os.O_RDONLY)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "fanotify_init")
        if libc.fanotify_mark(self.fd, self.FAN_MARK_ADD, ctypes.c_uint64(self.FAN_ACCESS_PERM),
                              -100, path.encode()) < 0:
            raise OSError(ctypes.get_errno(), "fanotify_mark")
        self.lock = threading.Lock()
        self.mode = "hold"
        self.held = []
        self.seen = 0
        self.stop = False
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()

    def _answer(self, efd):
        with self.lock:
            try:
                os.write(self.fd, struct.pack("<iI", efd, self.FAN_ALLOW))
            except OSError:
                pass
            os.close(efd)

    def _run(self):
        while not self.stop:
            r, _, _ = select.select([self.fd], [], [], 0.1)
            if not r:
                continue
            b = os.read(self.fd, 4096)
            while len(b) >= 24:
                ln, _, _, _, mask, efd, pid = struct.unpack("<IBBHQii", b[:24])
                b = b[ln:]
                with self.lock:
                    self.seen += 1
                    mode = self.mode
                    if mode == "hold":
                        self.held.append(efd)
                if mode == "delay":
                    threading.Timer(DELAY, self._answer, (efd,)).start()

    def wait_seen(self, n, timeout=5.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if self.seen >= n:
                    return True
            time.sleep(0.01)
        return False

    def release(self):
        with self.lock:
            held, self.held = self.held, []
        for efd in held:
            self._answer(efd)

    def close(self):
        self.release()
        self.stop = True
        self.th.join()
        os.close(self.fd)


# ---------------------------------------------------------- the daemon ---
ROOT = os.path.join(WORK, "tenants", "a")
UDS = os.path.join(WORK, "vm-a.sock")
UDS_M = os.path.join(WORK, "vm-m.sock")    # the same root, a tight max_mem
MAX_MEM_M = 300 << 10       # one connection (~150 KiB), one worker and one 64 KiB read
CONF = os.path.join(WORK, "fsd.conf")
SLOW = os.path.join(ROOT, "slow")


def Fsd():
    return FsdProcess(FSD, CONF, (UDS, UDS_M), os.path.join(WORK, "fsd.log"))


def layout():
    os.makedirs(os.path.join(WORK, "tenants"), mode=0o700)
    os.makedirs(ROOT)
    os.chmod(ROOT, 0o700)
    with open(SLOW, "w") as f:
        f.write("slow data\n")
    with open(os.path.join(ROOT, "fast"), "w") as f:
        f.write("fast data\n")
    with open(CONF, "w") as f:
        f.write("vsock = no\nport = %d\nmsize_max = 64K\n\n[vm a]\nuds = %s\nroot = %s\n"
                "access = rw\n%s" % (PORT, UDS, ROOT, "" if os.environ.get("LEGACY") else "max_workers = %d\n" % WORKERS))
        f.write("\n[vm m]\nuds = %s\nroot = %s\naccess = rw\nmax_mem = %d\n%s" %
                (UDS_M, ROOT, MAX_MEM_M, "" if os.environ.get("LEGACY") else "max_workers = %d\n" % WORKERS))


def session(uds=UDS):
    c = Client(uds)
    c.version()
    c.attach(0)
    return c


# -------------------------------------------------------------- tests ---
def t_getattr_past_stuck_read(slow):
    c = session()
    c.open_file(1, "slow")
    slow.mode = "hold"
    base = slow.seen
    rtag = c.send(T["Tread"], c.read_body(1))
    stuck = slow.wait_seen(base + 1)
    tap(stuck, "a read of the slow file is stuck in the backend")
    t0 = time.time()
    gtag = c.send(T["Tgetattr"], c.getattr_body(0))
    try:
        typ, tag, _ = c.recv(timeout=HOLD / 2)
        got = (typ, tag) == (T["Tgetattr"] + 1, gtag)
    except socket.timeout:
        got = False
    waited = time.time() - t0
    with slow.lock:
        still = len(slow.held) == 1
    tap(got and still, "Tgetattr is answered (%.3f s) while the read is still stuck" % waited)
    slow.release()
    typ, tag, body = c.recv()
    tap((typ, tag) == (T["Tread"] + 1, rtag) and body[4:] == b"slow data\n",
        "the stuck read is answered with its data once the backend lets go")
    c.close()


def t_flush_after_reply(slow):
    c = session()
    c.open_file(1, "slow")
    slow.mode = "hold"
    base = slow.seen
    rtag = c.send(T["Tread"], c.read_body(1))
    slow.wait_seen(base + 1)
    ftag = c.send(T["Tflush"], struct.pack("<H", rtag))
    try:
        c.recv(timeout=0.5)
        early = True
    except socket.timeout:
        early = False
    tap(not early, "Tflush of a running read: no Rflush while the read is still running")
    slow.release()
    order = [c.recv()[:2], c.recv()[:2]]
    tap(order == [(T["Tread"] + 1, rtag), (T["Tflush"] + 1, ftag)],
        "Tflush of a running read: its reply first, then Rflush (%s)" % order)
    # a flush of a tag nobody uses is answered at once
    ftag = c.send(T["Tflush"], struct.pack("<H", 4321))
    tap(c.recv(timeout=5)[:2] == (T["Tflush"] + 1, ftag), "Tflush of an unknown tag: Rflush at once")
    c.close()


def t_duplicate_tag(slow):
    c = session()
    c.open_file(1, "slow")
    slow.mode = "hold"
    base = slow.seen
    rtag = c.send(T["Tread"], c.read_body(1))
    slow.wait_seen(base + 1)
    c.send(T["Tgetattr"], c.getattr_body(0), tag=rtag)
    # the server may answer nothing more; it must close, and not before the read ends
    let_go = threading.Timer(1.0, slow.release)
    let_go.start()
    tap(closed_by_server(c, HOLD), "a tag reused while in flight closes the connection")
    let_go.join()           # not later, in the middle of the next test
    c.close()


def t_clunk_under_read(slow):
    c = session()
    c.open_file(1, "slow")
    slow.mode = "hold"
    base = slow.seen
    rtag = c.send(T["Tread"], c.read_body(1))
    slow.wait_seen(base + 1)
    try:
        c.clunk(1)
        c.open_file(1, "fast")       # the number again, another file
        ok = True
    except (P9Error, RuntimeError, socket.timeout) as e:
        note("clunk/reuse: %s" % e)
        ok = False
    tap(ok, "a fid in use by a stuck read can be clunked and its number reused")
    slow.release()
    typ, tag, body = c.recv()
    tap((typ, tag) == (T["Tread"] + 1, rtag) and body[4:] == b"slow data\n",
        "the stuck read still reads the file its fid had when it began")
    rt = c.rpc(T["Tread"], c.read_body(1))
    tap(rt[4:] == b"fast data\n", "the reused fid number reads its new file")
    c.close()


def t_workers_bound(slow):
    """max_workers stuck reads hold every worker: the next request queues, and can be flushed."""
    c = session()
    for f in range(1, WORKERS + 1):
        c.open_file(f, "slow")
    slow.mode = "hold"
    base = slow.seen
    tags = [c.send(T["Tread"], c.read_body(f)) for f in range(1, WORKERS + 1)]
    all_stuck = slow.wait_seen(base + WORKERS)
    qtag = c.send(T["Tgetattr"], c.getattr_body(0))
    try:
        c.recv(timeout=1.0)
        early = True
    except socket.timeout:
        early = False
    note("stuck reads seen: %d of %d" % (slow.seen - base, WORKERS))
    tap(all_stuck and not early,
        "%d stuck reads take all max_workers: a further request waits" % WORKERS)
    ftag = c.send(T["Tflush"], struct.pack("<H", qtag))
    try:
        got = c.recv(timeout=5)[:2]
    except socket.timeout:
        got = None
    tap(got == (T["Tflush"] + 1, ftag), "Tflush of a queued request: Rflush at once (%s)" % (got,))
    slow.release()
    replies = set()
    try:
        for _ in range(WORKERS):
            replies.add(c.recv(timeout=10)[:2])
        c.recv(timeout=1.0)
        extra = True
    except socket.timeout:
        extra = False
    tap(replies == {(T["Tread"] + 1, t) for t in tags} and not extra,
        "the stuck reads are answered, the flushed request never is")
    c.close()


def timed_reads(c, fids, rounds):
    """rounds x one read on each fid, all fids' reads in flight together."""
    t0 = time.time()
    for _ in range(rounds):
        tags = {c.send(T["Tread"], c.read_body(f)) for f in fids}
        while tags:
            typ, tag, _ = c.recv(timeout=30)
            if typ != T["Tread"] + 1:
                raise RuntimeError("reply type %d" % typ)
            tags.discard(tag)
    return time.time() - t0


def t_scaling(slow):
    c = session()
    for f in range(1, 5):
        c.open_file(f, "slow")
    slow.mode = "delay"
    n = 8
    one = timed_reads(c, [1], n)            # one reader, n reads one after another
    four = timed_reads(c, [1, 2, 3, 4], n // 4)   # four readers, n reads in all
    slow.mode = "hold"
    ratio = one / four
    note("slow backend (%.1f s a read): 1 reader %d reads %.2f s, 4 readers %d reads %.2f s: "
         "speed-up %.2f (max_workers %d)" % (DELAY, n, one, n, four, ratio, WORKERS))
    tap(ratio >= 2.0, "4 parallel readers in one connection overlap on a slow backend (x%.2f)" % ratio)
    # the same on a plain file: printed only (two shared cores, noise)
    for f in range(5, 9):
        c.open_file(f, "fast")
    one = timed_reads(c, [5], 400)
    four = timed_reads(c, [5, 6, 7, 8], 100)
    note("page-cache file: 1 reader 400 reads %.3f s, 4 readers 400 reads %.3f s: ratio %.2f" %
         (one, four, one / four))
    c.close()


def t_mem_bound(slow):
    """Requests in flight draw from max_mem: a tight budget serves one read at a time."""
    c = session(UDS_M)
    for f in range(1, 5):
        c.open_file(f, "slow")
    slow.mode = "delay"
    try:
        t = timed_reads(c, [1, 2, 3, 4], 1)
        ok = True
    except Exception as e:
        note("tight max_mem: %s" % e)
        ok, t = False, 0.0
    slow.mode = "hold"
    note("max_mem %d KiB: 4 reads of 64 KiB in flight took %.2f s (%.1f s each)" %
         (MAX_MEM_M >> 10, t, DELAY))
    tap(ok, "tight max_mem: 4 reads in flight are all answered")
    tap(t >= 3 * DELAY, "tight max_mem: their buffers do not fit at once, so they do not overlap")
    c.close()


def main():
    if os.geteuid() != 0:
        print("1..0 # SKIP veil-fsd serves tenants as root; run as root")
        print("# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:1 error:0")
        return 0
    os.chmod(WORK, 0o700)
    layout()
    note("veil-fsd %s, max_workers %d" % (FSD, WORKERS))
    try:
        slow = SlowFile(SLOW)
    except OSError as e:
        print("1..0 # SKIP fanotify permission events unavailable: %s" % e)
        print("# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:1 error:0")
        return 0
    fsd = Fsd()
    try:
        for t in (t_getattr_past_stuck_read, t_flush_after_reply, t_duplicate_tag,
                  t_clunk_under_read, t_workers_bound, t_scaling, t_mem_bound):
            try:
                t(slow)
            except Exception as e:
                tap(False, "%s: %s: %s" % (t.__name__, type(e).__name__, e))
            finally:
                slow.release()
        tap(fsd.alive(), "veil-fsd is alive after the concurrency tests")
    finally:
        slow.close()
        fsd.stop()
    if failed():
        with open(os.path.join(WORK, "fsd.log"), "rb") as f:
            for ln in f.read().decode(errors="replace").splitlines()[-40:]:
                note("fsd.log: " + ln)
    return totals()


if __name__ == "__main__":
    sys.exit(main())
