# SPDX-License-Identifier: GPL-2.0
"""Host-side control of the keypath test's pykmip-server, for run.sh and
for the guest's VEIL-HOST hooks (which must return promptly).

  kmsctl.py start WORK CERTS PORT   start (or restart) on 127.0.0.1:PORT
  kmsctl.py stop WORK               kill it (an outage), wait until gone
  kmsctl.py gate PORT TARGET [MS]   forward 127.0.0.1:PORT to TARGET until
                                    killed; close at once while TARGET is down;
                                    MS > 0: delay each direction by MS ms
  kmsctl.py register CERTS PORT NAME KEYHEX
                                    register and activate an AES key with
                                    the PyKMIP client (the interop key)
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "kmip"))
import kms  # noqa: E402


def start(work, certs, port):
    server = kms.Kms(os.path.join(work, "kms"), certs, port=int(port))
    server.start()
    with open(os.path.join(work, "kms.pid"), "w") as f:
        f.write(str(server.proc.pid))


def alive(pid):
    """Running, not a zombie (our parent may be gone and nobody reaps)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("State:"):
                    return "Z" not in line.split()[1]
    except OSError:
        pass
    return False


def stop(work):
    try:
        pid = int(open(os.path.join(work, "kms.pid")).read())
    except (OSError, ValueError):
        return
    # SIGKILL to its process group (server and policy monitor): an outage
    # drops every connection at once, where pykmip-server's own shutdown
    # keeps serving open sessions while it joins their threads
    kms.kill_group(pid)
    end = time.time() + 5
    while time.time() < end and alive(pid):
        time.sleep(0.1)
    os.unlink(os.path.join(work, "kms.pid"))


def main(argv):
    if argv[1] == "start":
        start(*argv[2:5])
    elif argv[1] == "stop":
        stop(argv[2])
    elif argv[1] == "gate":
        if len(argv) > 4 and int(argv[4]) > 0:
            kms.DelayProxy(int(argv[3]), int(argv[4]) / 1000.0, port=int(argv[2]))
        else:
            kms.IdleProxy(int(argv[3]), mode="pass", port=int(argv[2]))
        signal.pause()
    elif argv[1] == "register":
        certs, port, name, keyhex = argv[2:6]
        print(kms.py_register(certs, int(port), bytes.fromhex(keyhex), name))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
