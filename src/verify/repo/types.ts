import type { VerifyRecord } from '../../repository/verify-record.js';

/** What `barysafe verify` returns: the stored record plus what only this run needs to report. */
export interface VerifyResult extends VerifyRecord {
  record_key: string | null;
  record_error?: string;
  evidence?: { key: string; sequence: number };
  /** The objects whose data this run read (downloaded, decrypted, parsed). */
  read: string[];
  /** What --max-egress left unread. */
  left: Array<{ snapshot: string; object: string; size: number }>;
  /** The slice the next auto run reads, for auto/t. */
  next_slice?: number;
}
