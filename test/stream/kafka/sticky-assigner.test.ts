/** The sticky assignment, pure (issue #10, defect 9): members keep what they own up to their share; only the rest moves. */
import { describe, expect, it } from 'vitest';
import { stickyAssign } from '../../../src/stream/kafka/sticky-assigner.js';

const T = 'frames';
const P = { [T]: [0, 1, 2, 3, 4, 5] };
const layout = (m: Map<string, Record<string, number[]>>) => Object.fromEntries([...m].map(([id, a]) => [id, [...(a[T] ?? [])].sort((x, y) => x - y)]));

describe('stickyAssign', () => {
  it('deals a fresh group evenly', () => {
    const out = layout(stickyAssign(P, [{ memberId: 'a', owned: {} }, { memberId: 'b', owned: {} }]));
    expect(out.a!.length).toBe(3);
    expect([...out.a!, ...out.b!].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('lets a joining member take only the partitions it must, from the member that holds too many', () => {
    const out = layout(stickyAssign(P, [{ memberId: 'a', owned: { [T]: [4, 5, 0, 1, 2, 3] } }, { memberId: 'new', owned: {} }]));
    // a keeps the three it held longest; the new member gets the three a had taken over.
    expect(out).toEqual({ a: [0, 4, 5], new: [1, 2, 3] });
  });

  it('moves nothing when the members already own a balanced assignment, whatever their ids', () => {
    const members = [
      { memberId: 'z-9', owned: { [T]: [0, 2, 4] } },
      { memberId: 'a-1', owned: { [T]: [1, 3, 5] } },
    ];
    expect(layout(stickyAssign(P, members))).toEqual({ 'z-9': [0, 2, 4], 'a-1': [1, 3, 5] });
  });

  it('gives every partition exactly once even when stale claims overlap or name partitions that are gone', () => {
    const out = layout(stickyAssign(P, [{ memberId: 'a', owned: { [T]: [0, 1, 2, 9] } }, { memberId: 'b', owned: { [T]: [2, 3, 4] } }, { memberId: 'c', owned: {} }]));
    expect(Object.values(out).flat().sort()).toEqual([0, 1, 2, 3, 4, 5]);
    for (const ps of Object.values(out)) expect(ps.length).toBe(2);
    expect(out.a).toEqual([0, 1]);
    expect(out.b).toEqual([2, 3]);
  });
});
