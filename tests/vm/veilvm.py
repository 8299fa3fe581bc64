#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""veilvm: boot a QEMU (TCG) guest on a Debian kernel with the veil modules
and run a job inside it.

    veilvm.py boot  --kver KVER [--job FILE | --cmd 'shell command'] [options]
    veilvm.py suites --kver KVER [--tap OUT] [SUITE ...]

The guest is a busybox initramfs built per run: the kernel's own modules the
tests need (with their dependencies, decompressed on the host), the project's
modules under /lib/modules/$KVER/extra, project binaries from build/bin, extra
host binaries a suite asks for, and every shared library they link.

With --vsock CID:UDS the guest gets a virtio-vsock device with that CID,
served by tests/vm/vhost-user-vsock (started before QEMU, stopped after
it) whose host side is the hybrid-vsock convention on UDS; guest RAM is
then a shared memfd, as vhost-user needs.

Runtime unix sockets (the QEMU monitor, the vhost-user socket) live in a short private directory
under /tmp, so the checkout may lie under a path of any length; if QEMU
cannot start, its own error is reported (exit 4).

The guest's verdict travels over a second serial port (ttyS1) that only the
guest's /init writes, tagged with a per-run nonce; the console (ttyS0) is
streamed to stdout and kept under build/vm/logs.  A kernel BUG/WARNING/Oops,
lockup or hung task in the console log, or a tainted kernel at the end, fails
the run even if the job passed.  A guest that does not finish within
--timeout is killed and reported as timed out.

Exit codes: 0 pass, 1 job failed, 2 kernel log not clean, 3 timeout,
4 runner/infrastructure error.
"""

import argparse
import os
import re
import secrets
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BUILD", os.path.join(TOP, "build"))
CACHE = os.environ.get("VEIL_CACHE", os.path.join(BUILD, "cache"))
VMDIR = os.path.join(BUILD, "vm")

EXIT_PASS, EXIT_FAIL, EXIT_SPLAT, EXIT_TIMEOUT, EXIT_INFRA = 0, 1, 2, 3, 4

# Kernel modules every guest gets (if the kernel has them as modules).
BASE_MODULES = [
    "virtio_pci", "virtio_blk", "virtio_net", "dm-mod", "dm-crypt", "brd",
    "loop", "xts", "ecb", "cbc", "crypto_null", "aesni_intel", "crc32c_generic", "crc32c-intel",
    "libcrc32c", "vsock_loopback", "vmw_vsock_virtio_transport_common",
    "9p", "9pnet", "9pnet_fd", "9pnet_virtio", "ext4", "configfs",
    "af_packet", "acpiphp",
]
# Modules loaded by /init before the job (the rest load on demand).
PRELOAD = ["virtio_pci", "virtio_blk", "virtio_net", "dm-mod", "crc32c_generic"]

# Host binaries always copied into the guest.
BASE_BINS = ["/usr/sbin/dmsetup"]

# Lines in the kernel log that fail a run.
SPLAT_RE = re.compile(
    r"(BUG: |WARNING: |Oops|general protection fault|Kernel panic|"
    r"kernel BUG at|soft lockup|hard LOCKUP|blocked for more than|"
    r"UBSAN: |KASAN: |list_add corruption|list_del corruption|"
    r"RCU detected stall|rcu_sched self-detected stall|"
    r"unregister_netdevice: waiting|refcount_t: )")


# A stack frame or RIP inside one of our modules: "vdm_map+0x1a/0x90 [dm_veil]".
OUR_FRAME_RE = re.compile(r"\[(dm_veil|veil|veil_abi2|veil_test_consumer|veil_async_cipher|9pnet_vsock)\]")

TAP_RE = re.compile(r"^\s*(ok |not ok |# |TAP version|\d+\.\.\d+$)")


def log(msg):
    print("veilvm: " + msg, file=sys.stderr, flush=True)


def die(msg):
    log(msg)
    sys.exit(EXIT_INFRA)


# --------------------------------------------------------------- kernels ---

def kernel_root(kver):
    root = os.path.join(CACHE, "kernels", kver)
    if not os.path.isdir(os.path.join(root, "lib", "modules", kver)):
        die(f"kernel {kver} is not unpacked in {CACHE}/kernels: run scripts/setup-host.sh")
    return root


def vmlinux(kver):
    out = subprocess.run([os.path.join(TOP, "tests", "vm", "vmlinux.sh"), kver],
                         capture_output=True, text=True)
    if out.returncode != 0:
        die(out.stderr.strip())
    return out.stdout.strip()


def modules_dep(kver):
    """Return {modname: (relpath, [dep relpaths])} for the cached kernel."""
    root = kernel_root(kver)
    mdir = os.path.join(root, "lib", "modules", kver)
    dep = os.path.join(mdir, "modules.dep")
    if not os.path.exists(dep):
        subprocess.run(["depmod", "-b", root, kver], check=True)
    table = {}
    with open(dep) as f:
        for line in f:
            path, _, deps = line.partition(":")
            name = os.path.basename(path).split(".ko")[0].replace("-", "_")
            table[name] = (path, deps.split())
    builtin = set()
    bpath = os.path.join(mdir, "modules.builtin")
    if os.path.exists(bpath):
        with open(bpath) as f:
            for line in f:
                builtin.add(os.path.basename(line.strip()).split(".ko")[0].replace("-", "_"))
    return mdir, table, builtin


def plain_module(src):
    """Path of an uncompressed copy of module src (cached next to it).

    busybox's modprobe hands compressed modules to the kernel as-is, which
    then logs "Invalid ELF header magic", so the guest gets plain .ko files.
    """
    for ext, tool in ((".xz", ["xz", "-dc"]), (".zst", ["zstd", "-dcq"])):
        if src.endswith(ext):
            plain = src[: -len(ext)]
            if not os.path.exists(plain):
                # Runners started together (the vsock e2e boots three) may
                # all get here: each writes its own file and renames it in
                # place, so none sees another's half-written copy.
                fd, tmp = tempfile.mkstemp(prefix=os.path.basename(plain) + ".",
                                           dir=os.path.dirname(plain))
                try:
                    with os.fdopen(fd, "wb") as out:
                        subprocess.run(tool + [src], stdout=out, check=True)
                    os.chmod(tmp, 0o644)
                    os.replace(tmp, plain)
                except BaseException:
                    os.unlink(tmp)
                    raise
            return plain
    return src


def module_closure(kver, names):
    mdir, table, builtin = modules_dep(kver)
    byrel = {v[0]: k for k, v in table.items()}
    want, todo = set(), [n.replace("-", "_") for n in names]
    while todo:
        n = todo.pop()
        if n in want or n in builtin:
            continue
        if n not in table:
            continue  # not built for this kernel (e.g. crc32c-intel on some configs)
        want.add(n)
        todo.extend(byrel[d] for d in table[n][1] if d in byrel)
    return mdir, [table[n][0] for n in sorted(want)]


# ------------------------------------------------------------- initramfs ---

def ldd_libs(path):
    out = subprocess.run(["ldd", path], capture_output=True, text=True)
    libs = []
    for line in out.stdout.splitlines():
        m = re.search(r"(/\S+)\s+\(0x", line)
        if m:
            libs.append(m.group(1))
    return libs


def copy_into(root, src, dst=None):
    dst = os.path.join(root, (dst or src).lstrip("/"))
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copy2(src, dst, follow_symlinks=True)
    return dst


INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s
export PATH=/veil/bin:/bin:/sbin:/usr/bin:/usr/sbin
# No udev in the base guest: libdevmapper creates /dev/mapper nodes itself.
export DM_DISABLE_UDEV=1
mount -t proc proc /proc
echo /sbin/modprobe > /proc/sys/kernel/modprobe
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /tmp /run /var/tmp /mnt
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /dev/shm
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
nonce=$(sed -n 's/.*veilvm.nonce=\([0-9a-f]*\).*/\1/p' /proc/cmdline)
res=/dev/ttyS1
echo "VEIL-BOOTED $(cut -d' ' -f1 /proc/uptime)"
for m in $(cat /veil/preload); do modprobe "$m" 2>/dev/null; done
ip link set lo up
# The first TCP connect makes the port secret once, then the kernel patches
# that code out (a static key, rewritten through an int3 on SMP); under TCG
# a CPU can still trip over that int3 later and Oops.  Get it done now,
# before any test runs.
nc -w 1 127.0.0.1 9 </dev/null >/dev/null 2>&1
usleep 300000
if ip link show eth0 >/dev/null 2>&1; then
	ip addr add 10.0.2.15/24 dev eth0
	ip link set eth0 up
fi
hostname "${VEIL_HOSTNAME:-veil-guest}"
echo "VEIL-READY $(cut -d' ' -f1 /proc/uptime)"
cd /veil
sh /veil/job </dev/console >/dev/console 2>&1
rc=$?
sync
t=$(cat /proc/sys/kernel/tainted)
echo "VEIL-RESULT $nonce rc=$rc tainted=$t" > $res
dmesg > /dev/ttyS1 2>/dev/null
echo "VEIL-END $nonce" > $res
sync
poweroff -f
"""


def build_initramfs(kver, workdir, extra_bins=(), extra_modules=(), files=(), preload=()):
    """Build <workdir>/initrd.cpio; return its path."""
    root = os.path.join(workdir, "root")
    if os.path.exists(root):
        shutil.rmtree(root)
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev",
              "lib", "lib64", "veil/bin", "veil/ko", "tmp", "run"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    copy_into(root, "/bin/busybox")
    with open(os.path.join(root, "init"), "w") as f:
        f.write(INIT)
    os.chmod(os.path.join(root, "init"), 0o755)
    with open(os.path.join(root, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    with open(os.path.join(root, "etc", "group"), "w") as f:
        f.write("root:x:0:\nnogroup:x:65534:\n")
    # Kernel modules: the kernel's (decompressed) and the project's.
    mdir, rels = module_closure(kver, BASE_MODULES + list(extra_modules))
    gmdir = os.path.join(root, "lib", "modules", kver)
    for rel in rels:
        src = os.path.join(mdir, rel)
        dst = os.path.join(gmdir, re.sub(r"\.(xz|zst)$", "", rel))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(plain_module(src), dst)
    for name in ("modules.builtin", "modules.order", "modules.builtin.modinfo"):
        if os.path.exists(os.path.join(mdir, name)):
            shutil.copy2(os.path.join(mdir, name), os.path.join(gmdir, name))
    kodir = os.path.join(BUILD, "kmod", kver, "ko")
    if os.path.isdir(kodir):
        os.makedirs(os.path.join(gmdir, "extra"), exist_ok=True)
        for ko in sorted(os.listdir(kodir)):
            if ko.endswith(".ko"):
                shutil.copy2(os.path.join(kodir, ko), os.path.join(gmdir, "extra", ko))
                shutil.copy2(os.path.join(kodir, ko), os.path.join(root, "veil", "ko", ko))
    subprocess.run(["depmod", "-b", root, kver], check=True)
    with open(os.path.join(root, "veil", "preload"), "w") as f:
        f.write("\n".join(PRELOAD + list(preload)) + "\n")
    # Binaries and their libraries.
    bins = list(BASE_BINS) + list(extra_bins)
    bindir = os.path.join(BUILD, "bin")
    if os.path.isdir(bindir):
        for b in sorted(os.listdir(bindir)):
            p = os.path.join(bindir, b)
            if os.path.isfile(p) and os.access(p, os.X_OK):
                copy_into(root, p, "/veil/bin/" + b)
                bins.append(p)
    libs = set()
    for b in bins:
        if not os.path.exists(b):
            die(f"guest binary {b} not found on the host")
        if not b.startswith(bindir):
            copy_into(root, b)
        libs.update(ldd_libs(b))
    for lib in sorted(libs):
        copy_into(root, lib)
        real = os.path.realpath(lib)
        if real != lib:
            copy_into(root, real)
    for src, dst in files:
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(root, dst.lstrip("/")), dirs_exist_ok=True)
        else:
            copy_into(root, src, dst)
    cpio = os.path.join(workdir, "initrd.cpio")
    with open(cpio, "wb") as out:
        find = subprocess.Popen(["find", ".", "-print0"], cwd=root, stdout=subprocess.PIPE)
        subprocess.run(["cpio", "--null", "-o", "-H", "newc", "--quiet"], cwd=root,
                       stdin=find.stdout, stdout=out, check=True)
        find.wait()
    return cpio


# ------------------------------------------------------------------- boot ---

# A unix socket's path must fit sockaddr_un.sun_path (108 bytes with its NUL).
SUN_PATH_MAX = 107


def runtime_dir():
    """A short private directory for the guest's unix sockets.

    The checkout (and so build/) may lie under any path, and a unix socket
    path longer than SUN_PATH_MAX cannot be bound: QEMU refuses to start.
    """
    base = "/tmp" if os.access("/tmp", os.W_OK | os.X_OK) else tempfile.gettempdir()
    d = tempfile.mkdtemp(prefix="veilvm-", dir=base)
    os.chmod(d, 0o700)
    if len(os.path.join(d, "monitor.sock")) > SUN_PATH_MAX:
        shutil.rmtree(d, ignore_errors=True)
        die(f"temporary directory {d} too long for a unix socket path: set TMPDIR to a short path")
    return d


class Guest:
    def __init__(self, args, workdir, rundir):
        self.args = args
        self.workdir = workdir
        # QEMU's monitor lives in rundir whatever --monitor said; hooks
        # that name the --monitor path get this one instead.
        self.monitor = os.path.join(rundir, "monitor.sock") if args.monitor else None
        self.vhost_sock = os.path.join(rundir, "vsock.sock") if args.vsock else None
        self.backend = None
        self.nonce = secrets.token_hex(8)
        self.result_path = os.path.join(workdir, "result.txt")
        self.reset_log = os.path.join(workdir, "cpu-reset.log")
        self.hooks = {}
        for h in args.hook or []:
            tag, _, cmd = h.partition("=")
            self.hooks[tag] = cmd

    def qemu_cmd(self, kernel, initrd):
        a = self.args
        append = (f"console=ttyS0 loglevel=5 panic=-1 rdinit=/init "
                  f"sysctl.kernel.hung_task_timeout_secs=30 "
                  f"veilvm.nonce={self.nonce} {a.append or ''}").strip()
        cmd = ["qemu-system-x86_64", "-machine", "pc", "-accel", "tcg", "-cpu", "max",
               "-smp", str(a.smp), "-m", f"{a.mem}M", "-no-reboot", "-nodefaults",
               "-display", "none", "-kernel", kernel, "-initrd", initrd,
               "-append", append,
               "-chardev", "stdio,id=con0,signal=off", "-serial", "chardev:con0",
               "-serial", "file:" + self.result_path,
               # CPU resets go to a file: a triple fault resets the machine
               # without a word on the console, and -no-reboot then ends QEMU
               # as quietly as a poweroff.
               "-d", "cpu_reset", "-D", self.reset_log]
        cmd += ["-monitor", f"unix:{self.monitor},server=on,wait=off"] if self.monitor else ["-monitor", "none"]
        for i, d in enumerate(a.disk or []):
            path, _, opts = d.partition(",")
            ro = ",readonly=on" if "ro" in opts.split(",") else ""
            cmd += ["-drive", f"file={path},if=none,id=vd{i},format=raw,cache=unsafe{ro}",
                    "-device", f"virtio-blk-pci,drive=vd{i},serial=veil{i}"]
        qargs = a.qemu_arg or []
        if self.vhost_sock or any("vhost-user" in q for q in qargs):
            # vhost-user maps guest RAM in the back end: it must be a shared fd.
            cmd += ["-object", f"memory-backend-memfd,id=mem,size={a.mem}M,share=on",
                    "-numa", "node,memdev=mem"]
        if self.vhost_sock:
            cmd += ["-chardev", f"socket,id=vvsock,path={self.vhost_sock}",
                    "-device", "vhost-user-vsock-pci,chardev=vvsock"]
        if a.fwd:
            net = "user,id=n0,restrict=on"
            for fw in a.fwd:
                gport, _, hport = fw.partition("=")
                if not (gport.isdigit() and hport.isdigit()):
                    die(f"--fwd wants GUESTPORT=HOSTPORT, got {fw!r}")
                net += f",guestfwd=tcp:10.0.2.100:{gport}-cmd:socat - TCP:127.0.0.1:{hport}"
            cmd += ["-netdev", net, "-device", "virtio-net-pci,netdev=n0"]
        return cmd + qargs

    def start_backend(self):
        """Start the vhost-user-vsock back end; wait for its socket."""
        cid, uds = self.args.vsock_cid, self.args.vsock_uds
        exe = os.environ.get("VEILVM_VSOCKD") or next(
            (p for p in (os.path.join(BUILD, "san", "bin", "vhost-user-vsock"),
                         os.path.join(BUILD, "bin", "vhost-user-vsock")) if os.access(p, os.X_OK)), None)
        if not exe:
            die("--vsock needs build/bin/vhost-user-vsock: run make user")
        out = open(self.args.log + ".vsock", "w")
        self.backend = subprocess.Popen([exe, "--socket", self.vhost_sock, "--cid", str(cid), "--uds", uds],
                                        stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        out.close()
        deadline = time.monotonic() + 30
        while not os.path.exists(self.vhost_sock):
            if self.backend.poll() is not None or time.monotonic() > deadline:
                self.stop_backend()
                die(f"vhost-user-vsock did not start (log {self.args.log}.vsock)")
            time.sleep(0.05)

    def stop_backend(self):
        if not self.backend:
            return
        if self.backend.poll() is None:
            self.backend.terminate()
            try:
                self.backend.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.backend.kill()
                self.backend.wait()
        if self.backend.returncode not in (0, -signal.SIGTERM):
            log(f"vhost-user-vsock exited {self.backend.returncode} (log {self.args.log}.vsock)")
            self.backend_failed = True
        self.backend = None

    def run(self, kernel, initrd):
        a = self.args
        os.makedirs(os.path.dirname(a.log), exist_ok=True)
        for attempt in (1, 2, 3):
            self.backend_failed = False
            if self.vhost_sock:
                self.start_backend()
            try:
                rc = self.run_qemu(kernel, initrd)
            finally:
                self.stop_backend()
            why = None if rc == EXIT_PASS or attempt == 3 else self.tcg_fault(attempt == 1)
            if why is None:
                break
            # Kept for the record, then booted again with nothing changed.
            kept = a.log + (".tcg" if attempt == 1 else f".tcg{attempt}")
            os.replace(a.log, kept)
            if os.path.exists(self.result_path):
                os.unlink(self.result_path)
            log(f"{a.kver}: {why}: booting once more (that boot's log {kept})")
        # A back end that crashed (e.g. a sanitizer report) fails the run.
        return EXIT_INFRA if self.backend_failed and rc == EXIT_PASS else rc

    def run_qemu(self, kernel, initrd):
        a = self.args
        # line-buffered: scripts watch it while the guest runs
        logf = open(a.log, "w", buffering=1)
        cmd = self.qemu_cmd(kernel, initrd)
        logf.write("# " + " ".join(shlex.quote(c) for c in cmd) + "\n")
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        buf, timed_out, booted, ready = b"", False, None, None
        deadline = t0 + a.timeout
        lines = self.lines = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            r, _, _ = select.select([proc.stdout], [], [], min(left, 1.0))
            if not r:
                if proc.poll() is not None:
                    break
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                line = raw.decode("utf-8", "replace").rstrip("\r")
                lines.append(line)
                logf.write(line + "\n")
                if a.stream == "all" or (a.stream == "tap" and TAP_RE.match(line)):
                    print(line, flush=True)
                if booted is None and line.startswith("VEIL-BOOTED"):
                    booted = time.monotonic() - t0
                elif ready is None and line.startswith("VEIL-READY"):
                    ready = time.monotonic() - t0
                m = re.match(r"^VEIL-HOST (\S+)", line)
                if m and m.group(1) in self.hooks:
                    self.run_hook(m.group(1), logf)
        if timed_out or proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        qemu_rc = proc.wait()
        if buf:
            lines.append(buf.decode("utf-8", "replace"))
            logf.write(lines[-1] + "\n")
        elapsed = time.monotonic() - t0
        logf.close()
        if not timed_out and booted is None and qemu_rc != 0:
            return self.qemu_failed(lines, qemu_rc)
        return self.verdict(lines, timed_out, booted, ready, elapsed, qemu_rc)

    def tcg_fault(self, first):
        """Did the last boot die of a fault the emulator made, not the guest?

        Two such faults are known under QEMU 7.2's TCG, each worth another
        boot with nothing changed (each failed boot's log is kept); a run
        boots at most three times:

        - An "Oops: int3" before VEIL-BOOTED.  The kernel rewrites static
          keys through a temporary int3 (text_poke_bp); another vCPU can
          still run a stale translation holding that int3 after the patch
          is done.  Before VEIL-BOOTED no module of ours is loaded and no
          test has run, so this is worth another boot however the previous
          one ended: a boot made again after the other fault can hit it.
        - A double fault whose trace names no function of ours, seen inside
          the slab allocator right after a cmpxchg16b, with a saved EFLAGS
          that held RAX's low bits (no CPU can save that).  A double fault
          that veil caused (a stack overflow in one of its paths, say)
          shows a "[dm_veil]"-style frame in its trace and counts as it is.
          Only a run's @first boot is made again for this one.

        Returns what happened, for the log, or None.
        """
        lines = self.lines
        booted = any(l.startswith("VEIL-BOOTED") for l in lines)
        if not booted and any("Oops: int3" in l for l in lines):
            return ("the kernel hit a stale int3 while booting, before /init and any "
                    "test ran (a TCG cross-modifying-code race, not veil's)")
        if (first and any("PANIC: double fault" in l for l in lines)
                and not any(OUR_FRAME_RE.search(l) for l in lines)):
            return ("the kernel died of a double fault with no veil function on its "
                    "stack (TCG state corruption seen under QEMU 7.2, not veil's)")
        return None

    def qemu_failed(self, lines, rc):
        """QEMU exited before the guest booted: say what QEMU said."""
        said = [l.strip() for l in lines if l.strip()
                and not l.startswith("[") and not SPLAT_RE.search(l)]
        qemu = [l for l in said if l.startswith("qemu")] or said[-5:]
        log(f"{self.args.kver}: QEMU failed to start (exit {rc}): "
            + (" / ".join(qemu) if qemu else "no message") + f" (log {self.args.log})")
        return EXIT_INFRA

    def run_hook(self, tag, logf):
        cmd = self.hooks[tag]
        env = dict(os.environ)
        if self.monitor:
            cmd = cmd.replace(self.args.monitor, self.monitor)
            env["VEILVM_MONITOR"] = self.monitor
        r = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=60, env=env)
        msg = f"hook {tag}: rc={r.returncode} {r.stdout.strip()} {r.stderr.strip()}"
        logf.write("veilvm: " + msg + "\n")
        log(msg)

    def verdict(self, lines, timed_out, booted, ready, elapsed, qemu_rc):
        a = self.args
        res = open(self.result_path, errors="replace").read() if os.path.exists(self.result_path) else ""
        # Keep the guest's full dmesg next to the console log.
        with open(a.log + ".dmesg", "w") as f:
            f.write(res)
        m = re.search(rf"^VEIL-RESULT {self.nonce} rc=(\d+) tainted=(\d+)", res, re.M)
        splats = [l for l in lines if SPLAT_RE.search(l)]
        splats += [l for l in res.splitlines() if SPLAT_RE.search(l) and l not in splats]
        btxt = f"{booted:.1f}s" if booted else "n/a"
        rtxt = f"{ready:.1f}s" if ready else "n/a"
        log(f"{a.kver}: boot {btxt}, modules loaded {rtxt}, total {elapsed:.1f}s (log {a.log})")
        if timed_out:
            log(f"{a.kver}: guest timed out after {a.timeout}s and was killed")
            return EXIT_TIMEOUT
        if not m:
            log(f"{a.kver}: guest ended without a verdict (crash or panic?)")
            self.explain_no_verdict(lines, res, qemu_rc, splats)
            return EXIT_SPLAT if splats else EXIT_FAIL
        rc, tainted = int(m.group(1)), int(m.group(2))
        # Taint bits that a test may legitimately set: 12 (OOT module),
        # 13 (unsigned module), 15 (staging) do not count.
        bad_taint = tainted & ~((1 << 12) | (1 << 13) | (1 << 10))
        if splats or bad_taint:
            self.log_splats(splats)
            if bad_taint:
                log(f"{a.kver}: kernel tainted {tainted:#x} at the end")
            return EXIT_SPLAT
        if rc != 0:
            log(f"{a.kver}: job exited {rc}")
            return EXIT_FAIL
        return EXIT_PASS

    def log_splats(self, splats):
        for s in splats[:20]:
            log(f"{self.args.kver}: kernel log: {s.strip()}")

    def explain_no_verdict(self, lines, res, qemu_rc, splats):
        """Say in the runner's output what is known of a guest that gave no verdict.

        The console log is a temporary file that CI does not keep, so the
        output must carry the evidence: how QEMU ended (an exit code, or the
        signal that killed it), what reached the result port, the kernel
        splats and the console's last lines.
        """
        kver = self.args.kver
        how = (f"killed by signal {-qemu_rc}" if qemu_rc < 0 else f"exited {qemu_rc}")
        got = res.count("\n")
        log(f"{kver}: QEMU {how}; the result port got {got} line(s), no VEIL-RESULT")
        try:
            resets = open(self.reset_log, errors="replace").read()
        except OSError:
            resets = ""
        if "Triple fault" in resets:
            log(f"{kver}: a CPU triple-faulted: the machine reset without a kernel "
                f"message, and -no-reboot ended QEMU")
        self.log_splats(splats)
        for l in lines[-15:]:
            if l not in splats:
                log(f"{kver}: console: {l.rstrip()}")


def boot(args, job_text, extra_bins=(), extra_files=()):
    kernel = vmlinux(args.kver)
    os.makedirs(VMDIR, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix=f"{args.kver}.", dir=VMDIR)
    jobfile = os.path.join(workdir, "job")
    with open(jobfile, "w") as f:
        f.write(job_text)
    files = [(jobfile, "/veil/job")] + list(extra_files)
    t0 = time.monotonic()
    vsock_mods = ["vsock", "vmw_vsock_virtio_transport"] if args.vsock else []
    initrd = build_initramfs(args.kver, workdir, extra_bins=extra_bins,
                             extra_modules=(args.module or []) + vsock_mods, files=files,
                             preload=vsock_mods)
    size = os.path.getsize(initrd) >> 20
    log(f"{args.kver}: initramfs {size} MiB built in {time.monotonic() - t0:.1f}s")
    if not args.log:
        # Unnamed guests get the pid too, so guests run at once keep apart.
        name = args.name or f"guest-{os.getpid()}"
        args.log = os.path.join(VMDIR, "logs", f"{name}-{args.kver}.log")
    rundir = runtime_dir()
    guest = Guest(args, workdir, rundir)
    try:
        return guest.run(kernel, initrd)
    finally:
        args.console_lines = getattr(guest, "lines", [])
        shutil.rmtree(rundir, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


# ----------------------------------------------------------------- suites ---

def suite_programs(suite_dir):
    """Programs of a kselftest suite: the KSFT_PROGS named in its *.mk."""
    progs = []
    for fn in sorted(os.listdir(suite_dir)):
        if fn.endswith(".mk"):
            for line in open(os.path.join(suite_dir, fn)):
                m = re.match(r"\s*KSFT_PROGS\s*\+?=\s*(.*)", line)
                if m:
                    progs += m.group(1).split()
    return progs


def suite_setting(suite_dir, key, default):
    p = os.path.join(suite_dir, "settings")
    if os.path.exists(p):
        for line in open(p):
            k, _, v = line.strip().partition("=")
            if k == key:
                return v
    return default


def suites_job(suites):
    """A guest job running every program of every suite as TAP."""
    total = sum(len(progs) for _, _, progs, _ in suites)
    lines = []
    for name, _, progs, timeout in suites:
        for p in progs:
            lines.append(f"""n=$((n+1))
echo "# selftests: {name}: {p}"
if [ -x /veil/bin/{p} ]; then
	( cd /tmp && timeout -s KILL {timeout} /veil/bin/{p}; echo $? > /tmp/.rc ) 2>&1 | sed 's/^/  /'
	rc=$(cat /tmp/.rc)
else
	echo "  # {p}: not built"; rc=127
fi
if [ "$rc" = 0 ]; then echo "ok $n selftests: {name}: {p}"
elif [ "$rc" = 4 ]; then echo "ok $n selftests: {name}: {p} # SKIP"
elif [ "$rc" = 137 ]; then echo "not ok $n selftests: {name}: {p} # TIMEOUT {timeout} seconds"; bad=1
else echo "not ok $n selftests: {name}: {p} # exit=$rc"; bad=1
fi""")
    return "\n".join(["set +e", "echo 'TAP version 13'", f"echo '1..{total}'", "n=0; bad=0"]
                     + lines + ["exit $bad", ""])


def count_tap(lines):
    """Count test cases from kselftest harness output nested in the log.

    Each program's "# Totals: pass:P fail:F xfail:X xpass:Y skip:S error:E"
    gives its counts; a program that ended without one (crash, timeout)
    counts as one failure.
    """
    passed = failed = skipped = 0
    saw_totals = False
    for line in lines:
        s = line.strip()
        m = re.match(r"# Totals: pass:(\d+) fail:(\d+) xfail:(\d+) xpass:(\d+) skip:(\d+) error:(\d+)", s)
        if m:
            p, f, xf, xp, sk, e = map(int, m.groups())
            passed += p + xf
            failed += f + xp + e
            skipped += sk
            saw_totals = True
            continue
        m = re.match(r"(not )?ok \d+ selftests: ", line)
        if m:
            if not saw_totals:
                if m.group(1):
                    failed += 1
                elif "# SKIP" in line:
                    skipped += 1
                else:
                    passed += 1
            saw_totals = False
    return passed, failed, skipped


def cmd_suites(args):
    root = os.path.join(TOP, "tests", "kselftest")
    # By default every suite but those marked opt-in (long soaks and scale
    # runs: a file named "opt-in" in the suite directory).
    names = args.suite or sorted(
        d for d in os.listdir(root)
        if os.path.isdir(os.path.join(root, d))
        and not os.path.exists(os.path.join(root, d, "opt-in")))
    suites, bins, mods = [], [], []
    total_timeout = 0
    for n in names:
        d = os.path.join(root, n)
        if not os.path.isdir(d):
            die(f"no kselftest suite {n} in {root}")
        progs = suite_programs(d)
        t = int(suite_setting(d, "timeout", "120"))
        total_timeout += t * max(1, len(progs))
        suites.append((n, d, progs, t))
        for extra, acc in (("guest-bins", bins), ("guest-modules", mods)):
            p = os.path.join(d, extra)
            if os.path.exists(p):
                acc += [l.strip() for l in open(p) if l.strip() and not l.startswith("#")]
    args.module = (args.module or []) + mods
    if args.timeout is None:
        args.timeout = total_timeout + 60
    args.name = args.name or "suites-" + "+".join(names)
    files = [(os.path.join(root, n), f"/veil/kselftest/{n}") for n in names]
    rc = boot(args, suites_job(suites), extra_bins=bins, extra_files=files)
    passed, failed, skipped = count_tap(args.console_lines)
    if rc == EXIT_SPLAT:
        failed += 1
        log(f"{args.kver}: counting the kernel log as one failure")
    elif rc in (EXIT_TIMEOUT, EXIT_INFRA) or (rc == EXIT_FAIL and failed == 0):
        failed += 1
    if args.tap:
        with open(args.tap, "w") as f:
            f.write(f"# suites {' '.join(names)} on {args.kver}\n")
            f.write(f"# Totals: pass:{passed} fail:{failed} xfail:0 xpass:0 skip:{skipped} error:0\n")
    print(f"{args.kver}: {passed} passed, {failed} failed, {skipped} skipped", flush=True)
    return rc


def cmd_boot(args):
    if args.job:
        job = open(args.job).read()
    elif args.cmd:
        job = args.cmd + "\n"
    else:
        job = "echo hello from $(uname -r)\n"
    bins = args.bin or []
    files = []
    for f in args.file or []:
        src, _, dst = f.partition("=")
        files.append((src, dst or src))
    return boot(args, job, extra_bins=bins, extra_files=files)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    for name in ("boot", "suites"):
        p = sub.add_parser(name)
        p.add_argument("--kver", required=True, help="kernel release, e.g. 6.1.0-56-amd64")
        p.add_argument("--timeout", type=int, default=None, help="kill the guest after this many seconds")
        p.add_argument("--mem", type=int, default=1024, help="guest memory, MiB")
        p.add_argument("--smp", type=int, default=2)
        p.add_argument("--disk", action="append", help="IMG[,ro]: a virtio-blk disk (repeatable)")
        p.add_argument("--fwd", action="append",
                       help="GUESTPORT=HOSTPORT: guest 10.0.2.100:GUESTPORT reaches host 127.0.0.1:HOSTPORT")
        p.add_argument("--monitor", metavar="NAME",
                       help="HMP monitor (for device_add hot-plug) on a unix socket in a short private "
                            "directory; NAME in a --hook command stands for its path, also given to "
                            "hooks as $VEILVM_MONITOR")
        p.add_argument("--hook", action="append",
                       help="TAG=CMD: run CMD on the host when the guest prints 'VEIL-HOST TAG'")
        p.add_argument("--vsock", metavar="CID:UDS",
                       help="a virtio-vsock device with guest CID CID, served by vhost-user-vsock whose "
                            "host side is the hybrid-vsock socket UDS (guest port P: UDS_P)")
        p.add_argument("--qemu-arg", action="append", metavar="ARG",
                       help="append ARG to QEMU's command line (repeatable; write --qemu-arg=-opt for "
                            "an ARG starting with '-'); an ARG naming vhost-user makes guest RAM a shared memfd")
        p.add_argument("--module", action="append", help="extra kernel module to include")
        p.add_argument("--append", help="extra kernel command line")
        p.add_argument("--log", help="console log path (default build/vm/logs/NAME-KVER.log)")
        p.add_argument("--name", help="name for the log file")
        p.add_argument("--stream", choices=("all", "tap", "none"), default="all" if name == "boot" else "tap",
                       help="what of the console to echo: all, TAP lines only, nothing")
        p.add_argument("--keep", action="store_true", help="keep the work directory")
        if name == "boot":
            p.add_argument("--job", help="shell script to run in the guest")
            p.add_argument("--cmd", help="shell command to run in the guest")
            p.add_argument("--bin", action="append", help="extra host binary to copy in (with its libraries)")
            p.add_argument("--file", action="append", help="SRC[=DST]: extra file or directory")
        else:
            p.add_argument("--tap", help="write the totals here")
            p.add_argument("suite", nargs="*", help="suite names under tests/kselftest (default: all)")
    args = ap.parse_args()
    args.vsock_cid = args.vsock_uds = None
    if args.vsock:
        cid, _, uds = args.vsock.partition(":")
        if not cid.isdigit() or not 3 <= int(cid) <= 0xfffffffe or not uds:
            ap.error(f"--vsock wants CID:UDS with a CID from 3 to 4294967294, got {args.vsock!r}")
        if len(uds) + 12 > SUN_PATH_MAX:
            ap.error(f"--vsock socket path {uds!r} is too long for a unix socket")
        args.vsock_cid, args.vsock_uds = int(cid), os.path.abspath(uds)
    if args.what == "boot":
        if args.timeout is None:
            args.timeout = 300
        sys.exit(cmd_boot(args))
    sys.exit(cmd_suites(args))


if __name__ == "__main__":
    main()
