"""R2CCL benchmark (one run, not a test): throughput with/without failover vs gloo, and slowdowns under one
failed NIC per method next to the simulator's prediction.

    python benchmarks/r2ccl.py [--hosts 3] [--nics 3] [--rate 20] [--n 500000]
"""

from __future__ import annotations

import argparse

import numpy as np

from support.r2ccl import experiments as ex


def throughput_lines(ov: dict, gl: dict, nics: int) -> list[str]:
    """The throughput table against gloo (ratios from :func:`ex.gloo_metrics`, the notebook's); when gloo did not
    run (``error_setup``), its error instead of ratios."""
    out = [f"{'':28s}{'algbw Mbit/s':>14s}{'vs gloo':>10s}"]
    ours = [("ours, failover on", ov["algbw_on_mbit"]), ("ours, failover off", ov["algbw_off_mbit"])]
    m = ex.gloo_metrics(ov, gl, nics)  # empty when gloo did not run
    if not m:
        why = gl.get("error_setup", "gloo comparison not run")
        out += [f"{name:28s}{bw:14.1f}{'n/a':>10s}" for name, bw in ours]
        out += [f"gloo did not run: {why}", "ratios to gloo unavailable"]
    else:
        g = gl["algbw_mbit"]
        out += [f"{ours[0][0]:28s}{ours[0][1]:14.1f}{m['ours_over_gloo']:10.2f}",
                f"{ours[1][0]:28s}{ours[1][1]:14.1f}{ours[1][1] / g:10.2f}", f"{'gloo (one NIC)':28s}{g:14.1f}{1:10.2f}",
                f"per NIC (ours stripes over {nics} NICs, gloo uses one): {m['ours_over_gloo_per_nic']:.2f}x gloo"]
    out.append(f"failover overhead without faults: {ov['overhead_pct']:+.1f} %")
    if m:
        if not gl.get("fault_injected"):
            out.append("gloo under a NIC failure: not tested (no fault injection in this testbed mode)")
        elif not gl.get("error"):
            out.append(f"gloo under a NIC failure: no error (fault landed: {gl.get('fault_landed')})")
        else:
            out.append(f"gloo under a NIC failure: {gl['error']} (after {gl.get('error_after_s')} s)")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=3)
    ap.add_argument("--nics", type=int, default=3)
    ap.add_argument("--rate", type=float, default=20.0, help="per-NIC cap, Mbit/s")
    ap.add_argument("--n", type=int, default=500_000, help="float32 elements per allreduce")
    ap.add_argument("--faults", type=int, default=6)
    a = ap.parse_args()
    res = ex.testbed_suite(a.hosts, a.nics, a.rate, a.n, a.faults, np.random.default_rng(0), reps=5, rounds=3)
    ov, gl = res["overhead"], res.get("gloo", {})
    print(f"testbed: {res['note']}; {a.hosts} hosts x {a.nics} NICs at {a.rate} Mbit/s, {a.n * 4 / 1e6:.1f} MB")
    print("\n".join(throughput_lines(ov, gl, a.nics)))
    print(f"\n{'method':12s}{'measured':>10s}{'simulator':>11s}{'recovery s':>12s}{'exact':>7s}")
    for _, r in res["slowdowns"].iterrows():
        print(f"{r['method']:12s}{r['slowdown']:10.2f}{res['predicted'][r['method']]:11.2f}"
              f"{r['recovery_s']:12.2f}{r['exact']!s:>7s}")
    c = res["campaign"]
    print(f"\nfault campaign: {len(c)} faults, all exact: {bool(c['exact'].all())}")


if __name__ == "__main__":
    main()
