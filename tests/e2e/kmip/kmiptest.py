# SPDX-License-Identifier: GPL-2.0
"""Host-side KMIP tests of libveil's client, veil-kmip and veild (no guest).

usage: kmiptest.py BUILD_DIR WORK_DIR   (TAP on stdout, exit 1 on failure)

Against a real pykmip-server with TLS client authentication: keys created
through veil are read back with the PyKMIP client and the reverse; per-host
authorisation by certificate identity; a proxy that drops idle connections
costs no failed lookup; fake servers with truncated, malformed, oversized or
non-KMIP replies, the wrong certificate or no TLS give clean errors (the
ASan/UBSan build runs those); veild without veil.ko says so once.
"""
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kms  # noqa: E402

build, work = sys.argv[1], sys.argv[2]
certs = os.path.join(work, "certs")
TOOL = os.path.join(build, "bin", "veil-kmip")
STOOL = os.path.join(build, "san", "bin", "veil-kmip")
SVEILD = os.path.join(build, "san", "bin", "veild")

n = fails = 0


def ok(cond, what, detail=""):
    global n, fails
    n += 1
    print("%sok %d - %s" % ("" if cond else "not ", n, what), flush=True)
    if not cond:
        fails += 1
        for line in str(detail).strip().splitlines()[-15:]:
            print("#   " + line)
    return cond


def run(args, timeout=60):
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def conf(name, host, port, **extra):
    return kms.veil_conf(os.path.join(work, name), certs, host, port, **extra)


def timed(args, timeout=60):
    """run() and the seconds it took; rc None if it outlived `timeout`."""
    t0 = time.monotonic()
    try:
        rc, out, err = run(args, timeout)
    except subprocess.TimeoutExpired as e:
        rc, out, err = None, e.stdout or "", "still running after %ds: %s" % (
            timeout, e.stderr or "")
    return rc, out if isinstance(out, str) else out.decode(), \
        err if isinstance(err, str) else err.decode(), time.monotonic() - t0


def main():
    subprocess.run([os.path.join(os.path.dirname(__file__), "certs.sh"), certs],
                   check=True)
    server = kms.Kms(os.path.join(work, "kms"), certs)
    t0 = time.time()
    server.start()
    print("# pykmip-server up on 127.0.0.1:%d in %.1fs" % (server.port, time.time() - t0))
    try:
        tests(server)
    finally:
        server.stop()
    print("1..%d" % n)
    print("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0" % (n - fails, fails))
    return 1 if fails else 0


def tests(server):
    port = server.port
    a = conf("hosta.conf", "hosta", port)
    c = conf("hostc.conf", "hostc", port)

    # --- provisioning and interoperability ---
    rc, out, err = run([TOOL, "-c", a, "create"])
    kid = out.strip()
    ok(rc == 0 and re.fullmatch(r"[0-9a-f]{32}", kid),
       "veil-kmip create: 16-byte key-id on stdout", err)
    try:
        uid, key, bits = kms.py_get_by_name(certs, port, "veil-" + kid)
        ok(len(key) == 64 and bits == 512,
           "PyKMIP client (another host of the cluster) reads the 512-bit key veil created")
    except Exception as e:
        ok(False, "PyKMIP client reads the key veil created", repr(e))
    rc, out, err = run([TOOL, "-c", a, "info", kid])
    ok(rc == 0 and "state: active" in out and "bits: 512" in out and
       "name: veil-" + kid in out, "info: active 512-bit AES key under its name", out + err)

    rc, out, err = run([TOOL, "-c", a, "create", "--local"])
    lkid = out.strip()
    try:
        _, key, bits = kms.py_get_by_name(certs, port, "veil-" + lkid)
        ok(rc == 0 and len(key) == 64 and bits == 512,
           "create --local: a locally generated 512-bit key Registered, read back by PyKMIP")
    except Exception as e:
        ok(False, "create --local", repr(e) + err)

    pkid = os.urandom(16).hex()
    kms.py_register(certs, port, os.urandom(64), "veil-" + pkid)
    rc, out, err = run([TOOL, "-c", a, "check", pkid])
    ok(rc == 0 and "ok: 64-byte key (hidden)" in out,
       "a key registered and activated with PyKMIP is fetched by veil", out + err)

    ikid = os.urandom(16).hex()
    kms.py_register(certs, port, os.urandom(64), "veil-" + ikid, activate=False)
    rc, out, err = run([TOOL, "-c", a, "check", ikid])
    ok(rc == 1 and "no active key named veil-" + ikid in err,
       "a pre-active key is not handed out", err)

    # --- per-host authorisation ---
    rc, out, err = run([TOOL, "-c", c, "check", kid])
    ok(rc == 1 and "no active key named veil-%s visible to this host" % kid in err,
       "a host with another certificate identity gets no key, with the reason", err)
    rc, out, err = run([TOOL, "-c", conf("hostb.conf", "hostb", port), "check", kid])
    ok(rc == 0, "a second host of the same identity gets the key", err)

    # --- idle connections ---
    for mode in ("idle", "stale"):
        proxy = kms.IdleProxy(port, mode=mode, idle=0.5)
        p = conf("proxy-%s.conf" % mode, "hosta", proxy.port, idle_timeout=0)
        rc, out, err = run([TOOL, "-c", p, "check", "--repeat", "3",
                            "--interval", "1200", kid])
        m = re.search(r"3 lookups over (\d+) connection", out)
        ok(rc == 0 and m and int(m.group(1)) >= 2 and proxy.drops >= 2,
           "proxy dropping idle connections (%s): 3 lookups, no failure, %s reconnects"
           % (mode, m.group(1) if m else "?"), out + err)
        proxy.stop()

    # --- destroy ---
    rc, out, err = run([TOOL, "-c", a, "destroy", lkid])
    rc2, out2, err2 = run([TOOL, "-c", a, "check", lkid])
    ok(rc == 0 and rc2 == 1 and "no active key" in err2,
       "destroy: the key is gone", err + err2)

    # --- bad servers: clean errors from the sanitizer build ---
    get_reply = bytes.fromhex(
        "42007b01000000a042007a0100000048420069010000002042006a02000000040000000100000000"
        "42006b020000000400000002000000004200920900000008000000006553f10042000d0200000004"
        "000000010000000042000f010000004842005c05000000040000000a0000000042007f0500000004"
        "000000000000000042007c01000000204200940700000001330000000000000042009407000000023132000000000000")
    cases = [
        ("truncated", "server", "connection closed by the key manager while reading the reply"),
        ("garbage", "server", "malformed Locate reply"),
        ("huge", "server", "refused (limit 65536"),
        ("http", "server", "is not a KMIP server"),
        ("silent", "server", "timed out reading the reply"),
        ("wrong-op", "server", "response is for another operation"),
        ("plain", "server", "TLS handshake failed"),
        ("truncated", "rogue", "server certificate rejected"),
        ("truncated", "wrongname", "server certificate rejected: IP address mismatch"),
    ]
    for behaviour, cert, want in cases:
        fake = kms.FakeServer(certs, behaviour, cert=cert, reply=get_reply)
        f = conf("fake.conf", "hosta", fake.port, io_timeout=1, connect_timeout=1)
        rc, out, err = run([STOOL, "-c", f, "check", kid])
        ok(rc == 1 and want in err and "Sanitizer" not in err,
           "%s server (%s certificate): clean error '%s'" % (behaviour, cert, want), err)
        fake.stop()
    rc, out, err = run([STOOL, "-c", conf("noeku.conf", "noeku", port, io_timeout=2), "check", kid])
    ok(rc == 1 and "Sanitizer" not in err,
       "client certificate without clientAuth: pykmip-server drops it, clean error", err)
    closed = kms.free_port()
    rc, out, err = run([STOOL, "-c", conf("closed.conf", "hosta", closed, connect_timeout=1),
                        "check", kid])
    ok(rc == 1 and "Connection refused" in err, "no server listening: connection refused", err)

    hostile(server, kid)

    # --- configuration and veild without veil.ko ---
    bad = os.path.join(work, "bad.conf")
    with open(bad, "w") as fh:
        fh.write("server = 127.0.0.1\n# fine\nretries = 3\n")
    rc, out, err = run([SVEILD, "-c", bad])
    ok(rc == 2 and bad + ":3: unknown setting 'retries'" in err,
       "veild: a bad configuration is refused naming file and line", err)
    rc, out, err = run([SVEILD, "-t", "-c", a])
    ok(rc == 0 and ": ok" in out, "veild -t: configuration and TLS files check out", err)
    with open(os.path.join(work, "nocert.conf"), "w") as fh:
        fh.write("server = 127.0.0.1\nca = %s/ca.pem\ncert = /nonexistent.pem\nkey = /k\n" % certs)
    rc, out, err = run([SVEILD, "-t", "-c", os.path.join(work, "nocert.conf")])
    ok(rc == 2 and "cannot read client certificate /nonexistent.pem: No such file or directory" in err,
       "veild -t: a missing certificate is named, with the reason", err)
    tls_files(server.port)
    usage_and_version()

    if os.path.exists("/sys/module/veil"):
        ok(True, "# SKIP veil.ko is loaded on this host")
    else:
        p = subprocess.Popen([SVEILD, "-c", a], stderr=subprocess.PIPE, text=True)
        time.sleep(3.5)
        p.send_signal(signal.SIGTERM)
        try:
            _, err = p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        said = err.count("veil generic netlink family not found: load veil.ko (modprobe veil)")
        ok(p.returncode == 0 and said == 1 and "Sanitizer" not in err,
           "veild without veil.ko: one clear message in 3.5 s, clean SIGTERM", err)


def hostile(server, kid):
    """Key managers and networks that misbehave on purpose: pacing bytes,
    refusing our certificate, forging text, handing out the wrong key."""
    port = server.port
    # a reply dripped one byte at a time inside one TLS record
    io = 1.5
    drip = kms.KmipServer(certs, kms.key_server("1", os.urandom(64)),
                          drip_reply=io / 4)
    f = conf("drip.conf", "hosta", drip.port, io_timeout=io, connect_timeout=1)
    rc, out, err, dt = timed([STOOL, "-c", f, "check", kid])
    ok(rc == 1 and "timed out reading the reply" in err and dt < 2 * io + 1,
       "reply dripped inside one TLS 1.3 record: cut off at io_timeout "
       "(%.1fs, io_timeout %.1fs; the record would take > %ds)" % (dt, io, int(100 * io / 4)),
       err)
    drip.stop()

    # a handshake dripped: the honest second server must still serve
    ct = 1
    drip = kms.KmipServer(certs, kms.key_server("1", os.urandom(64)),
                          drip_handshake=0.05)
    f = conf("driphs.conf", "hosta", drip.port, io_timeout=io, connect_timeout=ct)
    with open(f, "a") as fh:
        fh.write("server = 127.0.0.1:%d\n" % port)
    rc, out, err, dt = timed([STOOL, "-c", f, "check", kid])
    ok(rc == 0 and dt < 2 * (ct + io) + 2,
       "handshake dripped by the first server: failover to the second "
       "(%.1fs, connect_timeout %ds + io_timeout %.1fs)" % (dt, ct, io), out + err)
    f = conf("driphs1.conf", "hosta", drip.port, io_timeout=io, connect_timeout=ct)
    rc, out, err, dt = timed([STOOL, "-c", f, "check", kid])
    ok(rc == 1 and "TLS handshake not done within io_timeout" in err and dt < 2 * io + 1,
       "handshake dripped: cut off at io_timeout (%.1fs)" % dt, err)
    drip.stop()

    # our certificate refused at the TLS layer: EKEYREJECTED on 1.2 and 1.3
    for v in ("1.3", "1.2"):
        for host, ca, crl, alert in (("hosta", "other-ca", None, "unknown ca"),
                                     ("revoked", "ca", "crl.pem", "certificate revoked"),
                                     ("expired", "ca", None, "certificate expired")):
            srv = kms.KmipServer(certs, kms.key_server("1", os.urandom(64)), tls=v,
                                 ca=ca, crl=crl)
            f = conf("refused.conf", host, srv.port, io_timeout=2, connect_timeout=1)
            rc, out, err = run([STOOL, "-c", f, "check", kid])
            ok(rc == 1 and "refused this host's certificate" in err and alert in err and
               "(Key was rejected by service)" in err and "Sanitizer" not in err,
               "TLS %s key manager refusing our certificate (%s): EKEYREJECTED" % (v, alert),
               err)
            srv.stop()
    rc, out, err = run([STOOL, "-c", conf("alien.conf", "alien", port, io_timeout=3),
                        "check", kid])
    ok(rc == 1 and "refused this host's certificate" in err and
       "(Key was rejected by service)" in err,
       "PyKMIP (TLS 1.2) refusing a certificate of an unknown CA: EKEYREJECTED", err)

    # server-supplied text is escaped before it is printed
    forged = "x\nveild[1]: info: forged line\x1b[2K\r"
    srv = kms.KmipServer(certs, kms.key_server(forged, os.urandom(24), name=forged, alg=2))
    f = conf("forge.conf", "hosta", srv.port, io_timeout=2, connect_timeout=1)
    rc, out, err = run([STOOL, "-c", f, "check", kid])
    ok(rc == 1 and err.count("\n") == 1 and "\x1b" not in err and "\r" not in err and
       "key x\\x0aveild[1]: info: forged line\\x1b[2K\\x0d from" in err,
       "a forged identifier in an error is escaped: one line, no control characters", repr(err))
    ok(rc == 1 and "a 3DES key, not AES: veil's ciphers take AES keys only" in err,
       "a 3DES key is refused, naming the algorithm", err)
    rc, out, err = run([STOOL, "-c", f, "info", kid])
    ok(rc == 0 and out.count("\n") == 6 and "\x1b" not in out and "\r" not in out and
       "uid: x\\x0aveild" in out and "name: x\\x0aveild" in out and
       "algorithm: AES" in out,
       "veil-kmip info: a forged identifier and name are escaped", repr(out + err))
    srv.stop()
    for what, handler, want in (
            ("HMAC-SHA256 key", kms.key_server("1", os.urandom(32), alg=9),
             "an HMAC key, not AES"),
            ("Cryptographic Length 0", kms.key_server("1", os.urandom(64), bits=0),
             "key length does not match its cryptographic length")):
        srv = kms.KmipServer(certs, handler)
        f = conf("alg.conf", "hosta", srv.port, io_timeout=2, connect_timeout=1)
        rc, out, err = run([STOOL, "-c", f, "check", kid])
        ok(rc == 1 and want in err, "%s refused: %s" % (what, want), err)
        srv.stop()

    # names are checked against subjectAltName only, never the CN
    srv = kms.KmipServer(certs, kms.key_server("1", os.urandom(64)), cert="cnonly")
    f = conf("cnonly.conf", "hosta", srv.port, addr="localhost", io_timeout=2,
             connect_timeout=1)
    rc, out, err = run([STOOL, "-c", f, "check", kid])
    ok(rc == 1 and "server certificate rejected: hostname mismatch (expected localhost)" in err,
       "a server certificate naming localhost in its CN only is refused", err)
    srv.stop()


def tls_files(port):
    """Unreadable, missing and too open TLS files are named, with the fix."""
    key = os.path.join(work, "open-key.pem")
    with open(os.path.join(certs, "hosta-key.pem"), "rb") as a, open(key, "wb") as b:
        b.write(a.read())
    os.chmod(key, 0o644)
    f = conf("openkey.conf", "hosta", port)
    with open(f, "a") as fh:
        fh.write("key = %s\n" % key)
    for prog in (SVEILD, STOOL):
        args = [prog, "-t", "-c", f] if prog == SVEILD else [prog, "-c", f, "check", "00"]
        rc, out, err = run(args)
        ok(rc == 2 and "client key %s is accessible by group or others (mode 0644)" % key in err and
           "chmod 600 %s" % key in err,
           "%s: a private key readable by others is refused with the fix" % os.path.basename(prog), err)
    # unreadable: the files behind a directory only root may enter
    pub = "/tmp/veil-kmip-perm.%d" % os.getpid()
    os.makedirs(pub, exist_ok=True)
    os.chmod(pub, 0o755)
    try:
        f = kms.veil_conf(os.path.join(pub, "v.conf"), certs, "hosta", port)
        os.chmod(f, 0o644)
        for args in ([SVEILD, "-t", "-c", f], [STOOL, "-c", f, "check", "00"]):
            rc, out, err = run(["setpriv", "--reuid=65534", "--regid=65534",
                                "--clear-groups"] + args)
            ok(rc == 2 and "cannot read CA certificates %s/ca.pem: Permission denied" % certs in err,
               "%s run by a user who cannot read the CA: 'Permission denied' with the path"
               % os.path.basename(args[0]), err)
    finally:
        subprocess.run(["rm", "-rf", pub])


def usage_and_version():
    for prog in ("veild", "veil-kmip", "veilctl"):
        path = os.path.join(build, "bin", prog)
        rc, out, err = run([path, "--help"])
        ok(rc == 0 and out.startswith("usage: ") and not err,
           "%s --help: usage on stdout, exit 0" % prog, out + err)
        rc, out, err = run([path, "--version"])
        ok(rc == 0 and out.startswith("%s (veil) " % prog) and "kernel ABI " in out and
           "metadata format " in out, "%s --version: release, ABI, format" % prog, out + err)


if __name__ == "__main__":
    sys.exit(main())
