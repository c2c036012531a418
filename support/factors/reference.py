"""Closed-form references used by the notebook (the tests carry their own, written separately): the Kalman
filter and brute-force SLDS enumeration (the Gaussian BNs are checked against pgmpy's ``to_joint_gaussian``).
"""

from __future__ import annotations

import itertools

import numpy as np

from support.factors.models import SLDS


def kalman(A, Q, H, R, m0, P0, y) -> tuple[float, np.ndarray, np.ndarray]:
    """Covariance-form Kalman filter: (log p(y_1:T), filtered means (T, d), covariances (T, d, d))."""
    mu, P = np.asarray(m0, float), np.asarray(P0, float)
    ll, means, covs = 0.0, [], []
    for t, yt in enumerate(np.asarray(y, float).reshape(len(y), -1)):
        if t:
            mu, P = A @ mu, A @ P @ A.T + Q
        S = H @ P @ H.T + R
        r = yt - H @ mu
        ll += -0.5 * r @ np.linalg.solve(S, r) - 0.5 * np.linalg.slogdet(2 * np.pi * S)[1]
        G = np.linalg.solve(S, H @ P).T
        mu, P = mu + G @ r, P - G @ S @ G.T
        means.append(mu)
        covs.append(P)
    return float(ll), np.array(means), np.array(covs)


def slds_enumerate(m: SLDS) -> dict:
    """Exact answers by enumerating all K^T mode sequences, one Kalman filter each."""
    T, K = m.T, m.K
    lws, mus, Ps, last = [], [], [], []
    for seq in itertools.product(range(K), repeat=T):
        lp = np.log(m.pi[seq[0]]) + sum(np.log(m.trans[seq[t - 1], seq[t]]) for t in range(1, T))
        mu, P = m.m0.astype(float), m.P0.astype(float)
        ll = 0.0
        for t in range(T):
            k = seq[t]
            if t:
                mu, P = m.A[k] @ mu, m.A[k] @ P @ m.A[k].T + m.Q[k]
            S = m.H[k] @ P @ m.H[k].T + m.R[k]
            r = m.y[t] - m.H[k] @ mu
            ll += -0.5 * r @ np.linalg.solve(S, r) - 0.5 * np.linalg.slogdet(2 * np.pi * S)[1]
            G = np.linalg.solve(S, m.H[k] @ P).T
            mu, P = mu + G @ r, P - G @ S @ G.T
        lws.append(lp + ll)
        mus.append(mu)
        Ps.append(P)
        last.append(seq[-1])
    lws = np.array(lws)
    log_z = float(np.logaddexp.reduce(lws))
    w = np.exp(lws - log_z)
    mus, Ps = np.array(mus), np.array(Ps)
    mean = w @ mus
    d = mus - mean
    cov = np.einsum("n,nij->ij", w, Ps + d[:, :, None] * d[:, None, :])
    modes = np.bincount(np.array(last), weights=w, minlength=K)
    return {"log_z": log_z, "mode_posterior": modes, "mean": mean, "cov": cov}
