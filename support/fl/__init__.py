"""Federated-learning core shared by papers 07 and 10 (import the submodules directly).

Datasets, label-skew partitioners (Dirichlet, shards), NumPy/CuPy models (logistic regression, MLP),
the FedAvg loop, and client masks with coverage-aware aggregation for pruned submodels.
"""
