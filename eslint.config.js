// Lint for bugs, not taste: prettier owns the layout (see .prettierrc.json).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'barysafe-demo/', '.bench/', 'wip/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      'no-empty': ['error', { allowEmptyCatch: true }],
      // Exporting a key that generateKeyPair(Sync) made can deadlock Node: src/crypto/keygen.ts says why.
      'no-restricted-imports': [
        'error',
        ...['node:crypto', 'crypto'].map((name) => ({
          name,
          importNames: ['generateKeyPair', 'generateKeyPairSync'],
          message: 'use src/crypto/keygen.ts: exporting a KeyObject that generateKeyPair(Sync) made can deadlock Node',
        })),
      ],
      'no-restricted-properties': [
        'error',
        ...['generateKeyPair', 'generateKeyPairSync'].map((property) => ({
          property,
          message: 'use src/crypto/keygen.ts: exporting a KeyObject that generateKeyPair(Sync) made can deadlock Node',
        })),
      ],
    },
  },
  {
    // Tests poke at untyped JSON answers and match terminal escapes on purpose.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', 'no-control-regex': 'off', 'no-regex-spaces': 'off' },
  },
  {
    files: ['**/*.mjs', 'scripts/**', 'bin/**'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
