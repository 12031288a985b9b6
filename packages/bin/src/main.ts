/**
 * The one executable. The role is the name it was called by (`docker-credential-ecr-login`, `sts-init`,
 * `cred-refresher`, through links) or its first argument (`docker-credential-ecr-login sts-init --dir …`,
 * `docker-credential-ecr-login preflight`).
 * The helper and `credential-process` are imported statically: they must answer in milliseconds. The long-running
 * roles are imported dynamically: in the one bundle, a module reached only through import() is evaluated when first
 * imported, so a warm `get` never evaluates the AWS SDK or the roles it does not run.
 */
import { basename } from 'node:path';
import { standaloneExecutable, writeOut } from '@ecr-proxy/core';
import { debuggerRequest, ignoreDebugSignals } from './runtime-guard.js';
import { helperMain } from '@ecr-proxy/credential-helper';
import { credentialProcessMain } from '@ecr-proxy/sts-init';

type Role = 'docker-credential-ecr-login' | 'sts-init' | 'cred-refresher' | 'credential-process' | 'preflight';
const ROLES: readonly Role[] = ['docker-credential-ecr-login', 'sts-init', 'cred-refresher', 'credential-process', 'preflight'];

export function chooseRole(invokedAs: string, args: readonly string[]): { role: Role; args: readonly string[] } {
  const first = args[0] as Role | undefined;
  if (first && ROLES.includes(first) && first !== 'docker-credential-ecr-login') return { role: first, args: args.slice(1) };
  const name = basename(invokedAs) as Role;
  return { role: ROLES.includes(name) ? name : 'docker-credential-ecr-login', args };
}

async function run(role: Role, args: readonly string[]): Promise<number> {
  switch (role) {
    case 'docker-credential-ecr-login': {
      const outcome = await helperMain(args, process.env);
      await writeOut(1, outcome.stdout);
      if (outcome.stderr) await writeOut(2, outcome.stderr);
      return outcome.exitCode;
    }
    case 'credential-process': {
      const outcome = await credentialProcessMain(args, process.env);
      await writeOut(1, outcome.stdout);
      await writeOut(2, outcome.stderr);
      return outcome.exitCode;
    }
    case 'sts-init':
      return (await import('@ecr-proxy/sts-init/main')).stsInitMain(args, process.env);
    case 'cred-refresher':
      return (await import('@ecr-proxy/cred-refresher/main')).refresherMain(args, process.env);
    case 'preflight':
      return (await import('@ecr-proxy/preflight/main')).preflightMain(args, process.env);
  }
}

/**
 * Who was called, and with what. As the one executable, argv[1] is the bundle's virtual path and process.argv0 the
 * name it was called by (a link's name, e.g. `sts-init`); run as a script, argv[1] is the script.
 */
export function invocation(argv: readonly string[], standalone: boolean, argv0: string) {
  return standalone ? { invokedAs: argv0, args: argv.slice(2) } : { invokedAs: argv[1] ?? '', args: argv.slice(2) };
}

export async function main(): Promise<void> {
  const { invokedAs, args } = invocation(process.argv, standaloneExecutable() !== undefined, process.argv0);
  const { role, args: roleArgs } = chooseRole(invokedAs, args);
  const inspect = debuggerRequest(process.env);
  if (inspect) {
    await writeOut(2, `${role}: ${inspect} is set and would change how the runtime runs this process (a debugger, profiles, preloaded code), which holds AWS credentials; unset it\n`);
    process.exit(2);
  }
  ignoreDebugSignals((signal, listener) => process.on(signal, listener));
  const code = await run(role, roleArgs);
  // The one-shot roles have written their output with write(2) already (core's stdio.ts): exit at once, so pending
  // SDK sockets or timers cannot keep them alive, and without building the stdout stream just to flush it.
  if (role === 'docker-credential-ecr-login' || role === 'credential-process') process.exit(code);
  // Flush stdout before exiting: pending SDK sockets or timers must not keep a one-shot role alive.
  process.stdout.write('', () => process.exit(code));
}
