#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""dm_summary.py < rows: medians and ratios for tests/bench/dm.sh.

Input: "case metric value unit [round]" rows, one per fio run (several
runs of a case and metric when the bench repeats them; the round says
which ran together) or per memory figure.
Output, in the same form: the median of each (case, metric), then per
metric dm-veil / the better dm-crypt configuration, null-cipher dm-veil /
dm-linear, and null-cipher dm-veil / the better null-cipher dm-crypt; a
ratio is the median of the ratios within each round (runs seconds apart,
so a drift of the host's speed between rounds cancels), or without rounds
the ratio of the medians.  With three rounds or more the lowest and the
highest ratio of a round follow as ratio_lo_* and ratio_hi_* rows: how far
apart they lie shows how much of a difference the host's noise can hide.
With six rounds or more, ratio_ci_lo_* and ratio_ci_hi_* bound the
median ratio with at least 95 % confidence (ratio_ci_pct_* gives the
exact level), from the order of the rounds' ratios alone (the sign test's
interval: no assumption about how the noise is distributed, only that
rounds are independent); ratio_verdict_* is 1 when the whole interval
lies at or above 1.0, -1 when it lies below 1.0, and 0 when 1.0 is inside
it: the rounds then cannot tell the two apart; verdict_* rows count the
lines of each kind.  For memory, dm-veil's own cost over a dm-linear
device (slab outside the bio pools, stacks, per-cpu) next to the target.
"""
import math
import statistics
import sys

MEM_TARGET = 8192       # bytes of kernel memory per idle device, pools aside
CI_LEVEL = 0.95         # the least confidence a median's interval must have


def median_ci(values, level=CI_LEVEL):
    """(lo, hi, confidence) bounding the median of @values, or None.

    The interval between the k-th lowest and the k-th highest value holds
    the median with probability 1 - 2 P(B < k), B ~ Binomial(n, 1/2),
    whatever the distribution; k is the largest that keeps that at or
    above @level.  Fewer than six values cannot reach 95 %.
    """
    xs = sorted(values)
    n = len(xs)
    if n == 0:
        return None
    tail = 0.0              # P(B < k)
    k = 0
    while k < n // 2:
        below = tail + math.comb(n, k) / 2 ** n
        if 1 - 2 * below < level:
            break
        tail = below
        k += 1
    if k == 0:
        return None
    return xs[k - 1], xs[n - k], 1 - 2 * tail


def round_ratios(rounds, case, refs, metric):
    """Per round, @case / the best of @refs in that round."""
    mine = rounds.get((case, metric), {})
    ratios = []
    for r, v in mine.items():
        best = max((rounds.get((c, metric), {}).get(r, 0) for c in refs),
                   default=0)
        if best > 0:
            ratios.append(v / best)
    return ratios


def main():
    runs = {}
    rounds = {}             # (case, metric) -> {round: value}
    order = []
    for line in sys.stdin:
        parts = line.split()
        if len(parts) not in (4, 5):
            continue
        c, m, v, u = parts[:4]
        key = (c, m, u)
        if key not in runs:
            order.append(key)
            runs[key] = []
        runs[key].append(float(v))
        if len(parts) == 5:
            rounds.setdefault((c, m), {})[parts[4]] = float(v)
    fig = {}
    for c, m, u in order:
        fig[(c, m)] = statistics.median(runs[(c, m, u)])
        fmt = f"{fig[(c, m)]:.0f}" if u == "B" else f"{fig[(c, m)]:.1f}"
        print(c, m, fmt, u)
    metrics = [m for c, m, u in order if c == "raw"] or \
        sorted({m for c, m, u in order if not c.startswith("mem_")})
    verdicts = {}           # comparison -> [verdict per line]
    for m in metrics:
        for veil, refs in (("veil", ("crypt_default", "crypt_noqueue")),
                           ("veil_null", ("linear",)),
                           ("veil_null", ("crypt_null_default", "crypt_null_noqueue"))):
            per_round = round_ratios(rounds, veil, refs, m)
            ratio = statistics.median(per_round) if per_round else None
            if ratio is None:
                best = max((fig.get((c, m), 0) for c in refs), default=0)
                if (veil, m) in fig and best > 0:
                    ratio = fig[(veil, m)] / best
            if ratio is not None:
                ref = "linear" if refs == ("linear",) else \
                    "best_crypt_null" if "null" in refs[0] else "best_crypt"
                print(f"ratio_{veil}_vs_{ref} {m} {ratio:.2f} x")
                if len(per_round) >= 3:
                    print(f"ratio_lo_{veil}_vs_{ref} {m} {min(per_round):.2f} x")
                    print(f"ratio_hi_{veil}_vs_{ref} {m} {max(per_round):.2f} x")
                ci = median_ci(per_round)
                if ci:
                    lo, hi, conf = ci
                    verdict = 1 if lo >= 1.0 else -1 if hi < 1.0 else 0
                    print(f"ratio_ci_lo_{veil}_vs_{ref} {m} {lo:.2f} x")
                    print(f"ratio_ci_hi_{veil}_vs_{ref} {m} {hi:.2f} x")
                    print(f"ratio_ci_pct_{veil}_vs_{ref} {m} {100 * conf:.1f} %")
                    print(f"ratio_verdict_{veil}_vs_{ref} {m} {verdict} sign")
                    verdicts.setdefault(f"{veil}_vs_{ref}", []).append(verdict)
    for cmp, vs in verdicts.items():
        for name, v in (("above", 1), ("undecided", 0), ("below", -1)):
            print(f"verdict_{cmp} {name} {vs.count(v)} lines")
    for m in ("slab_per_dev", "slab_bio_pools_per_dev", "slab_rest_per_dev",
              "kstack_per_dev", "percpu_per_dev", "pages_per_dev",
              "total_per_dev"):
        if ("mem_veil", m) in fig and ("mem_linear", m) in fig:
            own = fig[("mem_veil", m)] - fig[("mem_linear", m)]
            print(f"mem_veil_over_linear {m} {own:.0f} B")
        if ("mem_crypt", m) in fig and ("mem_linear", m) in fig:
            own = fig[("mem_crypt", m)] - fig[("mem_linear", m)]
            print(f"mem_crypt_over_linear {m} {own:.0f} B")
    # A device's own cost, its I/O pools aside: slab outside the bio pools,
    # thread stacks and per-cpu memory, over what a dm-linear device costs.
    own = ("slab_rest_per_dev", "kstack_per_dev", "percpu_per_dev")
    for c in ("mem_veil", "mem_crypt"):
        if all((c, m) in fig and ("mem_linear", m) in fig for m in own):
            total = sum(fig[(c, m)] - fig[("mem_linear", m)] for m in own)
            print(f"{c}_over_linear own_per_dev {total:.0f} B")
    if ("mem_veil", "slab_rest_per_dev") in fig:
        print(f"mem_target own_per_dev {MEM_TARGET} B")


if __name__ == "__main__":
    main()
