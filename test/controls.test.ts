// The framework control map covers the whole catalogue, and every check result carries it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { catalogue } from '../src/checks/catalogue.js';
import { CONTROLS, FRAMEWORKS } from '../src/checks/controls.js';

test('every check id maps to controls in soc2, iso27001, nist-800-53 and pci-dss; no stale id', () => {
  const ids = catalogue().map((d) => d.id);
  for (const id of ids) {
    const c = CONTROLS[id];
    assert.ok(c, `${id} has no framework controls`);
    for (const f of FRAMEWORKS) assert.ok((c[f]?.length ?? 0) > 0, `${id} names no ${f} control`);
  }
  assert.deepEqual(
    Object.keys(CONTROLS).filter((id) => !ids.includes(id)),
    [],
    'controls for ids that are not in the catalogue',
  );
  assert.deepEqual(CONTROLS['backup.restore-tested']!.soc2, ['A1.3', 'CC7.5']);
});
