/**
 * The scratch PostgreSQL database of a drill: a fresh database on drill.postgres_url's server, or
 * one in a throwaway local cluster. `drop()` removes it and proves it is gone (or throws why not).
 */
export interface ScratchDatabase {
  /** Connection URL (holds a password: print only `display`). */
  url: string;
  display: string;
  kind: 'server' | 'local-cluster';
  drop(): Promise<string>;
}
