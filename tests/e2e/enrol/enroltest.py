# SPDX-License-Identifier: GPL-2.0
"""Host-side tests of enrolment: veilctl setup / --install-cert / status /
renew, the enrolled identity against a real key manager, and the systemd
units (no guest).

usage: enroltest.py BUILD_DIR WORK_DIR   (TAP on stdout, exit 1 on failure)

The CA and pykmip-server come from tests/e2e/kmip (certs.sh, kms.py).  The
host's certificate request is signed here with openssl, as an
administrator's CA would.
"""
import filecmp
import json
import os
import re
import shutil
import stat
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "kmip"))
import kms  # noqa: E402

TOP = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
build, work = sys.argv[1], sys.argv[2]
certs = os.path.join(work, "certs")
VEILCTL = os.path.join(build, "bin", "veilctl")
SVEILCTL = os.path.join(build, "san", "bin", "veilctl")
VEILD = os.path.join(build, "bin", "veild")
KMIP = os.path.join(build, "bin", "veil-kmip")
CN = "veil-enrol-test"
VC_ECERT = 12

n = fails = skips = 0


def ok(cond, what, detail=""):
    global n, fails
    n += 1
    print("%sok %d - %s" % ("" if cond else "not ", n, what), flush=True)
    if not cond:
        fails += 1
        for line in str(detail).strip().splitlines()[-15:]:
            print("#   " + line)
    return cond


def skip(what, why):
    global n, skips
    n += 1
    skips += 1
    print("ok %d - %s # SKIP %s" % (n, what, why), flush=True)


def run(args, timeout=30, env=None):
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                       env=env)
    return p.returncode, p.stdout, p.stderr


def openssl(*args):
    p = subprocess.run(["openssl"] + list(args), capture_output=True,
                       text=True, timeout=30)
    if p.returncode:
        raise RuntimeError("openssl %s: %s" % (" ".join(args), p.stderr))
    return p.stdout


def sign(csr, out, ca="ca", days=20, eku=True):
    """Sign a request with the test CA (or other-ca), as the admin would."""
    ext = out + ".ext"
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:false\nkeyUsage=digitalSignature\n")
        if eku:
            f.write("extendedKeyUsage=clientAuth\n")
    openssl("x509", "-req", "-in", csr, "-CA", f"{certs}/{ca}.pem",
            "-CAkey", f"{certs}/{ca}-key.pem", "-CAcreateserial",
            "-days", str(days), "-extfile", ext, "-out", out)
    return out


def pubkey(path, csr=False):
    """The public key (PEM) of a request, certificate or private key."""
    if csr:
        return openssl("req", "-in", path, "-noout", "-pubkey")
    with open(path) as f:
        if "BEGIN CERTIFICATE" in f.read():
            return openssl("x509", "-in", path, "-noout", "-pubkey")
    return openssl("pkey", "-in", path, "-pubout")


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def conf_get(path, key):
    with open(path) as f:
        for line in f:
            m = re.match(r"\s*%s\s*=\s*(.*?)\s*$" % key, line)
            if m:
                return m.group(1)
    return None


def status_json(etc, tool=VEILCTL):
    """veilctl status --json --etc ETC.  On a host without device-mapper
    (this one: no /dev/mapper/control) status lists no devices and exits
    1, but still prints the object with the host certificate."""
    rc, out, err = run([tool, "status", "--json", "--etc", etc])
    try:
        return rc, json.loads(out), err
    except ValueError:
        return rc, None, err + out


def main():
    subprocess.run([os.path.join(TOP, "tests", "e2e", "kmip", "certs.sh"),
                    certs], check=True)
    port = kms.free_port()
    server = kms.Kms(os.path.join(work, "kms"), certs, port=port)
    server.start()
    print("# pykmip-server up on 127.0.0.1:%d" % port)
    try:
        tests(port)
    finally:
        server.stop()
    print("1..%d" % n)
    print("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:0"
          % (n - fails - skips, fails, skips))
    return 1 if fails else 0


def tests(port):
    etc = os.path.join(work, "etc")
    key, csr = f"{etc}/host-key.pem", f"{etc}/host.csr"
    cert, conf = f"{etc}/host.pem", f"{etc}/veild.conf"
    server = "127.0.0.1:%d" % port

    # --- 1. setup: key pair, request, configuration ---
    rc, out, err = run([VEILCTL, "setup", "--server", server])
    ok(rc == 2, "setup without --ca: usage error, exit 2", "%d %s" % (rc, err))
    rc, out, err = run([VEILCTL, "setup", "--cn", CN, "--server", server,
                        "--ca", f"{certs}/ca.pem", "--etc", etc, "--no-systemd"])
    ok(rc == 0 and os.path.exists(key) and os.path.exists(csr),
       "setup --cn: host key and certificate request made", "%d %s" % (rc, err))
    if rc:
        return
    ok(mode(key) == 0o600, "host-key.pem is mode 0600", oct(mode(key)))
    ok(filecmp.cmp(f"{certs}/ca.pem", f"{etc}/ca.pem", shallow=False),
       "the CA is installed as ca.pem")
    p = subprocess.run(["openssl", "req", "-in", csr, "-verify", "-noout",
                        "-subject", "-nameopt", "RFC2253"],
                       capture_output=True, text=True)
    ok(p.returncode == 0 and "CN=%s" % CN in p.stdout,
       "host.csr: self-signature verifies, CN=%s" % CN, p.stdout + p.stderr)
    ok(pubkey(csr, csr=True) == pubkey(key),
       "host.csr carries the public half of host-key.pem")
    ok(conf_get(conf, "server") == server and conf_get(conf, "ca") == f"{etc}/ca.pem"
       and conf_get(conf, "cert") == cert and conf_get(conf, "key") == key,
       "veild.conf names the key manager and the files by absolute path",
       open(conf).read())
    rc, out, err = run([VEILD, "-t", "-c", conf])
    ok(rc != 0 and "host.pem" in err,
       "veild -t before the certificate is installed: refused, naming host.pem",
       "%d %s" % (rc, err))

    # --- 2. install the signed certificate; refusals ---
    rc, out, err = run([VEILCTL, "setup", "--install-cert", f"{certs}/hosta.pem",
                        "--etc", etc])
    ok(rc == VC_ECERT and "does not belong to the key" in err,
       "a certificate for another key is refused (exit 12, says why)",
       "%d %s" % (rc, err))
    noeku = sign(csr, f"{work}/noeku.pem", eku=False)
    rc, out, err = run([VEILCTL, "setup", "--install-cert", noeku, "--etc", etc])
    ok(rc == VC_ECERT and "clientAuth" in err,
       "a certificate without the clientAuth EKU is refused (exit 12, says why)",
       "%d %s" % (rc, err))
    rc, out, err = run([VEILCTL, "setup", "--install-cert", csr, "--etc", etc])
    ok(rc == VC_ECERT and "not a PEM certificate" in err,
       "a file that is not a certificate is refused (exit 12)", "%d %s" % (rc, err))
    if os.path.exists(SVEILCTL):
        rc, out, err = run([SVEILCTL, "setup", "--install-cert",
                            f"{certs}/hosta.pem", "--etc", etc])
        ok(rc == VC_ECERT and "Sanitizer" not in err,
           "the same refusal under ASan/UBSan", "%d %s" % (rc, err))
    ok(not os.path.exists(cert), "nothing installed by a refusal")
    signed = sign(csr, f"{work}/host-1.pem", days=20)
    rc, out, err = run([VEILCTL, "setup", "--install-cert", signed, "--etc", etc])
    ok(rc == 0 and filecmp.cmp(signed, cert, shallow=False),
       "setup --install-cert: the signed certificate becomes host.pem",
       "%d %s" % (rc, err))
    ok(not os.path.exists(csr) and not os.path.exists(cert + ".new") and
       mode(key) == 0o600, "the request is removed, no .new file left, key still 0600",
       str(os.listdir(etc)))
    rc, out, err = run([VEILD, "-t", "-c", conf])
    ok(rc == 0, "veild -t accepts the enrolled configuration", "%d %s" % (rc, err))

    # --- 3. status: days left and the warning ---
    rc, j, err = status_json(etc)
    hc = (j or {}).get("host_cert") or {}
    ok(j is not None and hc.get("path") == cert and hc.get("readable") is True
       and CN in hc.get("subject", "") and hc.get("days_left") in (19, 20)
       and hc.get("expiring") is True,
       "status --json: host_cert with subject, days_left 19-20, expiring",
       "rc %d %s %s" % (rc, j, err))
    ok("expires in" in err and "veilctl renew" in err,
       "status warns that the certificate expires and says to renew", err)
    if rc != 0:
        print("# status exits %d here: %s" % (
            rc, "no device-mapper on this host" if "device-mapper" in err else err.strip()))
    rc, out, err = run([VEILCTL, "status", "--etc", etc])
    ok(re.search(r"host cert:.*CN=%s, (19|20) days left" % CN, out),
       "status (text): 'host cert: ..., N days left'", out + err)
    # A long-lived identity made elsewhere (setup --cert --key): no warning.
    etc2 = os.path.join(work, "etc-long")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", f"{work}/long-key.pem", "-out", f"{work}/long.csr",
            "-subj", "/CN=" + CN)
    sign(f"{work}/long.csr", f"{work}/long.pem", days=400)
    rc, out, err = run([VEILCTL, "setup", "--server", server, "--ca",
                        f"{certs}/ca.pem", "--cert", f"{work}/long.pem", "--key",
                        f"{work}/long-key.pem", "--etc", etc2, "--no-systemd"])
    ok(rc == 0 and mode(f"{etc2}/host-key.pem") == 0o600,
       "setup --cert --key: an identity made elsewhere is installed, key 0600",
       "%d %s" % (rc, err))
    rc, j, err = status_json(etc2, SVEILCTL if os.path.exists(SVEILCTL) else VEILCTL)
    hc = (j or {}).get("host_cert") or {}
    ok(j is not None and hc.get("days_left", 0) >= 399 and hc.get("expiring") is False
       and "expires" not in err and "Sanitizer" not in err,
       "status --json (ASan build): 400-day certificate, not expiring, no warning",
       "rc %d %s %s" % (rc, j, err))

    # --- 4. the enrolled identity against the key manager ---
    rc, out, err = run([KMIP, "-c", conf, "create"])
    kid = out.strip()
    ok(rc == 0 and re.fullmatch(r"[0-9a-f]{32}", kid),
       "veil-kmip create with the enrolled identity: key-id", "%d %s" % (rc, err))
    rc, out, err = run([KMIP, "-c", conf, "info", kid])
    ok(rc == 0 and "state: active" in out, "info reads the key back", out + err)
    rc, out, err = run([KMIP, "-c", conf, "check", kid])
    ok(rc == 0 and "ok:" in out, "check fetches the key", out + err)
    # Same CN, key and request made by veilctl, but signed by another CA.
    etc3 = os.path.join(work, "etc-rogue")
    run([VEILCTL, "setup", "--cn", CN, "--server", server, "--ca",
         f"{certs}/ca.pem", "--etc", etc3, "--no-systemd"])
    rogue = sign(f"{etc3}/host.csr", f"{work}/rogue-host.pem", ca="other-ca")
    rc, out, err = run([VEILCTL, "setup", "--install-cert", rogue, "--etc", etc3])
    ok(rc == 0, "veilctl installs a certificate from another CA (it cannot know the key manager's client CA)",
       "%d %s" % (rc, err))
    rc, out, err = run([KMIP, "-c", f"{etc3}/veild.conf", "check", kid])
    ok(rc != 0 and "ok:" not in out,
       "the key manager refuses an identity signed by another CA, same CN",
       "%d %s %s" % (rc, out, err))
    print("#   refused with: %s" % (err.strip().splitlines() or ["?"])[-1])

    # setup run again on an enrolled host (a new key manager address, say)
    # must not take the working certificate's key away.
    old_cert, old_key = open(cert).read(), open(key).read()
    rc, out, err = run([VEILCTL, "setup", "--cn", CN, "--server", server,
                        "--ca", f"{certs}/ca.pem", "--etc", etc, "--no-systemd"])
    ok(rc == 0 and open(cert).read() == old_cert and open(key).read() == old_key
       and os.path.exists(key + ".new") and
       pubkey(csr, csr=True) == pubkey(key + ".new"),
       "setup again on an enrolled host: the pair in use is kept, the new key waits as .new",
       "%d %s" % (rc, err))
    rc, out, err = run([KMIP, "-c", conf, "check", kid])
    ok(rc == 0, "the host still gets its key after setup was run again", out + err)
    # A stale .new key (an abandoned renewal) is not taken for a fresh
    # enrolment's key.
    etc4 = os.path.join(work, "etc-stale")
    os.makedirs(etc4)
    shutil.copy(f"{etc3}/host-key.pem", f"{etc4}/host-key.pem.new")
    run([VEILCTL, "setup", "--cn", CN, "--server", server, "--ca",
         f"{certs}/ca.pem", "--etc", etc4, "--no-systemd"])
    s4 = sign(f"{etc4}/host.csr", f"{work}/stale-host.pem")
    rc, out, err = run([VEILCTL, "setup", "--install-cert", s4, "--etc", etc4])
    ok(rc == 0 and pubkey(f"{etc4}/host-key.pem") == pubkey(f"{etc4}/host.pem"),
       "a fresh enrolment ignores a stale host-key.pem.new", "%d %s" % (rc, err))

    # --- 5. renewal ---
    old_cert, old_key = open(cert).read(), open(key).read()
    rc, out, err = run([VEILCTL, "renew", "--etc", etc])
    ok(rc == 0 and os.path.exists(csr) and os.path.exists(key + ".new"),
       "renew: new request and new key pair (host-key.pem.new)", "%d %s" % (rc, err))
    ok("20 days left" in out or "19 days left" in out,
       "renew says how long the current certificate has left", out + err)
    p = subprocess.run(["openssl", "req", "-in", csr, "-verify", "-noout",
                        "-subject", "-nameopt", "RFC2253"],
                       capture_output=True, text=True)
    ok(p.returncode == 0 and "CN=%s" % CN in p.stdout,
       "the renewal request keeps CN=%s (the key manager knows the host by it)" % CN,
       p.stdout + p.stderr)
    ok(pubkey(csr, csr=True) == pubkey(key + ".new") and
       pubkey(csr, csr=True) != pubkey(key) and mode(key + ".new") == 0o600,
       "the request is for a new key (as the docs say), made 0600")
    ok(open(cert).read() == old_cert and open(key).read() == old_key,
       "the old certificate and key stay in place until the new one is installed")
    rc, out, err = run([KMIP, "-c", conf, "check", kid])
    ok(rc == 0, "the old identity still works during the renewal", out + err)
    rc, out, err = run([VEILCTL, "setup", "--install-cert", signed, "--etc", etc])
    ok(rc == VC_ECERT and "does not belong" in err,
       "installing the old certificate again is refused: it is not for the new key",
       "%d %s" % (rc, err))
    signed2 = sign(csr, f"{work}/host-2.pem", days=90)
    rc, out, err = run([VEILCTL, "setup", "--install-cert", signed2, "--etc", etc])
    ok(rc == 0 and filecmp.cmp(signed2, cert, shallow=False),
       "the renewed certificate replaces host.pem", "%d %s" % (rc, err))
    ok(open(key).read() != old_key and not os.path.exists(key + ".new") and
       mode(key) == 0o600 and not os.path.exists(csr),
       "the new key replaces host-key.pem (0600); no .new or request left",
       str(os.listdir(etc)))
    rc, out, err = run([VEILD, "-t", "-c", conf])
    ok(rc == 0, "veild -t accepts the renewed pair", "%d %s" % (rc, err))
    rc, j, err = status_json(etc)
    hc = (j or {}).get("host_cert") or {}
    ok(hc.get("days_left") in (89, 90) and hc.get("expiring") is False and
       "expires" not in err, "status: 89-90 days left, no warning",
       "%s %s" % (j, err))
    rc, out, err = run([KMIP, "-c", conf, "check", kid])
    ok(rc == 0 and "ok:" in out,
       "the renewed identity (same CN) still gets the key made before renewal",
       out + err)
    empty = os.path.join(work, "etc-empty")
    os.makedirs(empty)
    rc, out, err = run([VEILCTL, "renew", "--etc", empty])
    ok(rc == VC_ECERT and "--cn" in err,
       "renew with no current certificate: exit 12, asks for --cn", "%d %s" % (rc, err))

    # --- 6. systemd units ---
    units()


def units():
    sa = shutil.which("systemd-analyze")
    if not sa:
        skip("systemd-analyze verify veild.service", "no systemd-analyze")
        skip("systemd-analyze verify veil-attach@.service", "no systemd-analyze")
        return
    # Copies whose programs point at the build, and the project's man pages
    # on MANPATH, so that verify also checks Documentation=man:... exists.
    udir = os.path.join(work, "units")
    os.makedirs(udir)
    for m in os.listdir(os.path.join(TOP, "docs", "man")):
        mdir = os.path.join(work, "man", "man" + m.rsplit(".", 1)[1])
        os.makedirs(mdir, exist_ok=True)
        shutil.copy(os.path.join(TOP, "docs", "man", m), mdir)
    bindir = os.path.join(build, "bin") + "/"
    env = dict(os.environ, MANPATH=os.path.join(work, "man"))
    for src, inst in (("daemon/veild/veild.service", "veild.service"),
                      ("tools/systemd/veil-attach@.service", "veil-attach@sdb.service")):
        with open(os.path.join(TOP, src)) as f:
            text = f.read()
        with open(os.path.join(udir, inst), "w") as f:
            f.write(text.replace("/usr/sbin/", bindir))
        rc, out, err = run([sa, "verify", os.path.join(udir, inst)], env=env)
        ok(rc == 0 and not err.strip(), "systemd-analyze verify %s (as %s)" % (src, inst),
           "%d %s%s" % (rc, out, err))


if __name__ == "__main__":
    sys.exit(main())
