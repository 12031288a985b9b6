export * from './env.js';
export * from './log.js';
export * from './atomic-write.js';
export * from './lock.js';
export * from './backoff.js';
export * from './deadline.js';
export * from './ensure-dir.js';
