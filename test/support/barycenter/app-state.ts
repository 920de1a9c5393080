import type { Db } from './db.js';
import type { KeyManager } from './keys.js';
import type { Settings } from './settings.js';

export interface AppState {
  settings: Settings;
  issuer: string;
  db: Db;
  keys: KeyManager;
}
