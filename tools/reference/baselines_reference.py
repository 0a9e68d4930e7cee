"""PyTorch references of the paper's baselines and GAIA-A's Table 3 variants, each written
from its paper / official-code definition with autograd (no closed forms), for the parity
fixtures of test/compile/baselines-parity.test.ts (made by make_baseline_fixtures.py).

The model must expose ``model.pool`` (global pool, its input = the last feature map) and
``model.fc`` (final Linear, its input = the penultimate features), as architectures.py does.
"""

from __future__ import annotations

from typing import Dict, List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

import gaia_reference as G


def _features(model: nn.Module, x: torch.Tensor):
    """logits, last feature map (pool input), penultimate (fc input), taps (BN outputs)."""
    rec = G._Recorder(model)
    try:
        y = G.logits_of(model, x)
    finally:
        rec.close()
    return y, rec.pool_in[0], rec.fc_in[0], [t for _, t in rec.taps]


def _tail(model: nn.Module, fm: torch.Tensor) -> torch.Tensor:
    """pool -> flatten -> fc, from the last feature map (what every architecture here does)."""
    return model.fc(torch.flatten(model.pool(fm), 1))


# ---------------------------------------------------------------- GradNorm
def gradnorm(model: nn.Module, x: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Official GradNorm: per sample (batch 1), loss = mean(sum(-u * log_softmax(y/T))),
    backward, score = sum |fc.weight.grad| (the bias gradient is not counted)."""
    scores = []
    w = model.fc.weight
    for i in range(x.shape[0]):
        w.requires_grad_(True)
        try:
            with torch.enable_grad():
                y = G.logits_of(model, x[i : i + 1])
                u = torch.ones_like(y) / y.shape[1]
                loss = torch.mean(torch.sum(-u * F.log_softmax(y / temperature, dim=-1), dim=-1))
                (g,) = torch.autograd.grad(loss, [w])
        finally:
            w.requires_grad_(False)
        scores.append(g.abs().sum())
    return torch.stack(scores)


# ---------------------------------------------------------------- ODIN
def odin(model: nn.Module, x: torch.Tensor, temperature: float = 1000.0, epsilon: float = 0.004, std: Sequence[float] = ()) -> torch.Tensor:
    """As the GradNorm authors' ODIN code: CE(y/T, argmax) backward to the input, gradient
    sign via torch.ge(g, 0), divided by the channel std, x' = x - eps * that, MSP(y(x')/T)."""
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        y = G.logits_of(model, x)
        labels = y.detach().argmax(dim=1)
        loss = nn.CrossEntropyLoss()(y / temperature, labels)
        (g,) = torch.autograd.grad(loss, [x])
    sign = (torch.ge(g, 0).float() - 0.5) * 2
    if std:
        sign = sign / torch.tensor(std, dtype=sign.dtype).view(1, -1, 1, 1)
    x2 = x.detach() - epsilon * sign
    with torch.no_grad():
        y2 = G.logits_of(model, x2)
    return torch.softmax(y2 / temperature, dim=1).max(dim=1)[0]


# ---------------------------------------------------------------- ReAct
def react(model: nn.Module, x: torch.Tensor, threshold: float) -> torch.Tensor:
    with torch.no_grad():
        _, _, pen, _ = _features(model, x)
        return torch.logsumexp(model.fc(pen.clip(max=threshold)), dim=1)


def react_threshold(features: torch.Tensor, percentile: float = 90) -> float:
    """The official np.percentile(activation_log.flatten(), 90)."""
    import numpy as np

    return float(np.percentile(features.double().numpy().flatten(), percentile))


# ---------------------------------------------------------------- RankFeat
def rankfeat(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Official RankFeat with the exact SVD: feat - s1 * u1 v1^T on the [C, HW] matrix."""
    with torch.no_grad():
        _, fm, _, _ = _features(model, x)
        b, c, h, w = fm.shape
        feat = fm.reshape(b, c, h * w)
        u, s, v = torch.linalg.svd(feat, full_matrices=False)
        feat = feat - s[:, 0:1].unsqueeze(2) * u[:, :, 0:1].bmm(v[:, 0:1, :])
        return torch.logsumexp(_tail(model, feat.reshape(b, c, h, w)), dim=1)


# ---------------------------------------------------------------- Mahalanobis
def mahalanobis_stats(features: torch.Tensor, labels: torch.Tensor, num_classes: int):
    """Official sample_estimator: class means; X = f - mean[label]; sklearn
    EmpiricalCovariance(assume_centered=False).fit(X).precision_ = pinvh(biased cov of X)."""
    f = features.double()
    means = torch.stack([f[labels == c].mean(dim=0) for c in range(num_classes)])
    xc = f - means[labels]
    xc = xc - xc.mean(dim=0, keepdim=True)
    cov = xc.T @ xc / xc.shape[0]
    precision = torch.linalg.pinv(cov, hermitian=True)
    return means, precision


def mahalanobis(model: nn.Module, x: torch.Tensor, means: torch.Tensor, precision: torch.Tensor) -> torch.Tensor:
    """min_c (f - mu_c)^T P (f - mu_c) (the official score is -1/2 of it), in float64."""
    with torch.no_grad():
        _, _, pen, _ = _features(model, x)
        d = pen.double()[:, None, :] - means[None]
        return torch.einsum("bcd,de,bce->bc", d, precision, d).min(dim=1)[0]


# ---------------------------------------------------------------- GAIA-A variants (Table 3)
def gaia_a_variants(model: nn.Module, x: torch.Tensor) -> Dict[str, torch.Tensor]:
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        y, fm, pen, taps = _features(model, x)
        spatial = [(int(t.shape[2]), int(t.shape[3])) for t in taps]
        inner_taps = [t for t, m in zip(taps, G.inner_tap_mask(spatial)) if m]

        def inner_of(seed: torch.Tensor) -> torch.Tensor:
            gs = torch.autograd.grad(seed, inner_taps, retain_graph=True)
            return torch.cat([g.mean(dim=(2, 3)).abs() for g in gs], dim=1)

        (g_last,) = torch.autograd.grad(torch.log_softmax(y, dim=1).sum(), [fm], retain_graph=True)
        e_out = g_last.mean(dim=(2, 3)).abs().mean(dim=1)
        inner = inner_of(pen.sum())
        direct = inner_of(y.sum())
        top1 = inner_of(y.max(dim=1)[0].sum())
    ms = lambda v: (v * v).mean(dim=1)  # noqa: E731
    out = {
        "gaia_a": ms(inner / e_out[:, None] ** 0.5),
        "gaia_a_q1": ms(inner / e_out[:, None]),
        "gaia_a_q2": ms(inner / e_out[:, None] ** 2),
        "gaia_a_inner": ms(inner),
        "gaia_a_output": 1.0 / e_out,
        "gaia_a_direct": ms(direct),
        "gaia_a_top1": ms(top1),
    }
    return {k: v.detach() for k, v in out.items()}


def penultimate(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return _features(model, x)[2]
