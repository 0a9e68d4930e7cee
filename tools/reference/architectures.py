"""Small seeded CNN classifiers used as golden references for GAIA parity tests.

Every model:
  * contains nn.BatchNorm2d layers (the GAIA taps),
  * ends with ``self.pool`` (nn.AdaptiveAvgPool2d(1)) -> torch.flatten(., 1) -> ``self.fc``
    (nn.Linear), so the last feature map is the input of ``self.pool`` and the
    penultimate features are the input of ``self.fc`` (op_zoo flattens with squeeze,
    Dropout and view(B, -1) instead, and appends a Softmax: its ``forward`` returns
    probabilities, ``logits(x)`` the pre-softmax scores, flagged by
    ``output_is_softmax = True``),
  * uses non-inplace activations (so BN outputs captured by forward hooks are never
    overwritten in place).

Weights are random but deterministic (``build(name, seed)``), and BN running statistics
are "real": they are accumulated (cumulative average, momentum=None) over seeded
random batches in train mode before switching to eval().

Run with the Debian interpreter: /usr/bin/python3 (torch 1.13).
"""

from __future__ import annotations

import math
from typing import Callable, Dict, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


# ----------------------------------------------------------------------------------------
# plain_cnn
# ----------------------------------------------------------------------------------------


def conv_bn(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> Tuple[nn.Conv2d, nn.BatchNorm2d]:
    return (
        nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    )


class PlainCNN(nn.Module):
    """conv-BN-ReLU stem, overlapping MaxPool(3,2,1), 2 x conv-BN-ReLU (2nd one stride 2),
    global average pool, flatten, Linear."""

    def __init__(self, in_ch: int = 1, num_classes: int = 10):
        super().__init__()
        self.conv1, self.bn1 = conv_bn(in_ch, 16, 3)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.conv2, self.bn2 = conv_bn(16, 24, 3)
        self.conv3, self.bn3 = conv_bn(24, 32, 3, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.maxpool(x)
        x = F.relu(self.bn2(self.conv2(x)))
        x = F.relu(self.bn3(self.conv3(x)))
        x = self.pool(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


# ----------------------------------------------------------------------------------------
# ResNets (CIFAR style, one block per stage)
# ----------------------------------------------------------------------------------------


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1, self.bn1 = conv_bn(cin, planes, 3, stride)
        self.conv2, self.bn2 = conv_bn(planes, planes, 3)
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        sc = x if self.downsample is None else self.downsample(x)
        return F.relu(out + sc)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1):
        super().__init__()
        out = planes * self.expansion
        self.conv1, self.bn1 = conv_bn(cin, planes, 1)
        self.conv2, self.bn2 = conv_bn(planes, planes, 3, stride)  # stride on the 3x3 (torchvision v1.5)
        self.conv3, self.bn3 = conv_bn(planes, out, 1)
        self.downsample = None
        if stride != 1 or cin != out:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out)
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        sc = x if self.downsample is None else self.downsample(x)
        return F.relu(out + sc)


class CifarResNet(nn.Module):
    def __init__(self, block, stem: int, planes, blocks, in_ch: int = 3, num_classes: int = 10):
        super().__init__()
        self.conv1, self.bn1 = conv_bn(in_ch, stem, 3)
        cin = stem
        for i, (p, n) in enumerate(zip(planes, blocks)):
            layers = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                layers.append(block(cin, p, stride))
                cin = p * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*layers))
        self.num_stages = len(planes)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        for i in range(self.num_stages):
            x = getattr(self, f"layer{i + 1}")(x)
        x = self.pool(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


def resnet18_cifar(width: int = 64, in_ch: int = 1, num_classes: int = 10) -> CifarResNet:
    """CIFAR-style ResNet-18: 3x3 stem conv-BN-ReLU (stride 1, no max-pool), BasicBlocks
    [2, 2, 2, 2] at widths (w, 2w, 4w, 8w), stride 2 at the first block of stages 2-4 with a
    1x1-conv+BN shortcut, global average pool, Linear(8w -> num_classes)."""
    w = int(width)
    return CifarResNet(BasicBlock, w, (w, 2 * w, 4 * w, 8 * w), (2, 2, 2, 2), in_ch=in_ch, num_classes=num_classes)


# ----------------------------------------------------------------------------------------
# MobileNetV2-style
# ----------------------------------------------------------------------------------------


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers = []
        if expand != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()]
        layers += [
            nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        out = self.conv(x)
        return x + out if self.use_res else out


class MobileNetV2Tiny(nn.Module):
    # (expand, cout, stride)
    CFG = [(1, 16, 1), (2, 24, 2), (2, 24, 1), (2, 32, 2), (1, 32, 1)]

    def __init__(self, in_ch: int = 3, num_classes: int = 10):
        super().__init__()
        feats = [nn.Sequential(nn.Conv2d(in_ch, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU6())]
        cin = 16
        for t, c, s in self.CFG:
            feats.append(InvertedResidual(cin, c, s, t))
            cin = c
        feats.append(nn.Sequential(nn.Conv2d(cin, 48, 1, bias=False), nn.BatchNorm2d(48), nn.ReLU6()))
        self.features = nn.Sequential(*feats)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(48, num_classes)

    def forward(self, x):
        x = self.features(x)
        x = self.pool(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


# ----------------------------------------------------------------------------------------
# Squeeze-excitation + SiLU
# ----------------------------------------------------------------------------------------


class SqueezeExcite(nn.Module):
    def __init__(self, ch: int, reduced: int):
        super().__init__()
        self.fc1 = nn.Conv2d(ch, reduced, 1)
        self.fc2 = nn.Conv2d(reduced, ch, 1)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)  # exported as ReduceMean
        s = F.silu(self.fc1(s))
        s = torch.sigmoid(self.fc2(s))
        return x * s


class ConvBNSiLU(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1, se: bool = False):
        super().__init__()
        self.conv, self.bn = conv_bn(cin, cout, 3, stride)
        self.se = SqueezeExcite(cout, max(4, cout // 4)) if se else None

    def forward(self, x):
        x = F.silu(self.bn(self.conv(x)))
        return x if self.se is None else self.se(x)


class SESiLUNet(nn.Module):
    def __init__(self, in_ch: int = 3, num_classes: int = 5):
        super().__init__()
        self.stem = ConvBNSiLU(in_ch, 16)
        self.block1 = ConvBNSiLU(16, 16, se=True)
        self.block2 = ConvBNSiLU(16, 32, stride=2)
        self.block3 = ConvBNSiLU(32, 32, se=True)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x):
        x = self.stem(x)
        x = self.block1(x)
        x = self.block2(x)
        x = self.block3(x)
        x = self.pool(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


# ----------------------------------------------------------------------------------------
# DenseNet-style
# ----------------------------------------------------------------------------------------


class DenseLayer(nn.Module):
    def __init__(self, cin: int, growth: int, bn_size: int):
        super().__init__()
        mid = bn_size * growth
        self.norm1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, mid, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, growth, 3, padding=1, bias=False)

    def forward(self, x):
        out = self.conv1(F.relu(self.norm1(x)))
        out = self.conv2(F.relu(self.norm2(out)))
        return torch.cat([x, out], 1)


class Transition(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(cin)
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)
        self.avgpool = nn.AvgPool2d(2)

    def forward(self, x):
        return self.avgpool(self.conv(F.relu(self.norm(x))))


class DenseNetTiny(nn.Module):
    def __init__(self, in_ch: int = 3, num_classes: int = 7, growth: int = 8, bn_size: int = 4, layers=(2, 2)):
        super().__init__()
        self.conv0 = nn.Conv2d(in_ch, 16, 3, stride=2, padding=1, bias=False)
        c = 16
        blocks = []
        for i, n in enumerate(layers):
            block = nn.Sequential(*[DenseLayer(c + j * growth, growth, bn_size) for j in range(n)])
            c += n * growth
            blocks.append(block)
            if i != len(layers) - 1:
                blocks.append(Transition(c, c // 2))
                c //= 2
        self.blocks = nn.Sequential(*blocks)
        self.norm_final = nn.BatchNorm2d(c)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        x = self.conv0(x)
        x = self.blocks(x)
        x = F.relu(self.norm_final(x))
        x = self.pool(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


# ----------------------------------------------------------------------------------------
# op_zoo: one of every op the other fixtures do not cover, between the first tap and the
# logits, and a final Softmax
# ----------------------------------------------------------------------------------------


class _OnnxIdentityFn(torch.autograd.Function):
    """Identity in PyTorch; exported as an ONNX ``Identity`` node. (torch.onnx drops
    nn.Identity entirely: it is traced away.)"""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        return g

    @staticmethod
    def symbolic(g, x):
        return g.op("Identity", x)


class _OnnxEvalDropoutFn(torch.autograd.Function):
    """Inference-mode dropout (the identity); exported as an ONNX ``Dropout`` node with a
    ``ratio`` input and no ``training_mode`` input (default false). (torch.onnx drops
    nn.Dropout from an eval-mode export.)"""

    @staticmethod
    def forward(ctx, x, p: float):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        return g, None

    @staticmethod
    def symbolic(g, x, p: float):
        return g.op("Dropout", x, g.op("Constant", value_t=torch.tensor(p, dtype=torch.float32)))


class ExportedIdentity(nn.Identity):
    """nn.Identity that survives torch.onnx.export as an Identity node."""

    def forward(self, x):
        return _OnnxIdentityFn.apply(x)


class ExportedDropout(nn.Dropout):
    """nn.Dropout (active in train mode); in eval mode the identity, exported as a
    Dropout node in inference mode."""

    def forward(self, x):
        if self.training:
            return super().forward(x)
        return _OnnxEvalDropoutFn.apply(x, float(self.p))


class OpZoo(nn.Module):
    """Covers, between the first BN tap and the logits: LeakyRelu(0.1), HardSwish,
    HardSigmoid, Tanh, Sub/Div by constants, Identity, a dilated conv, a grouped conv
    (groups=2, padding 2) followed by a spatial Slice (crop), a non-overlapping MaxPool(2),
    a constant Pad followed by a padding-0 conv, ReduceMean(keepdims=0) + Unsqueeze, a
    broadcast Mul of two activations, Split into two halves processed separately, Concat,
    Transpose -> Linear over channels (MatMul + Add) -> Transpose, the broadcast Add of a
    learned (1,C,1,1) parameter, a stride-2 conv on an even size, a channel Slice,
    a residual Add, then GlobalAveragePool -> Squeeze -> Dropout -> view(B,-1) -> Linear
    -> Softmax.

    ``forward`` returns softmax probabilities; ``logits`` returns the pre-softmax scores
    (the tensor GAIA differentiates). ``output_is_softmax`` tells the reference to use it.
    """

    output_is_softmax = True

    def __init__(self, in_ch: int = 3, num_classes: int = 6):
        super().__init__()
        self.conv1, self.bn1 = conv_bn(in_ch, 8, 3, stride=2)  # 32 -> 16
        self.ident = ExportedIdentity()
        self.conv2 = nn.Conv2d(8, 8, 3, padding=2, dilation=2, bias=False)  # dilated, 16 -> 16
        self.bn2 = nn.BatchNorm2d(8)
        self.conv3 = nn.Conv2d(8, 8, 3, padding=2, groups=2, bias=False)  # grouped, 16 -> 18
        self.bn3 = nn.BatchNorm2d(8)
        self.maxpool = nn.MaxPool2d(2)  # 16 -> 8, non-overlapping
        self.conv4 = nn.Conv2d(8, 16, 3, padding=0, bias=False)  # after F.pad: 10 -> 8
        self.bn4 = nn.BatchNorm2d(16)
        self.gate = nn.Conv2d(16, 16, 1)  # (B,16,1,1) gate, with bias
        self.conv5a, self.bn5a = conv_bn(8, 8, 3)
        self.conv5b, self.bn5b = conv_bn(8, 8, 3)
        self.mix = nn.Linear(16, 16)  # over channels, channels-last -> MatMul + Add
        gen = torch.Generator().manual_seed(4242)
        self.offset = nn.Parameter(torch.randn((1, 16, 1, 1), generator=gen) * 0.2)
        self.conv6, self.bn6 = conv_bn(16, 16, 3, stride=2)  # 8 -> 4 (even input)
        self.conv7, self.bn7 = conv_bn(8, 16, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = ExportedDropout(0.25)
        self.fc = nn.Linear(16, num_classes)
        self.softmax = nn.Softmax(dim=1)

    def logits(self, x):
        x = F.leaky_relu(self.bn1(self.conv1(x)), 0.1)  # BN -> LeakyRelu
        x = (x - 0.5) / 2.0  # Sub, Div by constants
        x = self.ident(x)
        x = F.hardswish(self.bn2(self.conv2(x)))  # BN -> HardSwish
        x = torch.tanh(self.bn3(self.conv3(x)))  # 18x18
        x = x[:, :, 1:-1, 1:-1]  # Slice, step 1 -> 16x16
        x = self.maxpool(x)
        x = F.pad(x, (1, 1, 1, 1))  # constant Pad -> 10x10
        x = F.relu(self.bn4(self.conv4(x)))  # padding-0 conv -> 8x8
        s = x.mean((2, 3))  # ReduceMean keepdims=0, (B,16)
        s = s.unsqueeze(-1).unsqueeze(-1)  # Unsqueeze -> (B,16,1,1)
        s = F.hardsigmoid(self.gate(s))
        x = x * s  # (B,16,8,8) * (B,16,1,1)
        a, b = torch.split(x, 8, dim=1)  # Split
        a = F.relu(self.bn5a(self.conv5a(a)))
        b = torch.tanh(self.bn5b(self.conv5b(b)))
        x = torch.cat([a, b], 1)  # Concat
        x = self.mix(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)  # Transpose, MatMul, Add, Transpose
        x = x + self.offset  # + (1,16,1,1) parameter
        x = F.relu(self.bn6(self.conv6(x)))  # stride 2, 8 -> 4
        y = F.relu(self.bn7(self.conv7(x[:, :8])))  # channel Slice (first half of 16)
        x = x + y
        x = self.pool(x)  # GlobalAveragePool (B,16,1,1)
        x = x.squeeze(3)  # Squeeze (B,16,1)
        x = self.drop(x)
        x = x.view(x.size(0), -1)  # Shape/Gather/Unsqueeze/Concat/Reshape
        return self.fc(x)

    def forward(self, x):
        return self.softmax(self.logits(x))


# ----------------------------------------------------------------------------------------
# registry, init, BN calibration
# ----------------------------------------------------------------------------------------

# name -> (constructor, input shape (C,H,W))
ARCHITECTURES: Dict[str, Tuple[Callable[[], nn.Module], Tuple[int, int, int]]] = {
    "plain_cnn": (lambda: PlainCNN(in_ch=1, num_classes=10), (1, 28, 28)),
    # widths 12/24/48 (not 16/32/64) so the fixture folder stays < 1.5 MB
    "resnet_basic": (lambda: CifarResNet(BasicBlock, 12, (12, 24, 48), (1, 1, 1), in_ch=1, num_classes=10), (1, 28, 28)),
    # planes 4/8/16 -> block outputs 16/32/64; stage 1 has an identity shortcut (16 -> 16)
    "resnet_bottleneck": (lambda: CifarResNet(Bottleneck, 16, (4, 8, 16), (1, 1, 1), in_ch=1, num_classes=10), (1, 28, 28)),
    "mobilenetv2": (lambda: MobileNetV2Tiny(in_ch=3, num_classes=10), (3, 32, 32)),
    "se_silu": (lambda: SESiLUNet(in_ch=3, num_classes=5), (3, 32, 32)),
    "densenet": (lambda: DenseNetTiny(in_ch=3, num_classes=7), (3, 32, 32)),
    "op_zoo": (lambda: OpZoo(in_ch=3, num_classes=6), (3, 32, 32)),
    # benchmark model (not a parity fixture): CIFAR-style ResNet-18 for 1x28x28 inputs
    "resnet18_fmnist": (lambda: CifarResNet(BasicBlock, 64, (64, 128, 256, 512), (2, 2, 2, 2), in_ch=1, num_classes=10), (1, 28, 28)),
    # the trained reference model (models/fmnist-resnet18, tools/reference/train_resnet18.py):
    # the same network at base width 16 (stages 16/32/64/128), 0.70 M parameters
    "resnet18_fmnist_w16": (lambda: resnet18_cifar(16), (1, 28, 28)),
}

PARITY_ARCHITECTURES = ["plain_cnn", "resnet_basic", "resnet_bottleneck", "mobilenetv2", "se_silu", "densenet", "op_zoo"]


def randomize_(model: nn.Module, gen: torch.Generator) -> None:
    """Kaiming conv weights, random BN affine params (gamma ~ U(0.5,1.5), beta ~ N(0,0.2))."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1] // m.groups
                std = math.sqrt(2.0 / fan_out)  # kaiming_normal_, mode='fan_out', relu
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * std)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.2)
            elif isinstance(m, nn.Linear):
                bound = 1.0 / math.sqrt(m.in_features)
                m.weight.copy_((torch.rand(m.weight.shape, generator=gen) * 2 - 1) * bound * math.sqrt(3.0))
                m.bias.copy_((torch.rand(m.bias.shape, generator=gen) * 2 - 1) * bound)


def calibrate_bn_(model: nn.Module, input_shape, gen: torch.Generator, batches: int = 10, batch_size: int = 16) -> None:
    """Accumulate real running_mean/var: train mode, momentum=None (cumulative average)."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn((batch_size, *input_shape), generator=gen))
    for m, mom in zip(bns, saved):
        m.momentum = mom
    model.eval()


def build(name: str, seed: int = 0, calib_batches: int = 10, calib_batch_size: int = 16) -> nn.Module:
    """Deterministic float32 eval-mode model with random weights and real BN statistics."""
    ctor, shape = ARCHITECTURES[name]
    torch.manual_seed(seed)
    model = ctor()
    gen = torch.Generator().manual_seed(seed * 1000 + 17)
    randomize_(model, gen)
    calibrate_bn_(model, shape, gen, calib_batches, calib_batch_size)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def input_shape(name: str) -> Tuple[int, int, int]:
    return ARCHITECTURES[name][1]
