"""Fixtures for test/compile/baselines-parity.test.ts in test/fixtures/parity/<arch>/baselines/.

    /usr/bin/python3 tools/reference/make_baseline_fixtures.py [--arch NAME ...]

Seeded and idempotent. Uses the same models as make_fixtures.py (architectures.build(name,
seed=0)) and checks that their logits equal the committed logits.npy, so the scores belong
to the committed model.onnx. Writes:

    stats_features.npy  (N, D) penultimate features of N seeded random "training" inputs
    stats_labels.npy    (N,) float64 labels (i mod classes: every class has samples)
    react_threshold.npy, class_means.npy, precision.npy   float64 statistics from them
    features.npy        penultimate features of input.npy
    gradnorm.npy, odin.npy, odin_eps0.npy, [odin_std.npy for 3-channel inputs], react.npy,
    rankfeat.npy (exact SVD), mahalanobis.npy, gaia_a_*.npy   scores of input.npy
and for the post-GAIA heads (sota_reference.py; test/compile/sota-parity.test.ts):
    knn_bank.npy, train_mean.npy, vim_origin.npy, vim_basis.npy, vim_alpha.npy   float64 statistics
    knn.npy, fdbd.npy, vim.npy, gen.npy, scale.npy   float64 scores of input.npy
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import architectures as A  # noqa: E402
import baselines_reference as R  # noqa: E402
import sota_reference as S  # noqa: E402

ROOT = os.path.join(HERE, "..", "..", "test", "fixtures", "parity")
ARCHS = ["plain_cnn", "resnet_basic", "resnet_bottleneck", "mobilenetv2", "densenet"]
STATS_FRAMES = 256
STATS_SEED = 4321
CIFAR_STD = (0.2470, 0.2435, 0.2616)
KNN_K = 5
SCALE_PERCENTILE = 85


def committed_models(description: str):
    """Per architecture asked on the command line (--arch, default every one): its name, its
    baselines folder (created), the committed model, input.npy and the model's logits, checked
    against the committed logits.npy so that the fixtures belong to the committed model.onnx."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--arch", action="append")
    args = p.parse_args()
    torch.set_num_threads(1)
    for name in args.arch or ARCHS:
        d = os.path.join(ROOT, name)
        out = os.path.join(d, "baselines")
        os.makedirs(out, exist_ok=True)
        model = A.build(name, seed=0)
        x = torch.from_numpy(np.load(os.path.join(d, "input.npy")))
        logits = R.G.logits_of(model, x).detach()
        ref = torch.from_numpy(np.load(os.path.join(d, "logits.npy")))
        assert (logits - ref).abs().max() <= 1e-5 * ref.abs().max(), f"{name}: the model is not the committed one"
        yield name, out, model, x, logits


def main() -> None:
    for name, out, model, x, logits in committed_models(__doc__):
        num_classes = logits.shape[1]

        gen = torch.Generator().manual_seed(STATS_SEED)
        train = torch.randn((STATS_FRAMES, *A.input_shape(name)), generator=gen)
        feats = R.penultimate(model, train)
        labels = torch.arange(STATS_FRAMES) % num_classes
        tau = R.react_threshold(feats)
        means, precision = R.mahalanobis_stats(feats, labels, num_classes)

        save = lambda n, v: np.save(os.path.join(out, f"{n}.npy"), v)  # noqa: E731
        save("stats_features", feats.numpy().astype(np.float32))
        save("stats_labels", labels.numpy().astype(np.float64))
        save("react_threshold", np.array([tau], dtype=np.float64))
        save("class_means", means.numpy())
        save("precision", precision.numpy())
        save("features", R.penultimate(model, x).numpy().astype(np.float32))
        save("gradnorm", R.gradnorm(model, x).numpy().astype(np.float32))
        save("odin", R.odin(model, x).numpy().astype(np.float32))
        save("odin_eps0", R.odin(model, x, epsilon=0.0).numpy().astype(np.float32))
        if x.shape[1] == 3:
            save("odin_std", R.odin(model, x, std=CIFAR_STD).numpy().astype(np.float32))
        save("react", R.react(model, x, tau).numpy().astype(np.float32))
        save("rankfeat", R.rankfeat(model, x).numpy().astype(np.float32))
        save("mahalanobis", R.mahalanobis(model, x, means, precision).numpy())
        for k, v in R.gaia_a_variants(model, x).items():
            save(k, v.numpy().astype(np.float32))
        vim_dim = feats.shape[1] // 2
        u, ns, alpha = S.vim_stats(model, feats, vim_dim)
        bank = S.knn_bank(feats)
        train_mean = feats.double().mean(dim=0).numpy()
        save("knn_bank", bank)
        save("train_mean", train_mean)
        save("vim_origin", u)
        save("vim_basis", ns)
        save("vim_alpha", np.array([alpha], dtype=np.float64))
        save("knn", S.knn(model, x, bank, KNN_K))
        save("fdbd", S.fdbd(model, x, train_mean))
        save("vim", S.vim(model, x, u, ns, alpha))
        save("gen", S.gen(model, x))
        save("scale", S.scale(model, x, SCALE_PERCENTILE))
        with open(os.path.join(out, "sota_settings.json"), "w") as f:
            json.dump({"knn_k": KNN_K, "vim_dim": vim_dim, "scale_percentile": SCALE_PERCENTILE, "gen": {"gamma": 0.1, "m": 100}}, f, indent=1)
        with open(os.path.join(out, "settings.json"), "w") as f:
            json.dump({"odin": {"temperature": 1000, "epsilon": 0.004, "std": list(CIFAR_STD) if x.shape[1] == 3 else []},
                       "stats_frames": STATS_FRAMES, "react_percentile": 90,
                       "cov_condition": float(np.linalg.cond(np.linalg.pinv(precision.numpy())))}, f, indent=1)
        print(f"{name}: D={feats.shape[1]} tau={tau:.4f} gradnorm={np.load(os.path.join(out, 'gradnorm.npy')).round(4)}")


if __name__ == "__main__":
    main()
