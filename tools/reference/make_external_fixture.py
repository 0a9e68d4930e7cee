"""Writes test/fixtures/external/dynamo_tiny: a tiny BN CNN exported with torch.onnx.export's
default (dynamo) exporter exactly as torch writes it (model.onnx + model.onnx.data beside it),
its input, and PyTorch's logits for it. Offline fixture generation only; tests never run Python.

    /opt/torchenv/bin/python tools/reference/make_external_fixture.py
"""
import os
import numpy as np
import torch
from torch import nn

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "external", "dynamo_tiny")


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
            nn.Conv2d(4, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        )
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        return self.fc(self.features(x).mean((2, 3)))


def main():
    torch.manual_seed(0)
    model = Tiny()
    for m in model.modules():  # non-trivial BN statistics, so folding matters
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    model.eval()
    x = torch.randn(3, 1, 8, 8)
    os.makedirs(OUT, exist_ok=True)
    batch = torch.export.Dim("batch")
    torch.onnx.export(model, (x,), os.path.join(OUT, "model.onnx"), dynamic_shapes=({0: batch},))
    with torch.no_grad():
        logits = model(x).numpy()
    np.save(os.path.join(OUT, "input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(OUT, "logits.npy"), logits.astype(np.float32))
    print(sorted(os.listdir(OUT)), torch.__version__)


if __name__ == "__main__":
    main()
