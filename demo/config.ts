// The demo's stack config: the running test fleet (from `testbed stack-config`) with one
// out-of-tree module set of two modules, pair_consumer using a symbol pair_provider exports.
// The e2e lifecycle test starts from the same stack.

export const DEMO_MODULES = ["pair_provider", "pair_consumer"];
export const DEMO_GREETING = "hello-from-the-demo";

export function demoModuleSet() {
  return {
    name: "kmod-pair",
    source: { dir: "dev/testbed/fixtures/kmod-pair" },
    load: DEMO_MODULES,
    parameters: { pair_consumer: { greeting: DEMO_GREETING } },
  };
}

/** `fleet` is the value `testbed stack-config` prints. */
export function demoFleetConfig(fleet: Record<string, unknown>, moduleSets: unknown[] = [demoModuleSet()]): Record<string, unknown> {
  return { ...fleet, moduleSets };
}
