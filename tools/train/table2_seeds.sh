#!/bin/sh
# The Table 2 analogue of docs/RESULTS.md: the reference model (tools/reference/train_resnet18.py)
# trained with seeds 1..3 on a much smaller budget (EPOCHS=1 epoch of STEPS=150 steps of 128
# images, 19,200 images, instead of 12 full epochs), each evaluated with the methods that
# need no feature statistics (STATS=1: also calibrate with --stats-data and add ReAct and
# Mahalanobis). Outputs under OUT (default data/seeds/, ignored by git).
#
#   /usr/bin/python3 scripts/data/build_sets.py && npm run build
#   PYTHON=/opt/torchenv/bin/python tools/train/table2_seeds.sh
set -eu
PYTHON=${PYTHON:-/usr/bin/python3}
EPOCHS=${EPOCHS:-1}
STEPS=${STEPS:-150}
STATS=${STATS:-0}
OUT=${OUT:-data/seeds}
if [ "$STATS" = 1 ]; then
  METHODS=${METHODS:-gaia_z,gaia_a,msp,energy,react,gradnorm,rankfeat,mahalanobis}
else
  METHODS=${METHODS:-gaia_z,gaia_a,msp,energy,gradnorm,rankfeat}
fi
for seed in ${SEEDS:-1 2 3}; do
  dir=$OUT/fmnist-resnet18-s$seed
  "$PYTHON" tools/reference/train_resnet18.py --seed "$seed" --epochs "$EPOCHS" --max-steps "$STEPS" --threads 1 \
    --out-dir "$dir" --checkpoint "$OUT/s$seed.pt"
  # a name of its own: calibration/fmnist-resnet18.json belongs to the seed-0 model
  sed -i "s/\"name\": \"fmnist-resnet18\"/\"name\": \"fmnist-resnet18-s$seed\"/" "$dir/manifest.json"
  calibration=
  if [ "$STATS" = 1 ]; then
    node bin/gaia-sentinel.js calibrate --model "$dir" --data data/sets/fmnist-calib --stats-data data/sets/fmnist-train \
      --methods "$METHODS" --out "$OUT/calibration-s$seed.json"
    calibration="--calibration $OUT/calibration-s$seed.json"
  fi
  # shellcheck disable=SC2086
  node bin/gaia-sentinel.js eval --model "$dir" --methods "$METHODS" $calibration --id data/sets/fmnist-eval \
    --ood data/sets/digits --ood data/sets/photos --ood data/sets/textures --ood data/sets/noise \
    --out-dir "$OUT/reports"
done
