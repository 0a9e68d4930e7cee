/**
 * The test process's environment without any GAIA_* variable (a developer's own settings, or
 * the test broker's ports, must not leak into a spawned agent or CLI), plus `extra`.
 */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('GAIA_')) env[k] = v;
  return { ...env, ...extra };
}
