"""Figures of the Agent-C notebook (matplotlib; deterministic for fixed inputs)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from support.agentc.experiments import PAPER_BASELINES


def _tick_names(names):
    """Setting names broken before their parenthesis, so neighbouring tick labels do not run into each other."""
    return [n.replace(" (", "\n(") for n in names]


def _log_bins(values, per_decade: int = 10):
    """Log-spaced histogram bins over whole decades that cover every positive value (none falls outside)."""
    v = np.asarray(values, dtype=float)
    v = v[v > 0]
    lo, hi = (np.floor(np.log10(v.min())), np.ceil(np.log10(v.max()))) if v.size else (-1.0, 1.0)
    hi = max(hi, lo + 1)
    return np.logspace(lo, hi, int(per_decade * (hi - lo)) + 1)


def _bars(ax, names, pairs, labels, colors):
    x = np.arange(len(names))
    w = 0.38
    for k, (side, lab, col) in enumerate(zip(pairs, labels, colors)):
        m = np.array([100 * s[0] for s in side])
        lo = np.array([100 * s[1] for s in side])
        hi = np.array([100 * s[2] for s in side])
        ax.bar(x + (k - 0.5) * w, m, w, yerr=[m - lo, hi - m], capsize=3, label=lab, color=col)
    ax.set_xticks(x, _tick_names(names))


def conformance_figure(summaries: dict[str, dict]):
    """Trajectory conformance and harm, unrestricted vs enforced, with 95% bootstrap CIs."""
    names = list(summaries)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    _bars(axes[0], names, [[summaries[n]["u_conformance"] for n in names], [summaries[n]["e_conformance"] for n in names]],
          ["unrestricted", "with monitor (Agent-C)"], ["#bbbbbb", "#2a7ab9"])
    for (label, v), ls in zip(PAPER_BASELINES.items(), ("--", ":")):
        axes[0].axhline(100 * v, ls=ls, lw=1, color="black", label=f"paper's unrestricted {label}: {100 * v:.1f}%")
    axes[0].set(ylabel="conformant trajectories (%)", ylim=(0, 105), title="Conformance (higher is better)")
    _bars(axes[1], names, [[summaries[n]["u_harm"] for n in names], [summaries[n]["e_harm"] for n in names]],
          ["unrestricted", "with monitor (Agent-C)"], ["#bbbbbb", "#2a7ab9"])
    for i, n in enumerate(names):  # a 0% bar is invisible: write its value where it stands
        axes[1].text(i + 0.19, 100 * summaries[n]["e_harm"][0], f"{100 * summaries[n]['e_harm'][0]:.0f}%",
                     ha="center", va="bottom", fontsize=9, color="#2a7ab9")
    axes[1].set(ylabel="trajectories with a harmful call (%)", title="Harm (lower is better)")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=4, fontsize=9,
               bbox_to_anchor=(0.5, 0.0))
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def utility_figure(summaries: dict[str, dict], paper_deltas: dict[str, tuple[float, str]]):
    """Paired utility change (enforced - unrestricted) with CI, next to the paper's deltas; ``paper_deltas`` maps a
    setting to (the paper's delta in pp, the model it was measured on), and the model is written on its bar."""
    names = list(summaries)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    d = [summaries[n]["utility_delta"] for n in names]
    m = np.array([100 * t[0] for t in d])
    lo = np.array([100 * t[1] for t in d])
    hi = np.array([100 * t[2] for t in d])
    x = np.arange(len(names))
    ax.bar(x - 0.2, m, 0.4, yerr=[m - lo, hi - m], capsize=3, label="measured (paired, 95% CI)", color="#2a7ab9")
    paper = [paper_deltas.get(n, (np.nan, ""))[0] for n in names]
    ax.bar(x + 0.2, paper, 0.4, label="paper (its model on the bar)", color="#e5a13a")
    for i, n in enumerate(names):
        if n in paper_deltas:
            ax.text(i + 0.2, paper[i], paper_deltas[n][1], ha="center", va="bottom", fontsize=8)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(x, _tick_names(names))
    ax.set(ylabel="utility change (percentage points)", title="Utility: enforced minus unrestricted")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def latency_figure(lat: pd.DataFrame):
    """Per-check latency of the SMT monitor and of the brute-force evaluator vs trace-prefix length."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    axes[0].scatter(lat["prefix_len"], lat["smt_ms"], s=6, alpha=0.5, label="SMT monitor (z3)")
    axes[0].scatter(lat["prefix_len"], lat["ref_ms"], s=6, alpha=0.5, label="brute-force evaluator")
    axes[0].axhline(20, ls="--", color="grey", lw=0.8, label="20 ms budget")
    top = 30 * max(20.0, float(lat["smt_ms"].max()), float(lat["ref_ms"].max()))  # room above the data for the legend
    axes[0].set(xlabel="trace prefix length (events)", ylabel="time per check (ms, log scale)", yscale="log",
                ylim=(None, top), title="Per-check latency")
    axes[0].legend(fontsize=8, loc="upper left", ncol=3)
    bins = _log_bins(np.concatenate([lat["smt_ms"], lat["ref_ms"]]))
    axes[1].hist(lat["smt_ms"], bins=bins, alpha=0.6, label="SMT monitor")
    axes[1].hist(lat["ref_ms"], bins=bins, alpha=0.6, label="brute force")
    axes[1].set(xscale="log", xlabel="time per check (ms, log scale)", ylabel="checks (count)",
                title="Distribution of check times")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def rules_figure(df: pd.DataFrame, title: str):
    """Which rules the unrestricted trajectories violate (trajectories per rule)."""
    from collections import Counter

    c = Counter(r for rules in df["u_rules"] for r in rules)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    if c:
        names, vals = zip(*c.most_common())
        ax.barh(names, vals, color="#c0392b")
    ax.invert_yaxis()
    ax.set(xlabel="trajectories violating the rule", title=title)
    fig.tight_layout()
    return fig


def token_figure(tok: dict):
    """Token track: backtracks per call and latency of the SMT checks made during decoding."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    if not tok.get("available") or tok["rows"].empty:
        for ax in axes:
            ax.text(0.5, 0.5, "token track not run:\n" + tok.get("reason", ""), ha="center", va="center", fontsize=8)
            ax.set_axis_off()
        return fig
    rows = tok["rows"]
    on, off = rows[rows.enforce], rows[~rows.enforce]
    labels = ["without SMT check", "with SMT check"]
    comp = [100 * off["compliant"].mean(), 100 * on["compliant"].mean()]
    axes[0].bar(labels, comp, color=["#bbbbbb", "#2a7ab9"])
    for i, b in enumerate([0, on["backtracks"].sum()]):
        axes[0].text(i, comp[i] + 1, f"{int(b)} backtracks" if i else "", ha="center", fontsize=8)
    axes[0].set(ylabel="compliant generated calls (%)", ylim=(0, 110), title="SmolLM2-135M, grammar-masked")
    ms = [x for lst in on["check_ms"] for x in lst]
    axes[1].hist(ms, bins=_log_bins(ms), color="#2a7ab9")
    axes[1].yaxis.set_major_locator(MaxNLocator(integer=True))
    axes[1].set(xscale="log", xlabel="SMT check during decoding (ms, log scale)", ylabel="checks (count)",
                title="Check latency")
    fig.tight_layout()
    return fig
