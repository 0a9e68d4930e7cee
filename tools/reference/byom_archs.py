"""Small public-pattern architectures for the bring-your-own-model checks: each puts one
pattern that real exports contain, and that torchvision's classifiers lack, between the
first tap and the logits. Random weights; BatchNorm statistics are randomised by the caller.

    mixconv          unequal channel Split (8/4/4) into 3x3, 5x5 and 7x7 depthwise Convs (MixNet)
    slice_residual   an in-place slice-wise residual add, x[:, :c] += shortcut (partial-channel skip)
    fpn_resize       FPN-style top-down path: nearest x2 upsampling, bilinear to a size, Resize by scale
    convnext_mini    a ConvNeXt block: LayerNorm2d, depthwise 7x7, channels-last LayerNorm, Linear, GELU,
                     layer scale; taps on its LayerNorm outputs (op:LayerNormalization)
    decomposed_ln    a hand-written channel LayerNorm (mean, var, sqrt, divide), erf GELU and tanh GELU
    bn_act           BatchNorm and activation fused in one module (timm's BatchNormAct2d pattern):
                     the official hook point is still the BN output before the activation
    attention_mini   a MobileViT-style block: feature map → tokens → multi-head self-attention
                     (batched MatMul of two activations, Softmax) → feature map, between BN taps
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout))


class Head(nn.Module):
    def __init__(self, c: int, classes: int = 10):
        super().__init__()
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class MixConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 16, stride=2)
        self.splits = [8, 4, 4]
        self.mix = nn.ModuleList([conv_bn(c, c, k, groups=c) for c, k in zip(self.splits, (3, 5, 7))])
        self.project = conv_bn(16, 24, 1)
        self.head = Head(24)

    def forward(self, x):
        x = F.relu(self.stem(x))
        parts = torch.split(x, self.splits, dim=1)
        x = torch.cat([F.relu(m(p)) for m, p in zip(self.mix, parts)], dim=1)
        return self.head(F.relu(self.project(x)))


class SliceResidual(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 8, stride=2)
        self.body = conv_bn(8, 16)
        self.tail = conv_bn(16, 16)
        self.head = Head(16)

    def forward(self, x):
        s = F.relu(self.stem(x))
        y = self.body(s)
        y[:, :8] += s  # the shortcut covers only the first 8 channels
        y = F.relu(y)
        z = self.tail(y)
        z[:, 4:12] += y[:, :8]
        return self.head(F.relu(z))


class FpnResize(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = conv_bn(3, 8, stride=2)
        self.c2 = conv_bn(8, 16, stride=2)
        self.c3 = conv_bn(16, 16, stride=2)
        self.lat2 = conv_bn(16, 16, 1)
        self.lat1 = conv_bn(8, 16, 1)
        self.smooth = conv_bn(16, 16)
        self.head = Head(16)

    def forward(self, x):
        p1 = F.relu(self.c1(x))
        p2 = F.relu(self.c2(p1))
        p3 = F.relu(self.c3(p2))
        t2 = self.lat2(p2) + F.interpolate(p3, scale_factor=2.0, mode="nearest")
        t1 = self.lat1(p1) + F.interpolate(t2, size=p1.shape[-2:], mode="bilinear", align_corners=False)
        t1 = F.interpolate(F.relu(self.smooth(t1)), scale_factor=0.5, mode="bilinear", align_corners=True)
        return self.head(t1)


class LayerNorm2d(nn.LayerNorm):
    """torchvision's ConvNeXt LayerNorm2d: normalise the channels of an NCHW tensor."""

    def forward(self, x):
        return F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps).permute(0, 3, 1, 2)


class ConvNeXtMini(nn.Module):
    def __init__(self, dim: int = 16):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, dim, 4, 4), LayerNorm2d(dim, eps=1e-6))
        self.dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pw1 = nn.Linear(dim, 4 * dim)
        self.pw2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.rand(dim) + 0.5)
        self.down = nn.Sequential(LayerNorm2d(dim, eps=1e-6), nn.Conv2d(dim, 2 * dim, 2, 2))
        self.head = Head(2 * dim)

    def forward(self, x):
        x = self.stem(x)
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.pw2(F.gelu(self.pw1(self.norm(y)), approximate="tanh"))
        x = x + (self.gamma * y).permute(0, 3, 1, 2)
        return self.head(F.gelu(self.down(x)))


class DecomposedLN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = conv_bn(3, 12, stride=2)
        self.weight = nn.Parameter(torch.rand(1, 12, 1, 1) + 0.5)
        self.bias = nn.Parameter(torch.randn(1, 12, 1, 1) * 0.1)
        self.c2 = conv_bn(12, 16, stride=2)
        self.head = Head(16)

    def forward(self, x):
        x = self.c1(x)
        mu = x.mean(1, keepdim=True)
        var = (x - mu).pow(2).mean(1, keepdim=True)
        x = (x - mu) / torch.sqrt(var + 1e-5) * self.weight + self.bias
        x = x * 0.5 * (1.0 + torch.erf(x / 1.4142135623730951))
        return self.head(F.gelu(self.c2(x), approximate="tanh"))


class BatchNormAct2d(nn.BatchNorm2d):
    """BN and ReLU in one module (timm's pattern): a hook on the module sees the activation's
    output, but the official tap is the BN output before it."""

    def forward(self, x):
        return F.relu(super().forward(x))


class BnAct(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, 2, 1, bias=False)
        self.n1 = BatchNormAct2d(8)
        self.c2 = nn.Conv2d(8, 16, 3, 2, 1, bias=False)
        self.n2 = BatchNormAct2d(16)
        self.head = Head(16)

    def forward(self, x):
        return self.head(self.n2(self.c2(self.n1(self.c1(x)))))


class AttentionMini(nn.Module):
    def __init__(self, dim: int = 16, heads: int = 2):
        super().__init__()
        self.heads = heads
        self.stem = conv_bn(3, dim, stride=2)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.fuse = conv_bn(dim, dim)
        self.head = Head(dim)

    def forward(self, x):
        x = F.silu(self.stem(x))
        b, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)  # (B, HW, C)
        q, k, v = self.qkv(tokens).reshape(b, h * w, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-2, -1) * (c // self.heads) ** -0.5, dim=-1)
        y = self.proj((att @ v).transpose(1, 2).reshape(b, h * w, c))
        x = x + y.transpose(1, 2).reshape(b, c, h, w)
        return self.head(F.relu(self.fuse(x)))


ARCHS = {
    "mixconv": MixConv,
    "slice_residual": SliceResidual,
    "fpn_resize": FpnResize,
    "convnext_mini": ConvNeXtMini,
    "decomposed_ln": DecomposedLN,
    "bn_act": BnAct,
    "attention_mini": AttentionMini,
}
