// The request log: every AWS call the fake recognised, keyed `service:Action` (`ecr:GetAuthorizationToken`), so a
// test can assert "the helper answered from its cache" as "no new call was made".
export interface CallRecord {
  service: string;
  action: string;
  /** Epoch milliseconds on the fake's clock. */
  at: number;
  /** 0 when the fault 'down' dropped the connection. */
  status: number;
  errorCode?: string;
  accessKeyId?: string;
  region?: string;
  fault?: string;
}

export class CallLog {
  private readonly records: CallRecord[] = [];

  add(record: CallRecord): void {
    this.records.push(record);
  }

  /** All calls, or those of one `service:Action` key, or of one service (`ecr`). */
  calls(key?: string): CallRecord[] {
    if (!key) return [...this.records];
    return this.records.filter((r) => `${r.service}:${r.action}` === key || r.service === key);
  }

  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of this.records) counts[`${r.service}:${r.action}`] = (counts[`${r.service}:${r.action}`] ?? 0) + 1;
    return counts;
  }

  reset(): void {
    this.records.length = 0;
  }
}
