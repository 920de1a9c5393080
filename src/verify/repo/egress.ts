/**
 * `--max-egress`: a download budget. Every read (manifests, ranged header reads, bodies) is
 * counted; a body is started only when it fits in what is left, so the run stops before the
 * budget is exceeded, never after, and says what it did not read.
 */
export class EgressBudget {
  used = 0;
  constructor(readonly limit: number | null) {}

  /** Takes `bytes` from the budget if they fit (before the read starts); false, and nothing taken, if not. */
  reserve(bytes: number): boolean {
    if (this.limit !== null && this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  /** Corrects a reservation by what was really read (a ranged read can return fewer bytes). */
  settle(reserved: number, actual: number): void {
    this.used += actual - reserved;
  }

  /** Counts a read that is not optional (a manifest: without it nothing can be checked). */
  add(bytes: number): void {
    this.used += bytes;
  }
}
