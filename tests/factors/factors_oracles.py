"""Independent oracles for the factors tests (written separately from support/factors):
a covariance-form Kalman filter and RTS smoother, and brute-force SLDS enumeration."""

import itertools

import numpy as np


def kf(A, Q, H, R, m0, P0, ys):
    mu, P, ll, out = np.array(m0, float), np.array(P0, float), 0.0, []
    for t, y in enumerate(ys):
        if t:
            mu = A @ mu
            P = A @ P @ A.T + Q
        S = H @ P @ H.T + R
        e = y - H @ mu
        Kg = P @ H.T @ np.linalg.inv(S)
        ll += float(-0.5 * e @ np.linalg.inv(S) @ e - 0.5 * np.log(np.linalg.det(2 * np.pi * S)))
        mu = mu + Kg @ e
        P = (np.eye(len(mu)) - Kg @ H) @ P
        out.append((mu, P))
    return ll, out


def rts(A, Q, filtered):
    ms = [filtered[-1]]
    for mu, P in reversed(filtered[:-1]):
        mn, Pn = ms[0]
        Pp = A @ P @ A.T + Q
        J = P @ A.T @ np.linalg.inv(Pp)
        ms.insert(0, (mu + J @ (mn - A @ mu), P + J @ (Pn - Pp) @ J.T))
    return ms


def slds_brute(m):
    """log Z, P(s_T|y), E[x_T|y], Cov[x_T|y] by enumerating every mode sequence."""
    T, K = m.T, m.K
    logws, moms, last = [], [], []
    for seq in itertools.product(range(K), repeat=T):
        prior = np.log(m.pi[seq[0]]) + sum(np.log(m.trans[a, b]) for a, b in itertools.pairwise(seq))
        mu, P, ll = m.m0.copy(), m.P0.copy(), 0.0
        for t, k in enumerate(seq):
            if t:
                mu, P = m.A[k] @ mu, m.A[k] @ P @ m.A[k].T + m.Q[k]
            S = m.H[k] @ P @ m.H[k].T + m.R[k]
            e = m.y[t] - m.H[k] @ mu
            ll += float(-0.5 * e @ np.linalg.inv(S) @ e - 0.5 * np.log(np.linalg.det(2 * np.pi * S)))
            Kg = P @ m.H[k].T @ np.linalg.inv(S)
            mu, P = mu + Kg @ e, (np.eye(len(mu)) - Kg @ m.H[k]) @ P
        logws.append(prior + ll)
        moms.append((mu, P))
        last.append(seq[-1])
    logws = np.array(logws)
    logz = np.logaddexp.reduce(logws)
    w = np.exp(logws - logz)
    mean = sum(wi * mu for wi, (mu, _) in zip(w, moms))
    cov = sum(wi * (P + np.outer(mu - mean, mu - mean)) for wi, (mu, P) in zip(w, moms))
    modes = np.array([w[np.array(last) == k].sum() for k in range(K)])
    return logz, modes, mean, cov
