/** Standard normal draws for the tests' synthetic noise: Box–Muller pairs from a seeded uniform generator. */
export function normals(count: number, random: () => number): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - random()));
    const t = 2 * Math.PI * random();
    out[i] = radius * Math.cos(t);
    if (i + 1 < count) out[i + 1] = radius * Math.sin(t);
  }
  return out;
}
