/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  // Type checking is its own step (`npm run typecheck`); jest only transpiles.
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/tsconfig.jest.json", diagnostics: false }] },
  setupFiles: ["<rootDir>/test/setup.ts"],
  testTimeout: 120000,
};
