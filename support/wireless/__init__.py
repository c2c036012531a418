"""Wireless uplink and on-device compute models for FL over wireless networks (Yang et al., IEEE TWC 2021).

``channel``: dB to linear and dBm to W conversions, 3GPP-style path loss 128.1 + 37.6 log10(d km), Rayleigh fading.
``rate``: Shannon rate, FDMA bandwidth shares, TDMA time shares, and the inverse (bandwidth for a rate).
``energy``: CPU time L c D / f and energy kappa L c D f^2, upload time s / r and energy p s / r.
"""
