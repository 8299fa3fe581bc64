#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The dm bench's statistics: the median's confidence interval and the
verdict rows tests/bench/dm_summary.py derives from paired rounds.

TAP output with a "# Totals:" line, as the C unit tests print.
"""
import math
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SUMMARY = os.path.join(HERE, "..", "bench", "dm_summary.py")
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(SUMMARY))
sys.path.insert(0, os.path.join(HERE, ".."))
from dm_summary import median_ci  # noqa: E402
from tap import done, ok as check  # noqa: E402


def coverage(n, k):
    """P(k-th lowest <= median <= k-th highest) for n values."""
    return 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2 ** n


def summarise(rows):
    out = subprocess.run([sys.executable, SUMMARY], input="\n".join(rows) + "\n",
                         capture_output=True, text=True, check=True).stdout
    return {(p[0], p[1]): float(p[2]) for p in (ln.split() for ln in out.splitlines())
            if len(p) == 4}


def rounds(metric, pairs):
    """Rows for rounds of (veil, crypt_default, crypt_noqueue) values."""
    rows = []
    for r, (veil, dflt, noq) in enumerate(pairs):
        rows += [f"crypt_default {metric} {dflt} MB/s {r}",
                 f"crypt_noqueue {metric} {noq} MB/s {r}",
                 f"veil {metric} {veil} MB/s {r}"]
    return rows


def main():
    check(all(median_ci(list(range(n))) is None for n in range(6)),
          "fewer than six rounds give no interval")
    check(median_ci([5, 1, 4, 2, 3, 6]) == (1, 6, 1 - 2 / 64),
          "six rounds: lowest to highest, 96.9 %")
    lo, hi, conf = median_ci([9, 1, 8, 2, 7, 3, 6, 4, 5])
    check((lo, hi) == (2, 8) and abs(conf - 0.9609375) < 1e-12,
          "nine rounds: second lowest to second highest, 96.1 %")
    widest_ok = True
    for n in range(6, 60):
        lo, hi, conf = median_ci(list(range(n)))
        k = lo + 1
        if hi != n - k or abs(conf - coverage(n, k)) > 1e-12 or conf < 0.95 \
                or coverage(n, k + 1) >= 0.95:
            widest_ok = False
            print(f"# n={n}: interval [{lo}, {hi}] at {conf}")
    check(widest_ok, "6..59 rounds: the narrowest interval that keeps 95 %")

    above = rounds("seqread_1M", [(110 + r, 100, 90) for r in range(7)])
    fig = summarise(above)
    check(fig.get(("ratio_verdict_veil_vs_best_crypt", "seqread_1M")) == 1,
          "always faster than the better dm-crypt: verdict above")
    check(fig.get(("ratio_ci_lo_veil_vs_best_crypt", "seqread_1M")) == 1.10,
          "each round's ratio is against the better dm-crypt of that round")

    below = rounds("seqwrite_1M", [(90, 80 + r, 100 + r) for r in range(7)])
    fig = summarise(below)
    check(fig.get(("ratio_verdict_veil_vs_best_crypt", "seqwrite_1M")) == -1,
          "always slower than the better dm-crypt: verdict below")

    mixed = rounds("randread_4K", [(v, 100, 50) for v in (90, 110, 95, 105, 100, 98, 103)])
    fig = summarise(above + below + mixed)
    check(fig.get(("ratio_verdict_veil_vs_best_crypt", "randread_4K")) == 0,
          "rounds on both sides of 1.0: undecided")
    check(fig.get(("ratio_ci_pct_veil_vs_best_crypt", "randread_4K")) == 98.4,
          "seven rounds: the level printed is 98.4 %")
    check(fig.get(("verdict_veil_vs_best_crypt", "above")) == 1 and
          fig.get(("verdict_veil_vs_best_crypt", "below")) == 1 and
          fig.get(("verdict_veil_vs_best_crypt", "undecided")) == 1,
          "the verdict rows count the lines of each kind")

    few = rounds("randwrite_4K", [(90, 100, 100)] * 5)
    fig = summarise(few)
    check(("ratio_verdict_veil_vs_best_crypt", "randwrite_4K") not in fig and
          ("ratio_veil_vs_best_crypt", "randwrite_4K") in fig,
          "five rounds: a ratio, but no interval and no verdict")

    return done()


if __name__ == "__main__":
    sys.exit(main())
