import { main } from './main.js';

// A listener keeps SIGUSR1 from opening the inspector (and from killing the process) whatever runtime built us;
// the build also passes --disable-sigusr1 and ignores NODE_OPTIONS (scripts/build.mjs).
process.on('SIGUSR1', () => {});

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
});
