"""Golden values for the detection metrics, computed the way the official GAIA metrics code
does (docs/DEFINITIONS.md), independently of the TypeScript implementation:

  t      = sort(s_id)[round(0.05 * n_id)]          (Python's round: half to even)
  FPR95  = mean(s_ood > t)
  AUROC  = trapezoidal area under the ROC curve built from every distinct threshold,
           ID as the positive class (what sklearn.metrics.roc_auc_score computes)

    /usr/bin/python3 tools/reference/metrics_fixture.py   # -> test/fixtures/metrics/official.json
"""
import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "metrics", "official.json")


def threshold(s_id):
    return float(np.sort(s_id)[round(0.05 * len(s_id))])


def fpr95(s_id, s_ood):
    return float(np.mean(np.asarray(s_ood) > threshold(s_id)))


def auroc(s_id, s_ood):
    scores = np.concatenate([s_id, s_ood])
    labels = np.concatenate([np.ones(len(s_id)), np.zeros(len(s_ood))])
    order = np.argsort(-scores, kind="mergesort")
    scores, labels = scores[order], labels[order]
    # One ROC point per distinct score (ties move TPR and FPR together).
    last_of_group = np.r_[np.diff(scores) != 0, True]
    tps = np.cumsum(labels)[last_of_group]
    fps = np.cumsum(1 - labels)[last_of_group]
    tpr = np.r_[0, tps / len(s_id)]
    fpr = np.r_[0, fps / len(s_ood)]
    return float(np.trapz(tpr, fpr))


def main():
    rng = np.random.default_rng(20231126)
    cases = []
    for n_id, n_ood, decimals, shift in [(10, 7, 1, 0.5), (50, 40, 1, 0.3), (90, 30, 0, 1.0), (130, 130, 2, 0.2),
                                         (5000, 3000, 2, 0.8), (21, 13, 0, 0.0), (1000, 1000, 3, 2.5)]:
        s_id = np.round(rng.normal(shift, 1.0, n_id), decimals)
        s_ood = np.round(rng.normal(0.0, 1.0, n_ood), decimals)
        cases.append((f"normal n_id={n_id} n_ood={n_ood} rounded to {decimals} decimals", s_id, s_ood))
    cases.append(("all scores equal", np.full(20, 0.5), np.full(10, 0.5)))
    cases.append(("perfect separation", np.arange(10, 30, dtype=float), np.arange(0, 10, dtype=float)))
    cases.append(("perfectly wrong", np.arange(0, 10, dtype=float), np.arange(10, 30, dtype=float)))
    out = [
        {"name": name, "id": s_id.tolist(), "ood": s_ood.tolist(),
         "threshold": threshold(s_id), "fpr95": fpr95(s_id, s_ood), "auroc": auroc(s_id, s_ood)}
        for name, s_id, s_ood in cases
    ]
    with open(OUT, "w") as f:
        json.dump({"generator": "tools/reference/metrics_fixture.py", "numpy": np.__version__, "cases": out}, f)
    print(f"wrote {len(out)} cases to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
