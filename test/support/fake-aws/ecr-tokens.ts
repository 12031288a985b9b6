// Every ECR password the fake has handed out, so a test can ask which ones a registry should still accept, or be
// told as soon as one is issued (to write an htpasswd file for a stand-in registry).
import { randomBytes } from 'node:crypto';

export interface EcrToken {
  /** The password half of `AWS:<password>`. */
  password: string;
  /** 12-digit registry id, or `public.ecr.aws` for ECR Public. */
  registryId: string;
  region: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  /** The access key that asked for it. */
  accessKeyId: string;
}

export type EcrTokenListener = (token: EcrToken) => void;

export class EcrTokens {
  private readonly issued: EcrToken[] = [];
  private readonly listeners = new Set<EcrTokenListener>();

  constructor(private readonly now: () => number) {}

  issue(fields: Omit<EcrToken, 'password' | 'expiresAt'>, lifetimeSeconds: number): EcrToken {
    // Real passwords are long base64 blobs; the length matters to anything that stores them (htpasswd, cache files).
    const token = { ...fields, password: randomBytes(96).toString('base64'), expiresAt: this.now() + lifetimeSeconds * 1000 };
    this.issued.push(token);
    for (const listener of this.listeners) listener(token);
    return token;
  }

  valid(): EcrToken[] {
    const now = this.now();
    return this.issued.filter((token) => token.expiresAt > now);
  }

  all(): EcrToken[] {
    return [...this.issued];
  }

  /** Returns the function that unsubscribes. */
  onIssue(listener: EcrTokenListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
