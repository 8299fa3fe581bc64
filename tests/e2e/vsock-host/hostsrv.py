#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Host side of the vsock-host scenario (hybrid-vsock unix sockets).

Both directions at once are tested host-initiated (connect), where this
side reads while it writes.  A guest-side echo through one socat would
not do: socat blocks in a vsock write while out of credit and stops
reading, and with the host echo server blocked the other way that
deadlocks by design, on any vsock transport.

  hostsrv.py serve UDS SIZE       servers on UDS_5001 (sink: reads to EOF,
                                  answers the SHA-256 hex) and UDS_5002
                                  (source: a SHA-256 hex line, then SIZE
                                  bytes, then EOF)
  hostsrv.py connect UDS PORT SIZE OUT [TRIES]
                                  host -> guest: CONNECT PORT on UDS, expect
                                  "OK <n>", send SIZE bytes to the guest's
                                  echo listener and check what comes back;
                                  writes "ok MB/s" or "fail why" to OUT.  A
                                  refused CONNECT is tried again, TRIES times
                                  in all (default 1), 0.5 s apart: the guest's
                                  listener may still be starting
"""
import hashlib
import os
import socket
import sys
import threading
import time


def data(size, seed=b"veil-vsock"):
    out, block, i = bytearray(), b"", 0
    while len(out) < size:
        block = hashlib.sha256(seed + i.to_bytes(8, "little")).digest() * 2048
        out += block
        i += 1
    return bytes(out[:size])


def sink(conn):
    h = hashlib.sha256()
    while True:
        b = conn.recv(1 << 16)
        if not b:
            break
        h.update(b)
    conn.sendall(h.hexdigest().encode() + b"\n")


def source(conn, payload):
    conn.sendall(hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)


def serve(uds, size):
    payload = data(size)
    socks = []
    for port, fn in ((5001, sink), (5002, lambda c: source(c, payload))):
        path = f"{uds}_{port}"
        if os.path.exists(path):
            os.unlink(path)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(8)
        socks.append((s, fn))

    def loop(s, fn):
        while True:
            c, _ = s.accept()

            def one(c=c):
                try:
                    fn(c)
                finally:
                    c.close()
            threading.Thread(target=one, daemon=True).start()
    for s, fn in socks:
        threading.Thread(target=loop, args=(s, fn), daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


def connect(uds, port, size, out, tries=1):
    def verdict(msg):
        with open(out, "w") as f:
            f.write(msg + "\n")
        print(msg)
    for attempt in range(tries):
        if attempt:
            time.sleep(0.5)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(25)
        s.connect(uds)
        s.sendall(f"CONNECT {port}\n".encode())
        line = b""
        while not line.endswith(b"\n") and len(line) < 32:
            b = s.recv(1)
            if not b:
                break
            line += b
        if line:
            break
        s.close()
    if not line.startswith(b"OK ") or not line[3:-1].isdigit():
        return verdict(f"fail: CONNECT answered {line!r}")
    payload = data(size, b"host-to-guest")
    got = bytearray()
    t0 = time.monotonic()

    def reader():
        while len(got) < size:
            b = s.recv(1 << 16)
            if not b:
                break
            got.extend(b)
    r = threading.Thread(target=reader)
    r.start()
    s.sendall(payload)
    r.join(40)
    dt = time.monotonic() - t0
    if bytes(got) != payload:
        return verdict(f"fail: echoed {len(got)} of {size} bytes, "
                       f"{'different' if got != payload[:len(got)] else 'a prefix'}")
    verdict(f"ok {2 * size / dt / 1e6:.2f} MB/s (echo, both directions counted)")


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "connect":
        connect(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5],
                int(sys.argv[6]) if len(sys.argv) > 6 else 1)
    else:
        sys.exit(__doc__)
