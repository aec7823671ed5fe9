// Vitest config: unit tests of the pure modules only (src/**/*.test.ts[x]), in node; e2e/ is Playwright's.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    exclude: ["node_modules/**", "dist/**", "e2e/**"],
    environment: "node",
  },
});
