import type { CheckDefinition } from './types.js';
import { checks as backupChecks } from './backup.js';
import { checks as clientChecks } from './clients.js';
import { checks as configChecks } from './config.js';
import { checks as containerChecks } from './container.js';
import { checks as monitoringChecks } from './monitoring.js';
import { checks as networkChecks } from './network.js';
import { checks as permissionChecks } from './permissions.js';
import { checks as loggingChecks } from './logging.js';
import { checks as processChecks } from './process.js';
import { checks as securityChecks } from './security/index.js';
import { checks as storageChecks } from './storage.js';

/**
 * The catalogue in the order of Barycenter's production checklist. Ids are stable: they
 * key waivers, SARIF rules and CI history, so an id is never renamed, only retired.
 */
export const CATALOGUE_ORDER = [
  'config.public-base-url-https',
  'config.tls-terminated',
  'config.database',
  'logging.level',
  'logging.forwarded',
  'storage.data-dir-persistent',
  'storage.data-dir-writable',
  'backup.private-key',
  'backup.database',
  'backup.config',
  'backup.restore-tested',
  'backup.key-age',
  'backup.object-lock',
  'backup.rollback',
  'permissions.private-key',
  'permissions.config',
  'permissions.data-dir',
  'process.non-root',
  'container.no-new-privileges',
  'container.read-only-rootfs',
  'container.capabilities-dropped',
  'container.pod-security-restricted',
  'network.public-ports',
  'network.firewall',
  'network.authz-network-policy',
  'monitoring.health-check',
  'monitoring.disk-usage',
  'monitoring.certificate-expiry',
  'monitoring.background-jobs',
  'clients.review',
  'clients.redirect-uris-https',
  'security.default-admin-password',
  'security.skip-consent',
  'security.jwks-matches-key',
  'security.key-strength',
  'security.demo-users',
  'security.secrets-in-config',
  'security.admin-api-exposure',
] as const;

/** Every definition, in checklist order; ids a module adds beyond the list follow, sorted. */
export function catalogue(): CheckDefinition[] {
  const all = [
    ...configChecks,
    ...loggingChecks,
    ...processChecks,
    ...storageChecks,
    ...backupChecks,
    ...permissionChecks,
    ...containerChecks,
    ...networkChecks,
    ...monitoringChecks,
    ...clientChecks,
    ...securityChecks,
  ];
  const seen = new Set<string>();
  for (const d of all) {
    if (seen.has(d.id)) throw new Error(`duplicate check id ${d.id}`);
    seen.add(d.id);
  }
  const rank = (id: string) => {
    const i = (CATALOGUE_ORDER as readonly string[]).indexOf(id);
    return i === -1 ? CATALOGUE_ORDER.length : i;
  };
  return all.sort((a, b) => rank(a.id) - rank(b.id) || a.id.localeCompare(b.id));
}

/** Selects `--only` ids; an unknown id is an error the caller reports as bad usage. */
export function selectChecks(
  all: CheckDefinition[],
  only: string[] | undefined,
): { selected: CheckDefinition[]; unknown: string[] } {
  if (!only || only.length === 0) return { selected: all, unknown: [] };
  const known = new Set(all.map((d) => d.id));
  const unknown = only.filter((id) => !known.has(id));
  // A section name ("backup") selects the whole section.
  const want = (d: CheckDefinition) => only.includes(d.id) || only.includes(d.section);
  const sections = new Set(all.map((d) => d.section));
  return { selected: all.filter(want), unknown: unknown.filter((id) => !sections.has(id)) };
}
