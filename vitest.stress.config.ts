import { defineConfig } from "vitest/config"

/**
 * `npm run test:stress`: the reliability suite's long or timing-sensitive tests
 * (test/reliability/*.stress.ts), one file at a time so that they do not load the machine
 * for one another. They drive the built CLI (the script builds it first).
 */
export default defineConfig({
  test: {
    include: ["test/reliability/**/*.stress.ts"],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 60_000
  }
})
