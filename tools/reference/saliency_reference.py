"""PyTorch references of the saliency head (src/compile/heads/saliency.ts), from the papers'
definitions with forward hooks and autograd, for test/compile/saliency-parity.test.ts.

- cam (Zhou et al. 2016): the class activation map of the predicted class k,
  M[b,h,w] = sum_c fc.weight[k,c] * A[b,c,h,w] with A the input of the global pool
  (model.pool) and fc the final Linear (model.fc).
- layercam (Jiang et al. 2021): at the last tap T (the last BatchNorm output in call order,
  the tap GAIA-Z reads last), with G = d y[b,k] / d T for the predicted k,
  M[b,h,w] = sum_c relu(G)[b,c,h,w] * T[b,c,h,w].

Both are then ReLU'd and divided per frame by their maximum (zeros stay zeros), as the head.
"""

from __future__ import annotations

import torch
import torch.nn as nn

import gaia_reference as G


def normalised(m: torch.Tensor) -> torch.Tensor:
    m = torch.relu(m)
    top = m.flatten(1).max(dim=1)[0].view(-1, *([1] * (m.dim() - 1)))
    return m / torch.where(top > 0, top, torch.ones_like(top))


def cam(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    rec = G._Recorder(model)
    try:
        with torch.no_grad():
            y = G.logits_of(model, x)
    finally:
        rec.close()
    k = y.argmax(dim=1)
    w = model.fc.weight[k]  # (B, C)
    return normalised(torch.einsum("bc,bchw->bhw", w, rec.pool_in[0]))


def layercam(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    x = x.detach().requires_grad_(True)
    rec = G._Recorder(model)
    try:
        with torch.enable_grad():
            y = G.logits_of(model, x)
            tap = rec.taps[-1][1]
            k = y.argmax(dim=1)
            (g,) = torch.autograd.grad(y.gather(1, k[:, None]).sum(), [tap])
    finally:
        rec.close()
    return normalised((torch.relu(g) * tap.detach()).sum(dim=1))
