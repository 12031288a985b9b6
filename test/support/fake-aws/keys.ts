// The table of access keys the fake knows: temporary keys it issued through STS (which expire) and static keys from
// the options (which never do). Every signed call, and the S3 enforcer, asks this table about the caller's key.
import { randomBytes } from 'node:crypto';

export type KeyStatus = 'valid' | 'expired' | 'unknown';

export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  roleArn: string;
  sessionName: string;
  accountId: string;
}

export interface StaticKey {
  accessKeyId: string;
  secretAccessKey?: string;
  accountId?: string;
}

export interface KeyLookup {
  status: KeyStatus;
  accountId?: string;
  issued?: IssuedCredentials;
}

const ALPHANUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** `ASIA` + 16 characters, as STS's temporary keys look; tests and logs can tell them from static `AKIA` keys. */
function temporaryAccessKeyId(): string {
  return 'ASIA' + Array.from(randomBytes(16), (b) => ALPHANUM[b % ALPHANUM.length]).join('');
}

export class KeyTable {
  private readonly issued = new Map<string, IssuedCredentials>();
  private readonly statics = new Map<string, StaticKey>();

  constructor(
    private readonly now: () => number,
    staticKeys: Array<string | StaticKey>,
    private readonly defaultAccountId: string,
  ) {
    for (const key of staticKeys) this.addStaticKey(key);
  }

  addStaticKey(key: string | StaticKey): void {
    const entry = typeof key === 'string' ? { accessKeyId: key } : key;
    this.statics.set(entry.accessKeyId, entry);
  }

  issue(fields: { roleArn: string; sessionName: string; accountId: string; lifetimeSeconds: number }): IssuedCredentials {
    const credentials: IssuedCredentials = {
      accessKeyId: temporaryAccessKeyId(),
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: 'FwoGZXIvYXdzE' + randomBytes(96).toString('base64'),
      expiresAt: this.now() + fields.lifetimeSeconds * 1000,
      roleArn: fields.roleArn,
      sessionName: fields.sessionName,
      accountId: fields.accountId,
    };
    this.issued.set(credentials.accessKeyId, credentials);
    return credentials;
  }

  lookup(accessKeyId: string): KeyLookup {
    const fixed = this.statics.get(accessKeyId);
    if (fixed) return { status: 'valid', accountId: fixed.accountId ?? this.defaultAccountId };
    const issued = this.issued.get(accessKeyId);
    if (!issued) return { status: 'unknown' };
    return { status: issued.expiresAt > this.now() ? 'valid' : 'expired', accountId: issued.accountId, issued };
  }

  status(accessKeyId: string): KeyStatus {
    return this.lookup(accessKeyId).status;
  }

  list(): IssuedCredentials[] {
    return [...this.issued.values()];
  }
}
