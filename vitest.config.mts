import { defineConfig } from "vitest/config";

// One project per kind of test, so each can be run alone (`vitest run --project unit`).
// Everything slower than unit tests talks to real things: sshd on loopback, Debian's
// kernel trees, QEMU guests, the Pulumi engine.
export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts", "kernel/**/*.test.ts"], testTimeout: 20_000 } },
      { test: { name: "provider", include: ["test/provider/**/*.test.ts"], testTimeout: 120_000, hookTimeout: 180_000, fileParallelism: false } },
      // A real OCI registry on loopback (docker-registry) and the oras CLI (npm run oras:toolchain).
      { test: { name: "registry", include: ["test/registry/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 60_000, fileParallelism: false } },
      { test: { name: "kernel", include: ["test/kernel/**/*.test.ts"], testTimeout: 900_000, hookTimeout: 1_200_000, fileParallelism: false } },
      { test: { name: "fleet", include: ["test/fleet/**/*.test.ts"], testTimeout: 900_000, hookTimeout: 1_800_000, fileParallelism: false } },
      // One tarball for the project's files (globalSetup packs it), used one file at a time.
      { test: { name: "package", include: ["test/package/**/*.test.ts"], globalSetup: ["test/package/globalSetup.ts"], testTimeout: 60_000, hookTimeout: 300_000, fileParallelism: false } },
      // `npm run bench:scale -- --hosts 10` on a simulated fleet (sshd per host on loopback, no VM).
      { test: { name: "scale", include: ["test/scale/**/*.test.ts"], testTimeout: 600_000, fileParallelism: false } },
      { test: { name: "e2e", include: ["test/e2e/**/*.test.ts"], testTimeout: 1_800_000, hookTimeout: 1_800_000, fileParallelism: false } },
    ],
  },
});
