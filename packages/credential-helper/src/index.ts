export * from './registry-host.js';
export * from './partitions.js';
export * from './cache-key.js';
export * from './cache.js';
export * from './ecr-token.js';
export * from './get-credentials.js';
export * from './protocol.js';
export * from './config.js';
export { helperMain } from './main.js';
