/** The calibration's typical zero ratio per tap: each frame's tap mean over its channels, the median over frames. */
import { expect, it } from 'vitest';
import { tapChannels, typicalZeroRatios } from '../../src/offline/zero-ratios.js';

it('takes the median over frames of each tap\'s mean ratio', () => {
  // Three frames, taps of 1 and 2 channels: tap means (0.1 | 0.5), (0.3 | 0.7), (0.2 | 0.9).
  const flat = Float32Array.from([0.1, 0.4, 0.6, 0.3, 0.6, 0.8, 0.2, 0.9, 0.9]);
  expect(typicalZeroRatios(flat, 3, [1, 2])).toEqual([0.2, 0.7]);
  expect(typicalZeroRatios(flat.subarray(0, 6), 2, [1, 2])).toEqual([0.2, 0.6]);
  expect(typicalZeroRatios(flat, 3, [2, 2])).toBeUndefined();
  expect(tapChannels([{ tensor: 'a', shape: [null, 16, 7, 7], channelAxis: 1 } as never, { tensor: 'b', shape: ['N', 7, 7, 32], channelAxis: 3 } as never])).toEqual([16, 32]);
  expect(tapChannels([{ tensor: 'a' }])).toBeUndefined();
});
