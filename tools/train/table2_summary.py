"""Mean ± std over seeds of each method's average FPR95 and AUROC (the Table 2 analogue of
docs/RESULTS.md), from the eval reports tools/train/table2_seeds.sh writes.

    python3 tools/train/table2_summary.py [data/seeds/reports]
"""

import glob
import json
import os
import statistics
import sys

LABELS = {"gaia_z": "GAIA-Z", "gaia_a": "GAIA-A", "msp": "MSP", "energy": "Energy", "odin": "ODIN",
          "gradnorm": "GradNorm", "rankfeat": "RankFeat", "react": "ReAct", "mahalanobis": "Mahalanobis"}


def main() -> None:
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join("data", "seeds", "reports")
    reports = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(folder, "eval-*.json")))]
    if len(reports) < 2:
        sys.exit(f"{folder}: need at least two eval-*.json reports, found {len(reports)}")
    acc = [100 * r["id"]["accuracy"] for r in reports]
    print(f"{len(reports)} models ({', '.join(r['model'] for r in reports)}); ID accuracy "
          f"{statistics.mean(acc):.2f} % ± {statistics.stdev(acc):.2f} %\n")
    print("| method | average FPR95 ↓ | average AUROC ↑ |")
    print("|---|---:|---:|")
    for h in reports[0]["heads"]:
        f = [100 * r["average"][h]["fpr95"] for r in reports]
        a = [100 * r["average"][h]["auroc"] for r in reports]
        print(f"| {LABELS.get(h, h)} | {statistics.mean(f):.2f} % ± {statistics.stdev(f):.2f} % | "
              f"{statistics.mean(a):.2f} % ± {statistics.stdev(a):.2f} % |")


if __name__ == "__main__":
    main()
