/**
 * `aws-config` and `aws-credentials`: one profile, no keys, whose `credential_process` runs our executable.
 * Written with `ini`, then read back: a value `ini` would quote or escape (which AWS SDKs would not undo) is refused.
 */
import { join } from 'node:path';
import { parse, stringify } from 'ini';
import { ConfigError, writeFileAtomic } from '@ecr-proxy/core';

export const CONFIG_FILE = 'aws-config';
export const SHARED_CREDENTIALS_FILE = 'aws-credentials';

export interface ProfileInit {
  profile: string;
  command: string;
  region: string;
}

function section(name: string, values: Record<string, string>): string {
  const text = stringify({ [name]: values }, { whitespace: true });
  const back = parse(text) as Record<string, Record<string, string>>;
  for (const [key, value] of Object.entries(values)) {
    const line = `${key} = ${value}`;
    if (back[name]?.[key] !== value || !text.split('\n').includes(line)) {
      throw new ConfigError(`${key} "${value}" cannot be written into an AWS config file unchanged; use plain paths`);
    }
  }
  return text;
}

export function renderProfiles(init: ProfileInit): { config: string; credentials: string } {
  if (/[\r\n]/.test(init.command)) throw new ConfigError('credential_process command: must be one line');
  const header = '# Written by sts-init. No keys here: credential_process answers from credentials.json, which cred-refresher keeps fresh.\n';
  const configSection = init.profile === 'default' ? 'default' : `profile ${init.profile}`;
  return {
    config: header + section(configSection, { credential_process: init.command, region: init.region }),
    credentials: header + section(init.profile, { credential_process: init.command }),
  };
}

export async function writeProfiles(dir: string, init: ProfileInit, mode: number): Promise<void> {
  const { config, credentials } = renderProfiles(init);
  await writeFileAtomic(join(dir, CONFIG_FILE), config, { mode });
  await writeFileAtomic(join(dir, SHARED_CREDENTIALS_FILE), credentials, { mode });
}
