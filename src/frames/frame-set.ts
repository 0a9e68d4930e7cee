/**
 * Offline frame collections for calibrate and eval: a folder of image files (any format
 * sharp reads), or a data set built by scripts/data (IDX images of the model's size).
 * Both go through the agent's own preprocessing.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ErrorCodes, GaiaError } from '../errors.js';
import { readBounded } from '../files.js';
import { readIdx } from './idx.js';
import type { RawImage } from './preprocess.js';

export type SetItem =
  | { readonly id: string; readonly kind: 'encoded'; readonly bytes: Uint8Array }
  | { readonly id: string; readonly kind: 'raw'; readonly pixels: Uint8Array; readonly layout: RawImage };

export interface FrameSet {
  readonly name: string;
  /** Where it came from, for reports. */
  readonly source: string;
  readonly count: number;
  /** Class label per item, where the set has them (IDX labels-idx1-ubyte). */
  readonly labels?: Uint8Array;
  items(): AsyncIterable<SetItem>;
}

const IDX_IMAGES = ['images-idx3-ubyte', 'images-idx3-ubyte.gz'];
const IDX_LABELS = ['labels-idx1-ubyte', 'labels-idx1-ubyte.gz'];

/**
 * Opens a built data set (a folder holding images-idx3-ubyte) or a folder of image files.
 * Files are read up to `maxBytes + 1` bytes (default 8 MiB, frames.maxBytes): a larger one is
 * rejected as too-large by the preprocessing, not read whole.
 */
export async function openFrameSet(path: string, options: { maxBytes?: number } = {}): Promise<FrameSet> {
  let entries: string[];
  try {
    entries = await readdir(path);
  } catch (cause) {
    throw new GaiaError(ErrorCodes.BAD_CONFIG, `data set ${path} cannot be read: ${(cause as Error).message}`, { cause });
  }
  const idx = IDX_IMAGES.find((f) => entries.includes(f));
  const labels = IDX_LABELS.find((f) => entries.includes(f));
  return idx ? idxSet(path, join(path, idx), labels && join(path, labels)) : folderSet(path, entries, options.maxBytes ?? 8 * 1024 * 1024);
}

async function idxSet(dir: string, file: string, labelFile: string | undefined): Promise<FrameSet> {
  const { dims, data } = await readIdx(file);
  if (dims.length !== 3) throw new GaiaError(ErrorCodes.BAD_CONFIG, `${file}: expected N x H x W images, got dims [${dims.join(', ')}]`);
  const [n, h, w] = dims as [number, number, number];
  const labels = labelFile ? (await readIdx(labelFile)).data : undefined;
  if (labels && labels.length !== n) throw new GaiaError(ErrorCodes.BAD_CONFIG, `${labelFile} has ${labels.length} labels for ${n} images`);
  const name = basename(dir);
  return {
    name,
    source: file,
    count: n,
    ...(labels ? { labels } : {}),
    async *items() {
      for (let i = 0; i < n; i++) {
        yield { id: `${name}[${i}]`, kind: 'raw', pixels: data.subarray(i * h * w, (i + 1) * h * w), layout: { width: w, height: h, channels: 1 } };
      }
    },
  };
}

async function folderSet(dir: string, entries: string[], maxBytes: number): Promise<FrameSet> {
  // Every regular file counts, so that a stray non-image file is reported, not skipped.
  const files: string[] = [];
  for (const name of entries.sort()) {
    if (name.startsWith('.') || name === 'manifest.json' || name.endsWith('.md')) continue;
    if ((await stat(join(dir, name))).isFile()) files.push(name);
  }
  if (files.length === 0) throw new GaiaError(ErrorCodes.BAD_CONFIG, `data set ${dir} holds no files`);
  return {
    name: basename(dir),
    source: dir,
    count: files.length,
    async *items() {
      for (const name of files) yield { id: join(dir, name), kind: 'encoded', bytes: await readBounded(join(dir, name), maxBytes) };
    },
  };
}
