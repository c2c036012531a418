"""Figures of the Agent-C notebook (matplotlib; deterministic for fixed inputs)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from support.agentc.experiments import PAPER_BASELINES


def _bars(ax, names, pairs, labels, colors):
    x = np.arange(len(names))
    w = 0.38
    for k, (side, lab, col) in enumerate(zip(pairs, labels, colors)):
        m = np.array([100 * s[0] for s in side])
        lo = np.array([100 * s[1] for s in side])
        hi = np.array([100 * s[2] for s in side])
        ax.bar(x + (k - 0.5) * w, m, w, yerr=[m - lo, hi - m], capsize=3, label=lab, color=col)
    ax.set_xticks(x, names)


def conformance_figure(summaries: dict[str, dict]):
    """Trajectory conformance and harm, unrestricted vs enforced, with 95% bootstrap CIs."""
    names = list(summaries)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    _bars(axes[0], names, [[summaries[n]["u_conformance"] for n in names], [summaries[n]["e_conformance"] for n in names]],
          ["unrestricted", "with monitor (Agent-C)"], ["#bbbbbb", "#2a7ab9"])
    for label, v in PAPER_BASELINES.items():
        axes[0].axhline(100 * v, ls="--", lw=0.8, color="grey")
        axes[0].text(len(names) - 0.5, 100 * v, f"paper {label} {100 * v:.1f}%", fontsize=7, va="bottom", ha="right")
    axes[0].set(ylabel="conformant trajectories (%)", ylim=(0, 105), title="Conformance")
    _bars(axes[1], names, [[summaries[n]["u_harm"] for n in names], [summaries[n]["e_harm"] for n in names]],
          ["unrestricted", "with monitor (Agent-C)"], ["#bbbbbb", "#c0392b"])
    axes[1].set(ylabel="trajectories with a harmful call (%)", title="Harm")
    axes[0].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def utility_figure(summaries: dict[str, dict], paper_deltas: dict[str, float]):
    """Paired utility change (enforced - unrestricted) with CI, next to the paper's deltas."""
    names = list(summaries)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    d = [summaries[n]["utility_delta"] for n in names]
    m = np.array([100 * t[0] for t in d])
    lo = np.array([100 * t[1] for t in d])
    hi = np.array([100 * t[2] for t in d])
    x = np.arange(len(names))
    ax.bar(x - 0.2, m, 0.4, yerr=[m - lo, hi - m], capsize=3, label="measured (paired, 95% CI)", color="#2a7ab9")
    ax.bar(x + 0.2, [paper_deltas.get(n, np.nan) for n in names], 0.4, label="paper", color="#e5a13a")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(x, names)
    ax.set(ylabel="utility change (percentage points)", title="Utility: enforced minus unrestricted")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def latency_figure(lat: pd.DataFrame):
    """Per-check latency of the SMT monitor and of the brute-force evaluator vs trace-prefix length."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    axes[0].scatter(lat["prefix_len"], lat["smt_ms"], s=6, alpha=0.5, label="SMT monitor (z3)")
    axes[0].scatter(lat["prefix_len"], lat["ref_ms"], s=6, alpha=0.5, label="brute-force evaluator")
    axes[0].set(xlabel="trace prefix length (events)", ylabel="time per check (ms)", yscale="log",
                title="Per-check latency")
    axes[0].axhline(20, ls="--", color="grey", lw=0.8)
    axes[0].legend(fontsize=8)
    bins = np.logspace(-2, 3, 50)
    axes[1].hist(lat["smt_ms"], bins=bins, alpha=0.6, label="SMT monitor")
    axes[1].hist(lat["ref_ms"], bins=bins, alpha=0.6, label="brute force")
    axes[1].set(xscale="log", xlabel="time per check (ms)", ylabel="checks", title="Distribution")
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
    axes[1].hist(ms, bins=np.logspace(-1, 3, 40), color="#2a7ab9")
    axes[1].set(xscale="log", xlabel="SMT check during decoding (ms)", ylabel="checks", title="Check latency")
    fig.tight_layout()
    return fig
