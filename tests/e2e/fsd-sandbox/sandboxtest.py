#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""veil-fsd's sandbox, from the host: sandboxtest.py BUILD WORK

Runs BUILD/san/bin/veil-fsd (ASan/UBSan) on hybrid-vsock unix sockets
under WORK and checks, from outside and as a guest speaking 9P: the
capability sets, no_new_privs and seccomp of every thread; what its mount
namespace shows (/proc/PID/root, mountinfo); that reloads work with the
sandbox (a tenant added under --expose, a config replaced by rename) and
that one naming a root outside it is refused; --no-sandbox; --help,
--version; the journal's priority prefix.  Prints TAP.
"""
import os
import signal
import socket
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from tap import done, ok  # noqa: E402

BUILD, WORK = sys.argv[1], sys.argv[2]
FSD = os.path.join(BUILD, "san", "bin", "veil-fsd")
PROBE = os.path.join(BUILD, "bin", "fsd-sandbox-probe")
KEPT = 0xdb  # CHOWN DAC_OVERRIDE FOWNER FSETID SETGID SETUID
PORT = 564



# ------------------------------------------------------------- 9P client ---
class P9:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(path)

    def rpc(self, typ, body, tag=1):
        msg = struct.pack("<IBH", 7 + len(body), typ, tag) + body
        self.s.sendall(msg)
        hdr = self._read(7)
        size, rtyp, _ = struct.unpack("<IBH", hdr)
        data = self._read(size - 7)
        if rtyp == 7:
            raise OSError(struct.unpack("<I", data[:4])[0], "Rlerror")
        return data

    def _read(self, k):
        b = b""
        while len(b) < k:
            c = self.s.recv(k - len(b))
            if not c:
                raise ConnectionError("closed")
            b += c
        return b

    @staticmethod
    def s9(x):
        x = x.encode()
        return struct.pack("<H", len(x)) + x

    def attach(self):
        self.rpc(100, struct.pack("<I", 65536) + self.s9("9P2000.L"), tag=0xFFFF)
        self.rpc(104, struct.pack("<II", 1, 0xFFFFFFFF) + self.s9("root") + self.s9("") +
                 struct.pack("<I", 0))

    def read_file(self, name):
        self.rpc(110, struct.pack("<IIH", 1, 2, 1) + self.s9(name))
        self.rpc(12, struct.pack("<II", 2, 0))
        d = self.rpc(116, struct.pack("<IQI", 2, 0, 4096))
        self.rpc(120, struct.pack("<I", 2))
        return d[4:4 + struct.unpack("<I", d[:4])[0]]

    def close(self):
        self.s.close()


def read9p(sock, name):
    c = P9(sock)
    try:
        c.attach()
        return c.read_file(name)
    finally:
        c.close()


# ----------------------------------------------------------------- server ---
def status(pid, task=None):
    p = f"/proc/{pid}/task/{task}/status" if task else f"/proc/{pid}/status"
    out = {}
    with open(p) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def control(cmd):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(os.path.join(WORK, "run", "ctl"))
    s.sendall(cmd.encode() + b"\n")
    out = b""
    while True:
        c = s.recv(4096)
        if not c:
            break
        out += c
    s.close()
    return out.decode()


def write_conf(path, vms):
    text = f"vsock = no\nport = {PORT}\ncontrol = {WORK}/run/ctl\nmsize_max = 64K\n"
    for name, root, access in vms:
        text += f"[vm {name}]\nuds = {WORK}/run/{name}.sock\nroot = {root}\naccess = {access}\n"
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)  # as an editor or a config manager does


def start(args, env=None, log="fsd.log", pass_fds=()):
    for f in os.listdir(os.path.join(WORK, "run")):
        os.unlink(os.path.join(WORK, "run", f))
    logf = open(os.path.join(WORK, log), "w")
    p = subprocess.Popen([FSD, "-c", os.path.join(WORK, "fsd.conf"), "-v"] + args,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=logf,
                         env=env, pass_fds=pass_fds)
    logf.close()
    for _ in range(200):
        if os.path.exists(os.path.join(WORK, "run", f"a.sock_{PORT}")) and \
                "ready" in open(os.path.join(WORK, log)).read():
            return p
        if p.poll() is not None:
            break
        time.sleep(0.05)
    return p


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        return p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        return -1


def log_text(name="fsd.log"):
    with open(os.path.join(WORK, name)) as f:
        return f.read()


def sanitizer_clean(name="fsd.log"):
    t = log_text(name)
    return "Sanitizer" not in t and "runtime error" not in t


def main():
    print("TAP version 13")
    run = os.path.join(WORK, "run")
    t1 = os.path.join(WORK, "t1")
    tenants = os.path.join(WORK, "tenants")
    outside = os.path.join(WORK, "outside")
    for d in (run, t1, tenants, os.path.join(tenants, "b"), outside):
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(t1, "hello"), "w") as f:
        f.write("hello from t1\n")
    with open(os.path.join(tenants, "b", "bfile"), "w") as f:
        f.write("tenant b\n")
    with open(os.path.join(outside, "secret"), "w") as f:
        f.write("host secret\n")
    conf = os.path.join(WORK, "fsd.conf")

    # --help, --version
    r = subprocess.run([FSD, "--help"], capture_output=True, text=True)
    ok(r.returncode == 0 and "usage: veil-fsd" in r.stdout and "--no-sandbox" in r.stdout
       and not r.stderr, "--help: exit 0, usage on stdout")
    r = subprocess.run([FSD, "--version"], capture_output=True, text=True)
    ok(r.returncode == 0 and r.stdout.startswith("veil-fsd (veil) "), "--version: exit 0: "
       + r.stdout.splitlines()[0] if r.stdout else "--version: no output")
    r = subprocess.run([FSD, "--bogus"], capture_output=True, text=True)
    ok(r.returncode == 2 and "usage" in r.stderr, "an unknown option: exit 2, usage on stderr")

    # a root named through a symbolic link is refused at start, with the fix
    link = os.path.join(WORK, "link-to-t1")
    if not os.path.islink(link):
        os.symlink(t1, link)
    write_conf(conf, [("a", link, "rw")])
    r = subprocess.run([FSD, "-t", "-c", conf], capture_output=True, text=True)
    ok(r.returncode == 1 and "name it by its real path" in r.stderr,
       "veil-fsd -t refuses it too: " + r.stderr.strip())
    r = subprocess.run([FSD, "-t", "--no-sandbox", "-c", conf], capture_output=True, text=True)
    ok(r.returncode == 0, "and accepts it with --no-sandbox")
    p = start([])
    rc = p.wait(timeout=20) if p.poll() is None else p.returncode
    ok(rc == 1 and "name it by its real path" in log_text(),
       "a tenant root named through a symlink is refused at start-up")

    write_conf(conf, [("a", t1, "rw")])
    leak = os.open(outside, os.O_RDONLY | os.O_DIRECTORY)
    p = start(["--expose", tenants], pass_fds=(leak,))
    os.close(leak)
    pid = p.pid
    if not ok(p.poll() is None, "veil-fsd starts with the sandbox on (default)"):
        print("# " + log_text().replace("\n", "\n# "))
        return
    st = status(pid)
    ok(int(st["CapEff"], 16) == KEPT and int(st["CapPrm"], 16) == KEPT,
       f"CapEff/CapPrm are the kept set {KEPT:#x}: {st['CapEff']} {st['CapPrm']}")
    ok(int(st["CapBnd"], 16) == KEPT, f"CapBnd is the kept set: {st['CapBnd']}")
    ok(int(st["CapInh"], 16) == 0 and int(st["CapAmb"], 16) == 0, "no inheritable or ambient capabilities")
    ok(st["NoNewPrivs"] == "1", "NoNewPrivs: 1")
    ok(st["Seccomp"] == "2", "Seccomp: 2 (filter)")

    # served, and every connection thread inherits all of it
    c = P9(os.path.join(run, f"a.sock_{PORT}"))
    c.attach()
    ok(c.read_file("hello") == b"hello from t1\n", "a guest reads its tenant's file through 9P")
    tasks = os.listdir(f"/proc/{pid}/task")
    same = all(status(pid, t)["Seccomp"] == "2" and int(status(pid, t)["CapEff"], 16) == KEPT
               for t in tasks)
    ok(len(tasks) >= 2 and same, f"all {len(tasks)} threads (with a connection's) are confined alike")
    c.close()

    # what the process sees
    held = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            held.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except FileNotFoundError:
            pass  # a closing connection's
    ok(not any(h.startswith(outside) for h in held) and "closing inherited descriptor" in log_text(),
       "a directory descriptor inherited from the parent is closed before serving")
    rootdir = f"/proc/{pid}/root"
    top = WORK.strip("/").split("/")[0]
    ok(sorted(os.listdir(rootdir)) == sorted(["proc", top]),
       f"its / holds only /proc and the way to the tenants: {sorted(os.listdir(rootdir))}")
    ok(os.path.exists(rootdir + t1 + "/hello"), "the tenant root is there")
    ok(not os.path.exists(rootdir + outside + "/secret"), "a host directory next to it is not")
    ok(not os.path.exists(rootdir + conf), "nor is the configuration file")
    ok(not os.path.exists(rootdir + "/etc/passwd") and not os.path.exists(rootdir + "/usr"),
       "nor /etc, /usr")
    with open(f"/proc/{pid}/mountinfo") as f:
        mnts = sorted(line.split()[4] for line in f)
    ok(mnts == sorted(["/", "/proc/self", f"/proc/{pid}", t1, run, tenants]),
       f"its mounts: /, its own /proc directory, the root, the socket directory, --expose: {mnts}")
    ok(sorted(os.listdir(rootdir + "/proc")) == sorted(["self", str(pid)]),
       f"its /proc holds itself alone: {sorted(os.listdir(rootdir + '/proc'))}")
    with open(f"/proc/{pid}/mountinfo") as f:
        opts = {line.split()[4]: line.split()[5] for line in f}
    ok(opts["/"].startswith("ro,") and all("nosuid" in o and "nodev" in o for o in opts.values())
       and "noexec" in opts[t1], f"/ read-only; nosuid,nodev everywhere, the root noexec: {opts}")

    # reloads inside the sandbox
    write_conf(conf, [("a", t1, "rw"), ("b", os.path.join(tenants, "b"), "rw")])
    r = control("reload")
    ok(r == "ok\n", f"reload adding a tenant under --expose: {r.strip()}")
    try:
        got = read9p(os.path.join(run, f"b.sock_{PORT}"), "bfile")
    except OSError as e:
        got = repr(e)
    ok(got == b"tenant b\n", f"the new tenant is served: {got!r}")
    write_conf(conf, [("a", t1, "rw"), ("b", os.path.join(tenants, "b"), "rw"), ("c", outside, "rw")])
    r = control("reload")
    ok(r.startswith("error: ") and "outside" in r and outside in r,
       f"reload naming a root outside the sandbox is refused: {r.strip()}")
    ok(read9p(os.path.join(run, f"a.sock_{PORT}"), "hello") == b"hello from t1\n",
       "and the old configuration goes on serving")
    write_conf(conf, [("a", t1, "rw")])
    p.send_signal(signal.SIGHUP)
    for _ in range(100):
        if not os.path.exists(os.path.join(run, f"b.sock_{PORT}")):
            break
        time.sleep(0.05)
    ok(not os.path.exists(os.path.join(run, f"b.sock_{PORT}")),
       "SIGHUP reads a configuration replaced by rename (tenant b removed)")
    ok("ok" in control("status"), "the control socket answers")

    helpers = [t for t in os.listdir("/proc") if t.isdigit() and
               open(f"/proc/{t}/stat").read().split(") ")[1].split()[1] == str(pid)]
    ok(len(helpers) == 1, f"one configuration reader process: {helpers}")
    if helpers:
        hs = status(helpers[0])
        ok(int(hs["CapEff"], 16) == 1 << 2 and int(hs["CapBnd"], 16) == 1 << 2 and
           hs["Seccomp"] == "2" and hs["NoNewPrivs"] == "1",
           f"the reader keeps CAP_DAC_READ_SEARCH alone, under seccomp: {hs['CapEff']}")
    rc = stop(p)
    ok(rc == 0, f"SIGTERM: exit 0 ({rc})")
    def reader_gone():
        try:
            return not helpers or status(helpers[0])["State"].startswith("Z") or \
                status(helpers[0])["PPid"] not in (str(pid), "0") and "veil-fsd" not in \
                open(f"/proc/{helpers[0]}/cmdline").read()
        except (OSError, KeyError):
            return True
    for _ in range(100):
        if reader_gone():
            break
        time.sleep(0.05)
    ok(reader_gone(), "the reader is gone with it")
    ok(sanitizer_clean(), "no sanitizer report (LeakSanitizer ran at exit inside the sandbox)")

    # the journal's priority prefix: stderr as named by JOURNAL_STREAM
    logp = os.path.join(WORK, "journal.log")
    open(logp, "w").close()
    stt = os.stat(logp)
    env = dict(os.environ, JOURNAL_STREAM=f"{stt.st_dev}:{stt.st_ino}")
    p = start([], env=env, log="journal.log")
    rc = stop(p)
    lines = log_text("journal.log").splitlines()
    ok(rc == 0 and lines and all(line.startswith("<") for line in lines) and
       any(line.startswith("<6>veil-fsd: ready") for line in lines),
       f"under the journal every line carries its priority: {lines[:2]}")

    # --no-sandbox
    p = start(["--no-sandbox"])
    st = status(p.pid)
    ok(st["Seccomp"] == "0" and int(st["CapEff"], 16) != KEPT and
       "without the sandbox" in log_text(),
       "--no-sandbox: no filter, all capabilities, and a warning in the log")
    ok(os.path.exists(f"/proc/{p.pid}/root" + outside + "/secret"), "--no-sandbox: the host tree is visible")
    stop(p)

    # the attacker's side: the same sandbox_enter(), then forbidden calls
    pconf = os.path.join(WORK, "probe.conf")
    with open(pconf, "w") as f:
        f.write(f"vsock = no\nport = {PORT}\n[vm a]\nuds = {run}/p.sock\nroot = {t1}\naccess = rw\n")
    r = subprocess.run([PROBE, pconf, os.path.join(outside, "secret")], capture_output=True,
                       text=True, timeout=60)
    for line in r.stdout.splitlines():
        if line.startswith("ok ") or line.startswith("not ok "):
            cond = line.startswith("ok ")
            ok(cond, "probe: " + line.split(" - ", 1)[-1])
    ok(r.returncode == 0, f"fsd-sandbox-probe exit {r.returncode}")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a crash is a failure, never a silent pass
        ok(False, f"exception: {e!r}")
    sys.exit(done())
