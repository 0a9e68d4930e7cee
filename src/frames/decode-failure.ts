/**
 * What a dead letter says when libvips fails a frame: the format (from the bytes), the size
 * (from the header, when it was read), the stage that failed, and libvips' own words when it
 * has any. Those words cannot be relied on alone: libvips keeps one error buffer per
 * process and sharp clears it after every image, so with several frames decoding at once a
 * frame's error often reads only "Unknown error" (or carries another frame's text). The
 * format, size and stage are found by the agent itself, per frame.
 */
import type { ImageFormat } from './sniff.js';

/** header: the header could not be read; decode: the pixels; resize: colour conversion and resizing. */
export type DecodeStage = 'header' | 'decode' | 'resize';

/** Texts sharp puts in place of libvips' message when the error buffer was empty. */
const NO_TEXT = new Set(['', 'Unknown error', 'Warning treated as error due to failOn setting']);
/** Enough of libvips' text to name the problem; the dead-letter message is capped at 1024 characters. */
const MAX_TEXT = 400;

/** libvips' message, its lines deduplicated, or undefined when it says nothing beyond "Unknown error". */
export function libvipsText(err: unknown): string | undefined {
  const message = err instanceof Error ? err.message : String(err);
  const lines = [...new Set(message.split('\n').map((l) => l.trim()))].filter((l) => !NO_TEXT.has(l));
  if (lines.length === 0) return undefined;
  const text = lines.join('; ');
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 3)}...` : text;
}

/** Trailing zero bytes some encoders pad with, after the end marker. */
function trimmedEnd(b: Uint8Array): number {
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  return end;
}

/**
 * True when the bytes stop before the format's end marker: the frame was cut (a partial
 * write, a size limit on the way). Formats without a marker checked here say false.
 */
export function endsEarly(format: ImageFormat, b: Uint8Array): boolean {
  const end = trimmedEnd(b);
  switch (format) {
    case 'jpeg':
      return !(end >= 2 && b[end - 2] === 0xff && b[end - 1] === 0xd9); // EOI
    case 'png':
      return !(b.length >= 12 && Buffer.from(b.buffer, b.byteOffset + b.length - 8, 4).toString('latin1') === 'IEND');
    case 'gif':
      return !(end >= 1 && b[end - 1] === 0x3b); // trailer
    case 'webp':
      return b.length < 12 || Buffer.from(b.buffer, b.byteOffset, b.length).readUInt32LE(4) + 8 > b.length; // RIFF size
    default:
      return false;
  }
}

export interface FailureContext {
  readonly format: ImageFormat;
  /** From the header, when it could be read. */
  readonly width?: number;
  readonly height?: number;
}

/** "jpeg frame 640x480" (the size when the header was read). */
export function frameName(c: FailureContext): string {
  return c.width && c.height ? `${c.format} frame ${c.width}x${c.height}` : `${c.format} frame`;
}

/** The words of libvips, or that it gave none. */
export function saidBy(err: unknown): string {
  const text = libvipsText(err);
  return text === undefined ? 'libvips gave no reason' : `libvips: ${text}`;
}

/** A frame that could not be decoded even ignoring errors in its data. */
export function undecodableMessage(c: FailureContext, stage: DecodeStage, err: unknown): string {
  const what = { header: 'its header could not be read', decode: 'its data could not be decoded', resize: 'it decoded, but could not be converted and resized' }[stage];
  return `${frameName(c)} could not be decoded as an image: ${what} (stage ${stage}); ${saidBy(err)}`;
}

/** A frame whose header is valid and whose data decodes only with its errors ignored. */
export function damagedMessage(c: FailureContext, truncated: boolean, err: unknown): string {
  const what = truncated ? `truncated: its bytes end before the ${c.format.toUpperCase()} end marker` : 'corrupt: libvips reported errors in its data';
  return `${frameName(c)} is damaged (stage decode): its header is valid but its data is ${what}; ${saidBy(err)}`;
}
