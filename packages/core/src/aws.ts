/**
 * AWS SDK client settings shared by every role. This module imports the SDK, so only code on a path that really makes
 * an AWS call reaches it (through a dynamic import), and a warm cache hit never pays for loading the SDK.
 */
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import { fullJitter } from './backoff.js';

export interface ClientSettings {
  /** Absent: the SDK's own lookup (AWS_REGION, then the profile). */
  region?: string;
  /** Attempts per call, first one included. Throttling, 5xx and network errors are retried; the caller's deadline
   * (an AbortSignal on each command) bounds the whole. */
  maxAttempts?: number;
}

export function clientConfig(settings: ClientSettings) {
  const maxAttempts = settings.maxAttempts ?? 6;
  return {
    ...(settings.region === undefined ? {} : { region: settings.region }),
    maxAttempts,
    retryStrategy: new ConfiguredRetryStrategy(maxAttempts, (attempt: number) => 50 + fullJitter(attempt, 100, 4000)),
    // Without these a black-holed endpoint holds a call until the OS gives up, minutes later.
    requestHandler: { connectionTimeout: 3000, requestTimeout: 10_000, throwOnRequestTimeout: true },
  };
}
