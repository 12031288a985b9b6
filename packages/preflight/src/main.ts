/**
 * `docker-credential-ecr-login preflight [flags]`: the checks with whatever credentials the SDK's default chain
 * finds (a workstation's profile, or inside the registry container the credential_process profile sts-init wrote),
 * never EC2 instance metadata unless --allow-instance-role / ECR_LOGIN_ALLOW_INSTANCE_ROLE=true, as the helper.
 * Exit 0 when every check passed, 1 when one failed, 2 on bad configuration, 143/130 when SIGTERM/SIGINT interrupted
 * the checks (the probe is removed first).
 */
import { ConfigError, type Env } from '@ecr-proxy/core';
import { fenceInstanceMetadata } from '@ecr-proxy/credential-helper';
import { preflightConfig } from './config.js';
import { interruptSignal } from './checks.js';
import { runPreflight } from './run.js';

export async function preflightMain(argv: readonly string[], env: Env): Promise<number> {
  try {
    const config = preflightConfig(argv, env);
    // The helper's rule: a profile that fails must not end, through the default chain, at the node's role.
    fenceInstanceMetadata(config.allowInstanceRole);
    // SIGTERM/SIGINT abort the checks and still remove the probe; the exit code then says the run was interrupted.
    const interrupt = interruptSignal();
    try {
      const report = await runPreflight(config, { signal: interrupt.signal, write: (line) => process.stdout.write(`${line}\n`) });
      return interrupt.exitCode() ?? (report.ok ? 0 : 1);
    } finally {
      interrupt.dispose();
    }
  } catch (err) {
    const line = err instanceof ConfigError ? err.message : `${(err as Error).name}: ${(err as Error).message}`.replace(/\s+/g, ' ');
    process.stderr.write(`preflight: ${line}\n`);
    return err instanceof ConfigError ? 2 : 1;
  }
}
