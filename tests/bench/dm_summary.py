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
apart they lie shows how much of a difference the host's noise can hide;
for
memory, dm-veil's own cost over a dm-linear device (slab outside the bio
pools, stacks, per-cpu) next to the target.
"""
import statistics
import sys

MEM_TARGET = 8192       # bytes of kernel memory per idle device, pools aside


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
