"""PyTorch autograd reference for the GAIA-Z and GAIA-A scores.

Taps: the outputs of every nn.BatchNorm2d module, captured with forward hooks in forward
call order.

GAIA-Z (official ``cal_zero``):
    y = model(x) (eval mode); seed = y.max(1)[0].sum()
    G_l = d seed / d tap_l
    r_l[b, c] = fraction of the H*W positions where G_l[b, c] != 0
    R[b] = concat_l r_l[b, :]   (forward order)
    gaia_z[b] = mean_k R[b, k]^2   (higher = more OOD)

GAIA-A:
    seed1 = log_softmax(y, 1).sum()
    F_last = input of the final global pooling (model.pool), G_last = d seed1 / d F_last
    o[b] = sqrt(mean_c |mean_hw G_last[b, c]|)
    seed2 = P.sum(), P = input of the final Linear (model.fc), shape (B, K)
    inner taps = taps whose (H, W) is one of the last two distinct spatial sizes (in order
                 of first appearance along the forward-ordered tap list)
    inner_l[b, c] = |mean_hw d seed2 / d tap_l [b, c]|
    gaia_a[b] = mean_k (inner[b, k] / o[b])^2

Plus MSP (max softmax) and energy (logsumexp of the logits).

y is always the pre-softmax logits: for a model whose forward ends in a Softmax
(``output_is_softmax = True``, e.g. op_zoo) it is ``model.logits(x)``.

Usage as a script (float32 vs float64 cross-check of all parity architectures):
    /usr/bin/python3 tools/reference/gaia_reference.py
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


@dataclass
class TapInfo:
    index: int
    module: str  # qualified module name
    shape: Tuple[int, ...]


@dataclass
class GaiaResult:
    logits: torch.Tensor
    gaia_z: torch.Tensor
    gaia_a: torch.Tensor
    gaia_a_o: torch.Tensor
    msp: torch.Tensor
    energy: torch.Tensor
    grads: List[torch.Tensor]  # G_l (GAIA-Z seed), forward order
    ratios: List[torch.Tensor]  # r_l, (B, C)
    taps: List[TapInfo]
    inner: List[bool]  # per tap: part of the GAIA-A inner set
    last_feature_map_shape: Tuple[int, ...] = ()
    penultimate_shape: Tuple[int, ...] = ()
    extra: Dict[str, object] = field(default_factory=dict)


class TapIdentity(nn.Identity):
    """Stands in for a BatchNorm2d that was folded into the preceding Conv (used to mimic
    the folded ONNX export in PyTorch): its output - the fused Conv output - is the tap."""


TAP_TYPES = (nn.BatchNorm2d, TapIdentity)


class _Recorder:
    """Forward hooks: BN outputs (call order), input of model.pool, input of model.fc."""

    def __init__(self, model: nn.Module):
        self.handles = []
        self.taps: List[Tuple[str, torch.Tensor]] = []
        self.pool_in: List[torch.Tensor] = []
        self.fc_in: List[torch.Tensor] = []
        for name, m in model.named_modules():
            if isinstance(m, TAP_TYPES):
                self.handles.append(m.register_forward_hook(self._bn_hook(name)))
        self.handles.append(model.pool.register_forward_hook(lambda m, i, o: self.pool_in.append(i[0])))
        self.handles.append(model.fc.register_forward_hook(lambda m, i, o: self.fc_in.append(i[0])))

    def _bn_hook(self, name):
        def hook(module, inputs, output):
            self.taps.append((name, output))

        return hook

    def close(self):
        for h in self.handles:
            h.remove()


def logits_of(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The pre-softmax class scores. A model whose forward ends in a Softmax declares
    ``output_is_softmax = True`` and exposes ``model.logits(x)``; the scores are computed on
    those logits (as the TypeScript compiler takes the input of a final Softmax)."""
    if getattr(model, "output_is_softmax", False):
        return model.logits(x)
    return model(x)


def inner_tap_mask(spatial: List[Tuple[int, int]]) -> List[bool]:
    """GAIA-A 'last two stages': taps whose (H, W) is one of the last two distinct sizes
    in order of first appearance."""
    distinct: List[Tuple[int, int]] = []
    for hw in spatial:
        if hw not in distinct:
            distinct.append(hw)
    last_two = set(distinct[-2:])
    return [hw in last_two for hw in spatial]


def gaia_scores(model: nn.Module, x: torch.Tensor) -> GaiaResult:
    """All scores for one batch. ``model`` must be in eval mode; dtype follows the model."""
    assert not model.training
    dtype = next(model.parameters()).dtype
    x = x.to(dtype).detach().requires_grad_(True)  # parameters may have requires_grad=False
    rec = _Recorder(model)
    try:
        with torch.enable_grad():
            y = logits_of(model, x)
    finally:
        rec.close()
    names = [n for n, _ in rec.taps]
    taps = [t for _, t in rec.taps]
    assert len(rec.pool_in) == 1 and len(rec.fc_in) == 1
    f_last, pen = rec.pool_in[0], rec.fc_in[0]

    # ---------------- GAIA-Z
    seed = y.max(1)[0].sum()
    grads = torch.autograd.grad(seed, taps, retain_graph=True)
    ratios = []
    for g in grads:
        hw = g.shape[2] * g.shape[3]
        ratios.append((g != 0).sum(dim=(2, 3)).to(dtype) / hw)
    R = torch.cat(ratios, dim=1)
    gaia_z = (R * R).mean(dim=1)

    # ---------------- GAIA-A
    seed1 = torch.log_softmax(y, dim=1).sum()
    (g_last,) = torch.autograd.grad(seed1, [f_last], retain_graph=True)
    o = g_last.mean(dim=(2, 3)).abs().mean(dim=1).sqrt()
    spatial = [(int(t.shape[2]), int(t.shape[3])) for t in taps]
    inner = inner_tap_mask(spatial)
    inner_taps = [t for t, m in zip(taps, inner) if m]
    seed2 = pen.sum()
    g2 = torch.autograd.grad(seed2, inner_taps, retain_graph=False)
    inner_vals = torch.cat([g.mean(dim=(2, 3)).abs() for g in g2], dim=1)
    gaia_a = ((inner_vals / o[:, None]) ** 2).mean(dim=1)

    # ---------------- baselines
    y = y.detach()
    msp = torch.softmax(y, dim=1).max(dim=1)[0]
    energy = torch.logsumexp(y, dim=1)

    return GaiaResult(
        logits=y,
        gaia_z=gaia_z.detach(),
        gaia_a=gaia_a.detach(),
        gaia_a_o=o.detach(),
        msp=msp,
        energy=energy,
        grads=[g.detach() for g in grads],
        ratios=[r.detach() for r in ratios],
        taps=[TapInfo(i, n, tuple(t.shape)) for i, (n, t) in enumerate(zip(names, taps))],
        inner=inner,
        last_feature_map_shape=tuple(f_last.shape),
        penultimate_shape=tuple(pen.shape),
        extra={
            "tap_values": [t.detach() for t in taps],
            "last_feature_map": f_last.detach(),
            "penultimate": pen.detach(),
        },
    )


def gaia_z_only(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """GAIA-Z alone (used by the benchmark): hooks + one autograd.grad + reductions."""
    taps: List[torch.Tensor] = []
    handles = [
        m.register_forward_hook(lambda mod, i, o: taps.append(o))
        for m in model.modules()
        if isinstance(m, nn.BatchNorm2d)
    ]
    try:
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            y = logits_of(model, x)
            seed = y.max(1)[0].sum()
            grads = torch.autograd.grad(seed, taps)
    finally:
        for h in handles:
            h.remove()
    R = torch.cat([(g != 0).sum(dim=(2, 3)).to(g.dtype) / (g.shape[2] * g.shape[3]) for g in grads], dim=1)
    return (R * R).mean(dim=1)


def max_rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    a = a.double()
    b = b.double()
    return float(((a - b).abs() / b.abs().clamp_min(1e-30)).max())


def crosscheck(model32: nn.Module, x: torch.Tensor) -> Dict[str, float]:
    """float32 scores vs a float64 copy of the model (same weights)."""
    import copy

    model64 = copy.deepcopy(model32).double().eval()
    r32 = gaia_scores(model32, x)
    r64 = gaia_scores(model64, x.double())
    return {
        "gaia_z_max_rel_err": max_rel_err(r32.gaia_z, r64.gaia_z),
        "gaia_a_max_rel_err": max_rel_err(r32.gaia_a, r64.gaia_a),
        "logits_max_abs_err": float((r32.logits.double() - r64.logits).abs().max()),
        # positions where the float32 and float64 GAIA-Z gradients disagree on "== 0"
        "zero_mask_mismatches": int(sum(int(((a != 0) != (b != 0)).sum()) for a, b in zip(r32.grads, r64.grads))),
    }


if __name__ == "__main__":
    import architectures as A

    torch.set_num_threads(1)
    for name in A.PARITY_ARCHITECTURES:
        model = A.build(name, seed=0)
        gen = torch.Generator().manual_seed(1234)
        x = torch.randn((4, *A.input_shape(name)), generator=gen)
        res = gaia_scores(model, x)
        cc = crosscheck(model, x)
        print(
            f"{name:18s} taps={len(res.taps):2d} inner={sum(res.inner):2d} "
            f"gaia_z={res.gaia_z.numpy().round(4)} gaia_a={res.gaia_a.numpy().round(4)} {cc}"
        )
