// ESLint flat config: what lint can hold of STYLE.md (R3, R6, R19).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Named exports only (STYLE.md R3).' },
        { selector: 'TSEnumDeclaration', message: 'Use an `as const` object plus a union type (STYLE.md R3).' },
        {
          selector: "CallExpression[callee.property.name='removeAllListeners'][arguments.length=0]",
          message: 'Name the event (STYLE.md R13).',
        },
      ],
      'max-lines': ['warn', { max: 400, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // Exported functions of the sources declare their return types (STYLE.md R2).
    files: ['packages/*/src/**/*.ts'],
    rules: {
      '@typescript-eslint/explicit-module-boundary-types': 'error',
      'no-console': 'error',
    },
  },
  {
    // Time and randomness are injected into logic (STYLE.md R6); only clocks and composition roots touch them.
    files: ['packages/*/src/**/*.ts'],
    ignores: ['packages/*/src/**/clock.ts', 'packages/*/src/**/main.ts', 'packages/*/src/**/bin.ts', 'packages/demo/src/**'],
    rules: {
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Take a Clock (STYLE.md R6).' },
        { name: 'setInterval', message: 'Take a Clock (STYLE.md R6).' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Take a random source (STYLE.md R6).' },
        { object: 'Date', property: 'now', message: 'Take a Clock (STYLE.md R6).' },
      ],
    },
  },
  {
    // bin.ts may print a start-up failure before a logger exists; the demo is a terminal program.
    files: ['packages/*/src/**/bin.ts', 'packages/demo/src/**/*.ts', 'bench/**', 'test/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { ...globals.node } },
  },
  {
    // guest-agent's status page: plain browser JavaScript served as is (no build step, issue 15).
    files: ['packages/*/ui/**/*.js'],
    languageOptions: { globals: { ...globals.browser }, sourceType: 'module' },
  },
  {
    files: ['**/*.config.ts', '**/*.config.js'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
