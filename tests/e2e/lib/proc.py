# SPDX-License-Identifier: GPL-2.0
"""Stopping a program under test and judging how it ended."""
import subprocess


def stop_clean(proc, logf, logp, timeout=10):
    """SIGTERM proc (SIGKILL after timeout s), close its log file logf and
    return (exit status, True if the log at logp has no sanitizer report)."""
    proc.terminate()
    try:
        rc = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
    logf.close()
    with open(logp, errors="replace") as f:
        text = f.read()
    return rc, "Sanitizer" not in text and "runtime error" not in text
