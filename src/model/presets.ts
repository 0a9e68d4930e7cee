/**
 * Preprocessing presets for `gaia-sentinel init`: the manifest input block that reproduces
 * what a model was trained with. torchvision's ImageNet classifiers: Resize(256) +
 * CenterCrop(224), bilinear with antialiasing, ImageNet mean/std. timm models: their
 * `pretrained_cfg` (input_size, crop_pct, interpolation, mean, std). And the two ways to fit
 * a camera frame without cropping: letterbox (contain) and stretch (fill).
 */
import { ErrorCodes, GaiaError } from '../errors.js';

export const PRESETS = ['torchvision', 'timm', 'letterbox', 'stretch'] as const;
export type PresetName = (typeof PRESETS)[number];

const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

export interface PresetOptions {
  /** Input height and width (default 224x224; timm: its input_size). */
  readonly size?: readonly [number, number];
  readonly channels?: 'rgb' | 'gray';
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
  readonly interpolation?: 'nearest' | 'bilinear' | 'bicubic';
  /** timm: the model's pretrained_cfg (a JSON object), whose fields override the defaults. */
  readonly timm?: Record<string, unknown>;
}

/** The manifest's `input` block (as JSON) for a preset. */
export function presetInput(preset: PresetName, inputName: string, o: PresetOptions = {}): Record<string, unknown> {
  const timm = preset === 'timm' ? timmFields(o.timm) : {};
  const [h, w] = o.size ?? timm.size ?? [224, 224];
  const channels = o.channels ?? 'rgb';
  const c = channels === 'rgb' ? 3 : 1;
  const mean = o.mean ?? timm.mean ?? (c === 3 ? IMAGENET.mean : [0.5]);
  const std = o.std ?? timm.std ?? (c === 3 ? IMAGENET.std : [0.5]);
  const interpolation = o.interpolation ?? timm.interpolation ?? 'bilinear';
  const mode = preset === 'letterbox' ? 'contain' : preset === 'stretch' ? 'fill' : 'cover';
  // torchvision: Resize(256) + CenterCrop(224) keeps 224/256 of the shorter side.
  const crop = preset === 'torchvision' ? 224 / 256 : preset === 'timm' ? (timm.crop ?? 0.875) : undefined;
  return {
    name: inputName,
    dtype: 'float32',
    shape: [null, c, h, w],
    layout: 'NCHW',
    channels,
    ...(channels === 'gray' ? { gray: 'bt601' } : {}),
    resize: { mode, width: w, height: h, interpolation, ...(crop !== undefined && crop !== 1 ? { crop } : {}), ...(mode === 'contain' ? { background: 0 } : {}) },
    scale: 1 / 255,
    mean,
    std,
  };
}

/** The pretrained_cfg fields init reads; a field it cannot use is refused, naming it. */
function timmFields(cfg: Record<string, unknown> | undefined): {
  size?: [number, number];
  crop?: number;
  interpolation?: 'nearest' | 'bilinear' | 'bicubic';
  mean?: number[];
  std?: number[];
} {
  if (!cfg) throw new GaiaError(ErrorCodes.BAD_CONFIG, 'init --preset timm needs --timm-config FILE: the model\'s pretrained_cfg as JSON (timm: json.dump(model.pretrained_cfg, f))');
  const fail = (field: string, why: string): never => {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `--timm-config: pretrained_cfg.${field} ${why}`);
  };
  const out: ReturnType<typeof timmFields> = {};
  const size = cfg.input_size;
  if (size !== undefined) {
    if (!Array.isArray(size) || size.length !== 3 || !size.every((d) => Number.isInteger(d) && d > 0) || size[0] !== 3) fail('input_size', `must be [3, H, W]; got ${JSON.stringify(size)}`);
    out.size = [(size as number[])[1]!, (size as number[])[2]!];
  }
  if (cfg.crop_pct !== undefined) {
    if (!(typeof cfg.crop_pct === 'number' && cfg.crop_pct > 0 && cfg.crop_pct <= 1)) fail('crop_pct', `must be a number in (0, 1]; got ${JSON.stringify(cfg.crop_pct)}`);
    out.crop = cfg.crop_pct as number;
  }
  if (cfg.crop_mode !== undefined && cfg.crop_mode !== 'center') fail('crop_mode', `is ${JSON.stringify(cfg.crop_mode)}; only "center" is supported`);
  if (cfg.interpolation !== undefined) {
    if (!['nearest', 'bilinear', 'bicubic'].includes(cfg.interpolation as string)) fail('interpolation', `must be nearest, bilinear or bicubic; got ${JSON.stringify(cfg.interpolation)}`);
    out.interpolation = cfg.interpolation as 'nearest' | 'bilinear' | 'bicubic';
  }
  for (const key of ['mean', 'std'] as const) {
    const v = cfg[key];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) fail(key, `must be three numbers; got ${JSON.stringify(v)}`);
    out[key] = v as number[];
  }
  return out;
}
