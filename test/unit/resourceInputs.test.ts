// Every resource input is documented twice, and neither can drift: each field of each
// provider's Inputs type (read with the TypeScript compiler, inherited fields included) has
// a doc comment, and docs/resources.md lists it under its resource with the change its
// lifecycle contract declares. A new input, or a contract that reclassifies one, fails here
// until both are written.
import * as fs from "fs";
import * as path from "path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import type { LifecycleContract } from "../../components/providers/lifecycle";
import { modulesOverlayLifecycle } from "../../components/providers/modulesOverlay/modulesOverlay";
import { developerContainerLifecycle } from "../../components/providers/developerContainer/developerContainer";
import { moduleBuildLifecycle } from "../../components/providers/moduleBuild/moduleBuild";
import { moduleInstallLifecycle } from "../../components/providers/moduleInstall/moduleInstall";
import { moduleLoadLifecycle } from "../../components/providers/moduleLoad/moduleLoad";
import { hostFactsLifecycle } from "../../components/providers/hostFacts/hostFacts";
import { rebootGateLifecycle } from "../../components/providers/rebootGate/rebootGate";

const repo = path.resolve(__dirname, "../..");
const DOC = path.join(repo, "docs/resources.md");

/** Each resource: the file and Inputs type of its provider, and what a change of each field does. */
const resources: { resource: string; file: string; inputs: string; change: (field: string) => string; otherLabels: string[] }[] = [
  ...[hostFactsLifecycle, modulesOverlayLifecycle, developerContainerLifecycle, moduleBuildLifecycle, moduleInstallLifecycle, moduleLoadLifecycle, rebootGateLifecycle].map((c: LifecycleContract<any, string>) => ({
    resource: c.resource,
    file: ((name) => `components/providers/${name}/${name}.ts`)(`${c.resource[0].toLowerCase()}${c.resource.slice(1)}`),
    inputs: `${c.resource}Inputs`,
    change: (f: string) => declaredChange(c, f),
    otherLabels: (c.updateKinds ?? []).map((r) => `in place: ${r.kind}`),
  })),
];

/** The words docs/resources.md uses for a field's class in a contract. */
function declaredChange(c: LifecycleContract<any, string>, f: string): string {
  if (c.recorded.includes(f)) return "recorded";
  if ((c.readWhenActing ?? []).includes(f)) return "read when acting";
  if (c.elsewhere.includes(f)) return "elsewhere";
  if ((c.exclusive?.fields ?? []).includes(f)) return "exclusive";
  const kind = (c.updateKinds ?? []).find((r) => (r.fields as string[]).includes(f));
  if (c.inPlace.includes(f)) return kind ? `in place: ${kind.kind}` : "in place";
  return "unclassified";
}

// One program for every provider file: the compiler reads the imports they share once.
const program = ts.createProgram(
  resources.map((r) => path.join(repo, r.file)),
  { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, esModuleInterop: true, skipLibCheck: true, noEmit: true },
);

/** Every property of the exported Inputs interface, inherited ones included, with its doc comment. */
function inputFields(file: string, name: string): { field: string; doc: string }[] {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(path.join(repo, file))!;
  const decl = source.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name);
  if (!decl) throw new Error(`${file} has no interface ${name}`);
  return checker.getPropertiesOfType(checker.getTypeAtLocation(decl.name)).map((p) => ({ field: p.name, doc: ts.displayPartsToString(p.getDocumentationComment(checker)).trim() }));
}

/** docs/resources.md's table rows under `## <resource>`: field -> its "a change" cell. */
function documented(resource: string): Map<string, string> {
  const text = fs.readFileSync(DOC, "utf8");
  const at = text.search(new RegExp(`^## ${resource}\\b`, "m"));
  if (at < 0) return new Map();
  const section = text.slice(at).split(/\n## /)[0];
  const rows = new Map<string, string>();
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    const field = /^`(\w+)`$/.exec(cells[1] ?? "");
    if (field) rows.set(field[1], cells[cells.length - 2]);
  }
  return rows;
}

describe.each(resources.map((r) => [r.resource, r] as const))("%s", (_name, r) => {
  const fields = inputFields(r.file, r.inputs);
  const rows = documented(r.resource);

  it("has inputs (the Inputs type was found)", () => expect(fields.length).toBeGreaterThan(4));

  it.each(fields.map((f) => [f.field, f.doc]))("%s has a doc comment in the code", (_field, doc) => {
    expect(doc.length).toBeGreaterThan(10);
  });

  it.each(fields.map((f) => [f.field]))("%s is in docs/resources.md, with the change its contract declares", (field) => {
    expect(rows.has(field), `docs/resources.md, ## ${r.resource}, has no row for \`${field}\``).toBe(true);
    const cell = rows.get(field)!;
    expect(cell.startsWith(r.change(field)), `the row says "${cell}", the contract "${r.change(field)}"`).toBe(true);
    for (const other of r.otherLabels.filter((l) => l !== r.change(field))) expect(cell.startsWith(other)).toBe(false);
  });

  it("docs/resources.md lists no field the inputs do not have", () => {
    expect([...rows.keys()].filter((f) => !fields.some((x) => x.field === f))).toEqual([]);
  });
});
