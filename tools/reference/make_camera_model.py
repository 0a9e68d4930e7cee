"""A small RGB classifier at 224x224 for the "your model" walkthrough test
(test/cli/your-model.test.ts, docs/YOUR-MODEL.md): a user's own export, as torch.onnx.export
writes it, not one of the bundled 28x28 packages. Four conv-BN-ReLU stages, global average
pooling and a linear layer over 6 classes; random weights (seed 0), with BatchNorm statistics
gathered on smooth random images so that activations are well scaled. The test needs a model
whose scores vary from frame to frame, not a good one: the calibration is conformal.

    /usr/bin/python3 tools/reference/make_camera_model.py   # → test/fixtures/camera-model/
"""
import os

import torch
from torch import nn

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "camera-model")


def stage(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class CameraNet(nn.Module):
    def __init__(self, classes=6):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 7, 4, 3, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.body = nn.Sequential(stage(16, 24, 2), stage(24, 32, 2), stage(32, 48, 2), stage(48, 64, 1))
        self.head = nn.Linear(64, classes)

    def forward(self, x):
        x = self.body(self.stem(x))
        return self.head(x.mean(dim=(2, 3)))


def main():
    torch.manual_seed(0)
    net = CameraNet()
    net.train()
    with torch.no_grad():
        for _ in range(20):
            low = torch.rand(16, 3, 14, 14)
            x = nn.functional.interpolate(low, size=(224, 224), mode="bilinear", align_corners=False)
            net((x - 0.45) / 0.225)
    net.eval()
    os.makedirs(OUT, exist_ok=True)
    torch.onnx.export(
        net,
        torch.zeros(1, 3, 224, 224),
        os.path.join(OUT, "model.onnx"),
        input_names=["image"],
        output_names=["class_logits"],
        dynamic_axes={"image": {0: "batch"}, "class_logits": {0: "batch"}},
        opset_version=17,
    )
    with open(os.path.join(OUT, "labels.txt"), "w") as f:
        f.write("\n".join(["dock", "gate", "yard", "ramp", "lane", "bay"]) + "\n")
    print("wrote", os.path.join(OUT, "model.onnx"), "torch", torch.__version__)


if __name__ == "__main__":
    main()
