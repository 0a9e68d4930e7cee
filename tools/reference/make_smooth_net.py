"""A small SiLU network (no op with a zero-derivative region between its BN taps and the
logits), random He-initialised weights and BN statistics from training-mode passes, so its
features and logits do vary between frames while every GAIA-Z zero ratio is 1: the
fixture of test/calibration/gaia-z-uninformative.test.ts.

    /opt/torchenv/bin/python tools/reference/make_smooth_net.py test/fixtures/smooth-net/model.onnx
"""
import sys

import torch
from torch import nn


def smooth_net() -> nn.Module:
    def block(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout), nn.SiLU())

    return nn.Sequential(block(3, 16), block(16, 32), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))


def main(out: str) -> None:
    torch.manual_seed(0)
    model = smooth_net()
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.rand(32, 3, 32, 32) * 4 - 2)
    model.eval()
    torch.onnx.export(model, (torch.zeros(1, 3, 32, 32),), out, dynamo=False, opset_version=17,
                      input_names=["input"], output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})


if __name__ == "__main__":
    main(sys.argv[1])
