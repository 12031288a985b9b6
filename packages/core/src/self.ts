/**
 * The path of this program when it runs as the one executable (`bun build --compile`), else undefined: tests and
 * scripts run the same sources as TypeScript under Node, where process.execPath is Node itself.
 * Source of the check: https://bun.sh/reference/bun/isStandaloneExecutable (Bun ≥ 1.4).
 */
export function standaloneExecutable(): string | undefined {
  const bun = (globalThis as { Bun?: { isStandaloneExecutable?: boolean } }).Bun;
  return bun?.isStandaloneExecutable ? process.execPath : undefined;
}
