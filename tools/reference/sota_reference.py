"""PyTorch / numpy references of the post-GAIA heads (KNN, fDBD, ViM, GEN, SCALE), each
written from its paper and official code, for test/compile/sota-parity.test.ts (fixtures made
by make_baseline_fixtures.py). Float64 wherever the official code uses numpy.

The model must expose ``model.fc`` (final Linear, its input = the penultimate features), as
architectures.py does.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

import baselines_reference as B


def _normalise(x: np.ndarray) -> np.ndarray:
    """KNN's normalizer (official code and OpenOOD): x / (||x||_2 + 1e-10)."""
    return x / (np.linalg.norm(x, ord=2, axis=-1, keepdims=True) + 1e-10)


# ---------------------------------------------------------------- KNN (Sun et al. 2022)
def knn_bank(train_features: torch.Tensor) -> np.ndarray:
    return _normalise(train_features.double().numpy())


def knn(model: nn.Module, x: torch.Tensor, bank: np.ndarray, k: int) -> np.ndarray:
    """-(distance to the k-th nearest normalised bank feature), by brute force in float64."""
    z = _normalise(B.penultimate(model, x).double().numpy())
    d = np.sqrt(((z[:, None, :] - bank[None, :, :]) ** 2).sum(axis=2))
    return -np.sort(d, axis=1)[:, k - 1]


# ---------------------------------------------------------------- fDBD (Liu & Qin 2024)
def fdbd(model: nn.Module, x: torch.Tensor, train_mean: np.ndarray) -> np.ndarray:
    """Eq. of the paper: mean over c != pred of |l_pred - l_c| / ||w_pred - w_c||, divided by
    ||z - mean ID feature|| (the official code sums instead of averaging: same ranking)."""
    w = model.fc.weight.detach().double().numpy()
    b = model.fc.bias.detach().double().numpy()
    z = B.penultimate(model, x).double().numpy()
    logits = z @ w.T + b
    pred = logits.argmax(axis=1)
    c = w.shape[0]
    out = np.empty(len(z))
    for i in range(len(z)):
        p = pred[i]
        others = [k for k in range(c) if k != p]
        dist = [abs(logits[i, p] - logits[i, k]) / np.linalg.norm(w[p] - w[k]) for k in others]
        out[i] = np.mean(dist) / np.linalg.norm(z[i] - train_mean)
    return out


# ---------------------------------------------------------------- ViM (Wang et al. 2022)
def vim_stats(model: nn.Module, train_features: torch.Tensor, principal_dim: int):
    """Official ViM: u = -pinv(W) b; EmpiricalCovariance(assume_centered=True) of f - u;
    NS = eigenvectors beyond the principal_dim largest; alpha = mean max logit / mean ||(f-u) NS||."""
    w = model.fc.weight.detach().double().numpy()
    b = model.fc.bias.detach().double().numpy()
    f = train_features.double().numpy()
    u = -np.matmul(np.linalg.pinv(w), b)
    xc = f - u
    cov = xc.T @ xc / len(xc)
    eig_vals, eig_vecs = np.linalg.eigh(cov)
    ns = np.ascontiguousarray(eig_vecs[:, np.argsort(-eig_vals)[principal_dim:]])
    logits = f @ w.T + b
    alpha = logits.max(axis=1).mean() / np.linalg.norm(xc @ ns, axis=1).mean()
    return u, ns, float(alpha)


def vim(model: nn.Module, x: torch.Tensor, u: np.ndarray, ns: np.ndarray, alpha: float) -> np.ndarray:
    """energy - alpha * ||(f - u) NS|| (higher = more in-distribution)."""
    w = model.fc.weight.detach().double().numpy()
    b = model.fc.bias.detach().double().numpy()
    f = B.penultimate(model, x).double().numpy()
    logits = f @ w.T + b
    energy = np.log(np.exp(logits - logits.max(axis=1, keepdims=True)).sum(axis=1)) + logits.max(axis=1)
    return energy - alpha * np.linalg.norm((f - u) @ ns, axis=1)


# ---------------------------------------------------------------- GEN (Liu et al. 2023)
def gen(model: nn.Module, x: torch.Tensor, gamma: float = 0.1, m: int = 100) -> np.ndarray:
    """Official generalized_entropy: -sum over the top M probabilities of p^g (1-p)^g."""
    with torch.no_grad():
        probs = torch.softmax(B.G.logits_of(model, x).double(), dim=1).numpy()
    top = np.sort(probs, axis=1)[:, -m:]
    return -np.sum(top**gamma * (1 - top) ** gamma, axis=1)


# ---------------------------------------------------------------- SCALE (Xu et al. 2024)
def scale(model: nn.Module, x: torch.Tensor, percentile: float = 85) -> np.ndarray:
    """Official SCALE on the pooled features (viewed as [b, D, 1, 1]): r = sum(a) / sum of the
    activations above the percentile (the top k = n - round(n p / 100)); energy of fc(a e^r)."""
    with torch.no_grad():
        a = B.penultimate(model, x)
        n = a.shape[1]
        k = n - int(np.round(n * percentile / 100.0))
        s1 = a.sum(dim=1)
        s2 = torch.topk(a, k, dim=1)[0].sum(dim=1)
        shaped = a * torch.exp(s1 / s2)[:, None]
        return torch.logsumexp(model.fc(shaped).double(), dim=1).numpy()
