// The folders are layers (docs/architecture.md, "The layers"): a file imports only from its
// own layer and the ones the table allows, so that what talks to a host (host/) knows
// nothing of Pulumi components, the kernel analysis stays pure, and no product file
// reaches into the development tooling. Type-only imports count too: they are still edges.
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";

const root = path.join(__dirname, "..", "..");

/** Layer -> the layers its files may import (its own always). Most specific prefix wins. */
const ALLOWED: Record<string, string[]> = {
  "config/": [],
  "kernel/": [],
  "kernel/disk/": ["kernel/"],
  "artifacts/": ["config/defaults.ts", "config/hostPaths.ts"],
  "host/": ["config/"],
  "components/plan/": ["artifacts/store.ts", "config/"],
  "components/providers/": ["components/plan/", "host/", "config/", "artifacts/", "kernel/inTreePlan.ts", "kernel/preflight.ts"],
  "components/": ["components/plan/", "components/providers/", "host/", "config/", "artifacts/"],
  "bin/": ["kernel/", "kernel/disk/", "components/providers/hostFacts/signing.ts"],
  "library.ts": ["components/", "components/plan/", "config/", "artifacts/", "kernel/"],
  "index.ts": ["components/", "config/"],
};

const layerOf = (file: string): string | undefined =>
  Object.keys(ALLOWED)
    .filter((l) => file === l || file.startsWith(l))
    .sort((a, b) => b.length - a.length)[0];

function productFiles(): string[] {
  const top = ["index.ts", "library.ts"];
  const dirs = ["config", "kernel", "artifacts", "host", "components", "bin"];
  return [
    ...top,
    ...dirs.flatMap((d) =>
      fs
        .readdirSync(path.join(root, d), { recursive: true })
        .map((f) => path.join(d, String(f)))
        .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts")),
    ),
  ];
}

/** Every relative import of a file, as a path from the repository's root. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(root, file), "utf8");
  return [...text.matchAll(/(?:from|require\(|import\()\s*"(\.{1,2}\/[^"]+)"/g)].map((m) => {
    const target = path.join(path.dirname(file), m[1]);
    return fs.existsSync(path.join(root, `${target}.ts`)) ? `${target}.ts` : `${target}/index.ts`;
  });
}

describe("folders by layer", () => {
  it("every product file is in a layer, and imports only from its own layer or one it may use", () => {
    const wrong: string[] = [];
    for (const file of productFiles()) {
      const layer = layerOf(file);
      if (!layer) {
        wrong.push(`${file}: in no layer`);
        continue;
      }
      for (const target of importsOf(file)) {
        const ok = layerOf(target) === layer || ALLOWED[layer].some((a) => (a.endsWith("/") ? layerOf(target) === a : target === a));
        if (!ok) wrong.push(`${file} imports ${target}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("no product file imports the development tooling or the tests", () => {
    const wrong = productFiles().flatMap((file) => importsOf(file).filter((t) => /^(dev|test|demo|examples)\//.test(t)).map((t) => `${file} imports ${t}`));
    expect(wrong).toEqual([]);
  });
});
