export * from './credentials-file.js';
export * from './credential-process.js';
