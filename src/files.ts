/**
 * File reads and writes with the failures users meet named as GAIA_IO: a folder that is
 * not writable or is full, a path that is not a folder. And reads bounded in size, so that
 * a huge file in a replay or data folder costs at most the frame limit, never its whole
 * size in memory (or a RangeError past 2 GiB that would abort the run).
 */
import { access, open, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ErrorCodes, GaiaError } from './errors.js';

/** Whether a path exists (and is reachable). */
export const fileExists = (path: string): Promise<boolean> => access(path).then(
  () => true,
  () => false,
);

/** Writes a file (creating its folder), or throws GAIA_IO naming the path and the reason. */
export async function writeOutput(path: string, data: string | Uint8Array): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, data);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const hint = code === 'ENOSPC' ? ' (the disk is full)' : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? ' (not writable)' : '';
    throw new GaiaError(ErrorCodes.IO, `cannot write ${path}${hint}: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Reads a file's first `maxBytes + 1` bytes at most: a result longer than `maxBytes` means
 * the file is larger (the frame limit then rejects it as too-large) without reading the rest.
 */
export async function readBounded(path: string, maxBytes: number): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
    const { size } = await handle.stat();
    const buffer = Buffer.alloc(Math.min(size, maxBytes + 1));
    let read = 0;
    while (read < buffer.length) {
      const { bytesRead } = await handle.read(buffer, read, buffer.length - read, read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return buffer.subarray(0, read);
  } catch (cause) {
    throw new GaiaError(ErrorCodes.IO, `cannot read ${path}: ${(cause as Error).message}`, { cause });
  } finally {
    await handle?.close();
  }
}
