// Jest runs in native ESM (node --experimental-vm-modules) with @swc/jest compiling TypeScript to ESM.
const swc = [
  '@swc/jest',
  {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2024', experimental: { keepImportAttributes: true } },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];

const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^#core/(.*)\\.js$': '<rootDir>/functions/core/$1.ts',
    '^#adapters/(.*)\\.js$': '<rootDir>/functions/adapters/$1.ts',
    '^#shared/(.*)\\.js$': '<rootDir>/functions/shared/$1.ts',
    '^#lib/(.*)\\.js$': '<rootDir>/lib/$1.ts',
    '^#local/(.*)\\.js$': '<rootDir>/local/$1.ts',
    '^#test/(.*)\\.js$': '<rootDir>/test/$1.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testEnvironment: 'node',
  setupFiles: ['<rootDir>/test/helpers/quiet-logs.ts'],
};

/** @type {import('jest').Config} */
export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'handlers', testMatch: ['<rootDir>/test/handlers/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    { ...common, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
  ],
};
