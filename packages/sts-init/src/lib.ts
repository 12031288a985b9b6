/** What cred-refresher shares with sts-init. Not re-exported from index.ts, which the helper's fast path imports. */
export * from './aws-credentials.js';
export * from './config.js';
export * from './errors.js';
export * from './sources.js';
export * from './sts-seam.js';
export * from './ecr-warm.js';
export * from './run.js';
export * from './profile-files.js';
export * from './shell-quote.js';
