/**
 * Replays image files as a frame stream: each folder is one source, its files in name
 * order. The default replays a model package's bundled samples (id, then ood), so a
 * newcomer sees in-distribution frames and then out-of-distribution ones with no broker.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { ErrorCodes, GaiaError } from '../errors.js';
import type { Frame, FrameSource } from './frame.js';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.bmp']);

export interface ReplayFolder {
  readonly source: string;
  readonly dir: string;
}

export class ReplaySource implements FrameSource {
  private closed = false;

  private constructor(private readonly files: ReadonlyArray<{ source: string; path: string }>) {}

  static async create(folders: readonly ReplayFolder[]): Promise<ReplaySource> {
    const files: Array<{ source: string; path: string }> = [];
    for (const { source, dir } of folders) {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (cause) {
        throw new GaiaError(ErrorCodes.BAD_CONFIG, `replay folder ${dir} cannot be read: ${(cause as Error).message}`, { cause });
      }
      const images = names.filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase())).sort();
      if (images.length === 0) throw new GaiaError(ErrorCodes.BAD_CONFIG, `replay folder ${dir} holds no image files (${[...IMAGE_EXTENSIONS].join(' ')})`);
      files.push(...images.map((n) => ({ source, path: join(dir, n) })));
    }
    return new ReplaySource(files);
  }

  /** Folders named after their source: "samples/id" replays as source "id". */
  static folders(dirs: readonly string[]): ReplayFolder[] {
    return dirs.map((dir) => ({ source: basename(dir), dir }));
  }

  get count(): number {
    return this.files.length;
  }

  async *frames(): AsyncIterable<Frame> {
    for (const { source, path } of this.files) {
      if (this.closed) return;
      yield { source, id: basename(path), bytes: await readFile(path), ts: Date.now() };
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
