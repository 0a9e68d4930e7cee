/** A frame as a source delivers it: still encoded, with where it came from. */
export interface Frame {
  /** Source id (the Kafka message key; the folder name for replay). */
  readonly source: string;
  /** Frame id (the frame-id header; the file name for replay). */
  readonly id: string;
  readonly bytes: Uint8Array;
  /** Capture time in ms since the epoch, when known. */
  readonly ts?: number;
}

/** Where frames come from: Kafka, or a replay of files. */
export interface FrameSource {
  frames(): AsyncIterable<Frame>;
  close(): Promise<void>;
}
