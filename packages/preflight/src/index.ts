/** The preflight, free of the SDK until a run needs it (sdk.ts is imported dynamically by run.ts). */
export * from './api.js';
export * from './checks.js';
export * from './config.js';
export * from './fix.js';
export * from './run.js';
