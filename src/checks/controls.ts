/**
 * Which framework controls each check serves, for the auditor's control matrix. Keyed by check id
 * (ids never change); test/controls.test.ts keeps it complete. Identifiers: SOC 2 Trust Services
 * Criteria (2017), ISO/IEC 27001:2022 Annex A, NIST SP 800-53 Rev. 5, PCI DSS v4.0.1. The mapping is
 * barysafe's reading of which requirement a check produces evidence for; an assessor decides.
 */
export const FRAMEWORKS = ['soc2', 'iso27001', 'nist-800-53', 'pci-dss'] as const;
export type Framework = (typeof FRAMEWORKS)[number];
export type FrameworkControls = Partial<Record<Framework, string[]>>;

const c = (soc2: string[], iso27001: string[], nist: string[], pci: string[]): FrameworkControls => ({
  soc2,
  iso27001,
  'nist-800-53': nist,
  'pci-dss': pci,
});

export const CONTROLS: Record<string, FrameworkControls> = {
  'config.public-base-url-https': c(['CC6.7'], ['A.8.24'], ['SC-8', 'SC-23'], ['4.2.1']),
  'config.tls-terminated': c(['CC6.7'], ['A.8.20', 'A.8.24'], ['SC-8', 'SC-7'], ['4.2.1']),
  'config.database': c(['A1.2'], ['A.8.14'], ['CP-10'], ['12.10.1']),
  'logging.level': c(['CC7.2'], ['A.8.15'], ['AU-2', 'AU-3'], ['10.2.1']),
  'logging.forwarded': c(['CC7.2'], ['A.8.15', 'A.8.16'], ['AU-4(1)', 'AU-6'], ['10.3.3', '10.5.1']),
  'storage.data-dir-persistent': c(['A1.2'], ['A.8.13'], ['CP-9', 'CP-10'], ['12.10.1']),
  'storage.data-dir-writable': c(['A1.2'], ['A.8.9'], ['CM-6'], ['2.2.1']),
  'backup.private-key': c(['A1.2', 'CC7.5'], ['A.8.13', 'A.8.24'], ['CP-9', 'SC-12(1)'], ['3.6.1', '3.7.4']),
  'backup.database': c(['A1.2', 'CC7.5'], ['A.8.13'], ['CP-9', 'CP-9(8)'], ['12.10.1']),
  'backup.config': c(['A1.2'], ['A.8.13', 'A.8.9'], ['CP-9', 'CM-2(3)'], ['12.10.1']),
  'backup.restore-tested': c(
    ['A1.3', 'CC7.5'],
    ['A.8.13', 'A.5.30'],
    ['CP-4', 'CP-4(3)', 'CP-9(1)', 'CP-9(2)'],
    ['12.10.2'],
  ),
  'backup.key-age': c(['CC6.1'], ['A.8.24'], ['SC-12'], ['3.6.4', '3.7.4']),
  'backup.object-lock': c(['A1.2', 'CC6.1'], ['A.8.13'], ['CP-9', 'CP-9(7)'], ['12.10.1']),
  'backup.rollback': c(['CC7.2', 'A1.2'], ['A.8.13', 'A.8.16'], ['CP-9', 'SI-7'], ['10.7.1', '12.10.1']),
  'permissions.private-key': c(['CC6.1'], ['A.8.24', 'A.5.15'], ['AC-6', 'SC-12'], ['3.6.1', '7.2.1']),
  'permissions.config': c(['CC6.1'], ['A.8.9', 'A.5.15'], ['AC-6', 'CM-6'], ['7.2.1']),
  'permissions.data-dir': c(['CC6.1'], ['A.5.15'], ['AC-6'], ['7.2.1']),
  'process.non-root': c(['CC6.1'], ['A.8.2'], ['AC-6', 'CM-7'], ['2.2.6', '7.2.2']),
  'container.no-new-privileges': c(['CC6.8'], ['A.8.9'], ['AC-6', 'CM-7'], ['2.2.6']),
  'container.read-only-rootfs': c(['CC6.8'], ['A.8.9'], ['CM-7', 'SI-7'], ['2.2.6']),
  'container.capabilities-dropped': c(['CC6.8'], ['A.8.9'], ['AC-6', 'CM-7'], ['2.2.6']),
  'container.pod-security-restricted': c(['CC6.8'], ['A.8.9'], ['CM-6', 'CM-7'], ['2.2.1']),
  'network.public-ports': c(['CC6.6'], ['A.8.20'], ['SC-7', 'CM-7'], ['1.3.1']),
  'network.firewall': c(['CC6.6'], ['A.8.20', 'A.8.22'], ['SC-7'], ['1.2.1', '1.3.1']),
  'network.authz-network-policy': c(['CC6.6'], ['A.8.22'], ['SC-7', 'AC-4'], ['1.3.1']),
  'monitoring.health-check': c(['A1.1', 'CC7.2'], ['A.8.16'], ['SI-4'], ['10.7.1']),
  'monitoring.disk-usage': c(['A1.1'], ['A.8.6'], ['SC-5', 'AU-5'], ['10.7.1']),
  'monitoring.certificate-expiry': c(['CC6.7'], ['A.8.24'], ['SC-17', 'SC-12'], ['4.2.1.1']),
  'monitoring.background-jobs': c(['CC7.2'], ['A.8.16'], ['SI-4'], ['10.7.1']),
  'clients.review': c(['CC6.2', 'CC6.3'], ['A.5.18'], ['AC-2', 'AC-2(3)'], ['7.2.4']),
  'clients.redirect-uris-https': c(['CC6.7'], ['A.8.24', 'A.8.26'], ['SC-8', 'IA-2'], ['4.2.1', '6.2.4']),
  'security.default-admin-password': c(['CC6.1'], ['A.5.17'], ['IA-5', 'IA-5(1)'], ['2.2.2', '8.3.5']),
  'security.skip-consent': c(['CC6.1'], ['A.8.26'], ['AC-3', 'CM-6'], ['6.2.4']),
  'security.jwks-matches-key': c(['CC6.7', 'CC7.5'], ['A.8.24'], ['SC-12', 'SC-12(1)'], ['3.6.1', '3.7.4']),
  'security.key-strength': c(['CC6.1'], ['A.8.24'], ['SC-12', 'SC-13'], ['3.6.1', '4.2.1']),
  'security.demo-users': c(['CC6.1'], ['A.5.17'], ['IA-5', 'AC-2'], ['2.2.2', '8.3.5']),
  'security.secrets-in-config': c(['CC6.1'], ['A.5.17', 'A.8.24'], ['IA-5(7)', 'SC-28'], ['8.3.2', '8.6.2']),
  'security.admin-api-exposure': c(['CC6.6', 'CC6.1'], ['A.8.20', 'A.8.5'], ['AC-3', 'SC-7'], ['1.3.1', '7.2.1']),
};

export function controlsFor(id: string): FrameworkControls {
  return CONTROLS[id] ?? {};
}
