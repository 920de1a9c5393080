import type { CheckDefinition } from '../types.js';
import { checks as adminApi } from './admin-api.js';
import { checks as consent } from './consent.js';
import { checks as credentials } from './credentials.js';
import { checks as keys } from './keys.js';
import { checks as secrets } from './secrets.js';

/** The security.* section, one file per kind of evidence: passwords, keys, secrets, consent, exposure. */
export const checks: CheckDefinition[] = [...credentials, ...consent, ...keys, ...secrets, ...adminApi];
