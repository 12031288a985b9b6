/** The executable credential_process should run: this one, when it is the single executable (not node + a script). */
export function selfExecutable(): string | undefined {
  try {
    const sea = (process as unknown as { getBuiltinModule?: (id: string) => { isSea(): boolean } | undefined }).getBuiltinModule?.('node:sea');
    return sea?.isSea() ? process.execPath : undefined;
  } catch {
    return undefined;
  }
}
