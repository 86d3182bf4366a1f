// Unit and integration tests (vitest): `npx vitest run`.
// ORT integration tests load the real pack in public/models/soundstep-small: long timeouts.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
