/**
 * A synthetic 1080p camera for the input-head tests: in-distribution frames are random
 * 16:9 crops of OpenCV's sample photographs (Debian opencv-doc), scaled to 1920×1080 with a
 * little exposure jitter and JPEG-encoded at varying quality, as one camera's views of a
 * changing scene; the faults are what a broken camera sends instead (black, white, capped,
 * half covered, defocused, noisy). Deterministic for a seed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { mulberry32 } from '../../src/detect/calibration.js';
import { normals } from './normals.js';

export const OPENCV_DATA = '/usr/share/doc/opencv-doc/examples/data';
/** Natural photographs of opencv-doc (no logos, charts or calibration boards). */
export const CAMERA_PHOTOS = ['aero1.jpg', 'aero3.jpg', 'baboon.jpg', 'building.jpg', 'butterfly.jpg', 'fruits.jpg', 'home.jpg', 'leuvenA.jpg', 'leuvenB.jpg', 'messi5.jpg', 'orange.jpg', 'apple.jpg'];

export const hasCameraPhotos = (): boolean => CAMERA_PHOTOS.every((f) => existsSync(join(OPENCV_DATA, f)));

const W = 1920;
const H = 1080;

/** The seeded PRNG calibrations use (detect/calibration.ts), under the name the tests know. */
export const rng = mulberry32;

/** The photographs, decoded once. */
const photos = new Map<string, { data: Buffer; width: number; height: number }>();

async function photo(name: string): Promise<{ data: Buffer; width: number; height: number }> {
  let p = photos.get(name);
  if (!p) {
    const { data, info } = await sharp(join(OPENCV_DATA, name)).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    p = { data, width: info.width, height: info.height };
    photos.set(name, p);
  }
  return p;
}

/** One in-distribution view (raw RGB at 1920×1080), before encoding. */
async function view(random: () => number): Promise<Buffer> {
  const { data: src, width, height } = await photo(CAMERA_PHOTOS[Math.floor(random() * CAMERA_PHOTOS.length)]!);
  // The largest 16:9 box, scaled to 60-100 % of it, somewhere in the photo.
  const fullW = Math.min(width, Math.floor((height * 16) / 9));
  const scale = 0.6 + 0.4 * random();
  const w = Math.max(32, Math.floor(fullW * scale));
  const h = Math.max(18, Math.floor((w * 9) / 16));
  const left = Math.floor(random() * (width - w + 1));
  const top = Math.floor(random() * (height - h + 1));
  const gain = 0.9 + 0.2 * random();
  return sharp(src, { raw: { width, height, channels: 3 } })
    .extract({ left, top, width: w, height: h })
    .resize(W, H, { fit: 'fill', kernel: 'linear' })
    .linear(gain, 0)
    .raw()
    .toBuffer();
}

const rawImage = (data: Buffer) => sharp(data, { raw: { width: W, height: H, channels: 3 } });
const jpeg = (img: sharp.Sharp, random: () => number) => img.jpeg({ quality: 80 + Math.floor(12 * random()) }).toBuffer();

/** `count` in-distribution frames (JPEG bytes) of the camera, from `seed`. */
export async function cameraFrames(count: number, seed: number): Promise<Buffer[]> {
  const random = rng(seed);
  const out: Buffer[] = [];
  for (let k = 0; k < count; k++) out.push(await jpeg(rawImage(await view(random)), random));
  return out;
}

export const CAMERA_FAULTS = ['black', 'white', 'capped', 'half-covered', 'defocused', 'noisy'] as const;
export type CameraFault = (typeof CAMERA_FAULTS)[number];

/** The noisy camera's noise, in grey levels per pixel and channel at 1080p. */
const SENSOR_NOISE = 40;

const clampByte = (v: number) => Math.min(255, Math.max(0, Math.round(v)));

/** One frame of a camera with `fault`, JPEG at 1920×1080. */
export async function faultFrame(fault: CameraFault, seed: number): Promise<Buffer> {
  const random = rng(seed);
  const flat = (v: number) => sharp({ create: { width: W, height: H, channels: 3, background: { r: v, g: v, b: v } } });
  if (fault === 'black') return jpeg(flat(Math.floor(3 * random())), random);
  if (fault === 'white') return jpeg(flat(255 - Math.floor(3 * random())), random);
  if (fault === 'capped') {
    // A lens cap lets a faint glow in at one side: dark, smooth, no detail.
    const glow = Buffer.alloc(W * H * 3);
    const level = 6 + 10 * random();
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) glow.fill(Math.round(level * (x / W)), (y * W + x) * 3, (y * W + x) * 3 + 3);
    return jpeg(sharp(glow, { raw: { width: W, height: H, channels: 3 } }), random);
  }
  const scene = await view(random);
  if (fault === 'defocused') return jpeg(rawImage(scene).blur(24), random);
  if (fault === 'noisy') {
    // A sensor at its highest gain in the dark, or picking up interference: Gaussian noise of
    // SENSOR_NOISE grey levels on every pixel and channel, over a dimmed scene.
    const z = normals(scene.length, random);
    for (let i = 0; i < scene.length; i++) scene[i] = clampByte(0.5 * scene[i]! + SENSOR_NOISE * z[i]!);
    return jpeg(rawImage(scene), random);
  }
  // half-covered: an obstruction over the left half (tape, a fallen sign): flat dark grey.
  for (let y = 0; y < H; y++) scene.fill(20, y * W * 3, (y * W + W / 2) * 3);
  return jpeg(rawImage(scene), random);
}
