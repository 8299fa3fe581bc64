# SPDX-License-Identifier: GPL-2.0
"""Raw 9P2000.L over veil-fsd's hybrid-vsock unix sockets, for host-side
suites that play a guest (fsd-hostile, fsd-concurrency), the veil-fsd
process they talk to, and their TAP output.  A Client can run one request at a time (rpc) or keep several in
flight (send, then recv by tag).  Nothing here checks what a reply means:
the suites do.  tests/e2e/lib is not a suite (it has no run.sh)."""
import os
import signal
import socket
import struct
import subprocess
import time

PORT = 564                 # veil-fsd's vsock port: guest connections are <uds>_564
NOFID = 0xFFFFFFFF

T = dict(Tlerror=6, Rlerror=7, Tlopen=12, Tlcreate=14, Tsymlink=16, Tmknod=18,
         Tgetattr=24, Tsetattr=26, Txattrwalk=30, Txattrcreate=32, Tlink=70,
         Tmkdir=72, Trenameat=74, Tunlinkat=76, Tversion=100, Tattach=104,
         Tflush=108, Twalk=110, Tread=116, Twrite=118, Tclunk=120)

_counts = {"test": 0, "fail": 0}


def tap(ok, what):
    """One TAP line; returns ok."""
    _counts["test"] += 1
    if not ok:
        _counts["fail"] += 1
    print("%s %d - %s" % ("ok" if ok else "not ok", _counts["test"], what), flush=True)
    return ok


def note(s):
    print("# " + s, flush=True)


def failed():
    return _counts["fail"]


def totals():
    """The plan and kselftest-style totals line; the exit status."""
    n, f = _counts["test"], _counts["fail"]
    print("1..%d" % n)
    print("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0" % (n - f, f))
    return 1 if f else 0


def s9(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack("<H", len(b)) + b


class P9Error(Exception):
    def __init__(self, code):
        super().__init__(os.strerror(code))
        self.errno = code


class Client:
    """One 9P connection to VM socket uds (the guest side of <uds>_PORT)."""

    def __init__(self, uds, timeout=10.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect("%s_%d" % (uds, PORT))
        self.tag = 0

    def close(self):
        self.s.close()

    def raw(self, data):
        self.s.sendall(data)

    def send(self, typ, body, tag=None):
        """Send one message (a fresh tag unless given); returns its tag."""
        if tag is None:
            self.tag = (self.tag + 1) % 0xFFFF
            tag = self.tag
        m = struct.pack("<BH", typ, tag) + body
        self.raw(struct.pack("<I", len(m) + 4) + m)
        return tag

    def _read(self, n):
        b = b""
        while len(b) < n:
            c = self.s.recv(n - len(b))
            if not c:
                raise ConnectionError("closed by the server")
            b += c
        return b

    def recv_msg(self, timeout=None):
        """The next whole message, size field included; socket.timeout if
        none starts in time."""
        old = self.s.gettimeout()
        if timeout is not None:
            self.s.settimeout(timeout)
        try:
            hdr = self._read(4)
        finally:
            self.s.settimeout(old)
        return hdr + self._read(struct.unpack("<I", hdr)[0] - 4)

    def recv(self, timeout=None):
        """(type, tag, body) of the next reply."""
        r = self.recv_msg(timeout)
        return r[4], struct.unpack("<H", r[5:7])[0], r[7:]

    def rpc(self, typ, body):
        tag = self.send(typ, body)
        rt, rtag, b = self.recv()
        if rtag != tag:
            raise RuntimeError("reply tag %d to tag %d" % (rtag, tag))
        if rt == T["Rlerror"]:
            raise P9Error(struct.unpack("<I", b[:4])[0])
        if rt != typ + 1:
            raise RuntimeError("reply type %d to %d" % (rt, typ))
        return b

    def err(self, typ, body):
        """The errno a request is refused with, or 0 if it succeeds."""
        try:
            self.rpc(typ, body)
            return 0
        except P9Error as e:
            return e.errno

    def version(self, msize=65536):
        """The negotiated msize."""
        r = self.rpc(T["Tversion"], struct.pack("<I", msize) + s9("9P2000.L"))
        return struct.unpack("<I", r[:4])[0]

    def attach(self, fid, uid=0, aname=""):
        return self.rpc(T["Tattach"], struct.pack("<II", fid, NOFID) + s9("") + s9(aname) +
                        struct.pack("<I", uid))

    def walk_body(self, fid, newfid, names):
        return struct.pack("<IIH", fid, newfid, len(names)) + b"".join(s9(n) for n in names)

    def walk(self, fid, newfid, *names):
        """The qids of the names walked."""
        r = self.rpc(T["Twalk"], self.walk_body(fid, newfid, names))
        n = struct.unpack("<H", r[:2])[0]
        return [r[2 + 13 * i:2 + 13 * (i + 1)] for i in range(n)]

    def lopen(self, fid, flags=0):
        return self.rpc(T["Tlopen"], struct.pack("<II", fid, flags))

    def open_file(self, fid, name, flags=0):
        """Walk the root fid 0 to name as fid, and open it."""
        self.walk(0, fid, name)
        self.lopen(fid, flags)

    def lcreate_body(self, fid, name, flags=2, mode=0o644, gid=0):
        return struct.pack("<I", fid) + s9(name) + struct.pack("<III", flags, mode, gid)

    def mkdir_body(self, dfid, name, mode=0o755, gid=0):
        return struct.pack("<I", dfid) + s9(name) + struct.pack("<II", mode, gid)

    def mkdir(self, dfid, name):
        return self.rpc(T["Tmkdir"], self.mkdir_body(dfid, name))

    def setattr_body(self, fid, valid, mode=0, uid=0, gid=0, size=0, at=0, mt=0):
        return struct.pack("<IIIIIQQQQQ", fid, valid, mode, uid, gid, size, at, 0, mt, 0)

    def read_body(self, fid, off=0, count=4096):
        return struct.pack("<IQI", fid, off, count)

    def write_body(self, fid, data, off=0):
        return struct.pack("<IQI", fid, off, len(data)) + data

    def getattr_body(self, fid):
        return struct.pack("<IQ", fid, 0x7ff)

    def clunk(self, fid):
        return self.rpc(T["Tclunk"], struct.pack("<I", fid))

    def qid_of(self, fid):
        return self.rpc(T["Tgetattr"], self.getattr_body(fid))[8:21]


def closed_by_server(c, wait=5.0, silent=False):
    """True if the server closes c (EOF or reset) within wait seconds.
    What it still sends before that is read and dropped, unless silent:
    then any byte from the server makes it False."""
    c.s.settimeout(wait)
    try:
        while True:
            b = c.s.recv(1 if silent else 4096)
            if b == b"":
                return True
            if silent:
                return False
    except (ConnectionError, OSError) as e:
        return not isinstance(e, socket.timeout)


class Fsd:
    """veil-fsd run on conf, its output appended to log; returns once every
    VM socket in uds has its <uds>_PORT listener.  args: more options for
    veil-fsd (e.g. --expose DIR, -v)."""

    def __init__(self, binary, conf, uds, log, env=None, args=()):
        self.uds, self.log_path = list(uds), log
        self.log = open(log, "ab")
        self.p = subprocess.Popen([binary, "-c", conf] + list(args), stdout=self.log,
                                  stderr=self.log, env=env)
        deadline = time.time() + 30
        while time.time() < deadline:
            if all(os.path.exists("%s_%d" % (u, PORT)) for u in self.uds):
                return
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("veil-fsd did not come up (see %s)" % log)

    def alive(self):
        return self.p.poll() is None

    def rss(self):
        with open("/proc/%d/status" % self.p.pid) as f:
            for ln in f:
                if ln.startswith("VmRSS:"):
                    return int(ln.split()[1]) * 1024
        return 0

    def reload(self):
        """SIGHUP; True once the log says the new configuration is in use."""
        mark = os.path.getsize(self.log_path)
        self.p.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline:
            with open(self.log_path, "rb") as f:
                f.seek(mark)
                t = f.read()
            if b"configuration reloaded" in t:
                return True
            if b"reload failed" in t:
                return False
            time.sleep(0.05)
        return False

    def stop(self):
        if self.alive():
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()
        for u in self.uds:
            try:
                os.unlink("%s_%d" % (u, PORT))
            except FileNotFoundError:
                pass
