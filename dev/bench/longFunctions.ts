/**
 * Lists the product code's functions over a number of lines (default 80), longest first:
 * TypeScript functions, methods, constructors and arrow functions (measured with the
 * TypeScript compiler's parser), and in the host scripts bash functions and case branches
 * (a branch of `case` is a function by another name). A long one either is split where a
 * name explains the part, or has its reason written next to it.
 *
 *   npx tsx dev/bench/longFunctions.ts [lines]
 *
 * The bash side reads lines, not a grammar: a heredoc's text counts as part of its function.
 */
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

const REPO = path.resolve(__dirname, "..", "..");
const PRODUCT = ["index.ts", "library.ts", "config", "components", "host", "artifacts", "kernel", "bin"];
const limit = Number(process.argv[2] ?? 80);

interface Long {
  lines: number;
  where: string;
  name: string;
}

function filesUnder(p: string): string[] {
  if (!fs.existsSync(p)) return [];
  if (!fs.statSync(p).isDirectory()) return [p];
  return fs.readdirSync(p).flatMap((f) => filesUnder(path.join(p, f)));
}

function nameOf(n: ts.FunctionLikeDeclaration, sf: ts.SourceFile): string {
  if (ts.isConstructorDeclaration(n)) return `${(n.parent as ts.ClassDeclaration).name?.getText(sf) ?? "class"}.constructor`;
  if (n.name) return n.name.getText(sf);
  const p = n.parent;
  if (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) return p.name.getText(sf);
  return "(anonymous)";
}

function typescriptFunctions(rel: string, text: string): Long[] {
  const sf = ts.createSourceFile(rel, text, ts.ScriptTarget.Latest, true);
  const out: Long[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isFunctionLike(n) && (n as ts.FunctionLikeDeclaration).body) {
      const first = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
      const last = sf.getLineAndCharacterOfPosition(n.end).line + 1;
      out.push({ lines: last - first + 1, where: `${rel}:${first}-${last}`, name: nameOf(n as ts.FunctionLikeDeclaration, sf) });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

const CASE_START = /^\s*case\b.*\bin\s*$/;
const CASE_END = /^\s*esac\b/;

/** The line that ends a case branch starting at `from`: its `;;` outside nested cases. */
function branchEnd(lines: string[], from: number): number | undefined {
  for (let j = from + 1, inner = 0; j < lines.length; j++) {
    if (CASE_START.test(lines[j])) inner++;
    if (CASE_END.test(lines[j])) inner--;
    if (inner === 0 && /;;\s*$/.test(lines[j])) return j;
  }
  return undefined;
}

function bashFunctions(rel: string, text: string): Long[] {
  const lines = text.split("\n");
  const out: Long[] = [];
  let depth = 0;
  lines.forEach((l, i) => {
    const fn = /^(\s*)([A-Za-z_][A-Za-z0-9_]*)\s*\(\)\s*\{\s*(#.*)?$/.exec(l);
    if (fn) {
      const end = lines.findIndex((x, j) => j > i && x === `${fn[1]}}`);
      if (end > 0) out.push({ lines: end - i + 1, where: `${rel}:${i + 1}-${end + 1}`, name: `${fn[2]}()` });
    }
    if (CASE_START.test(l)) depth++;
    if (CASE_END.test(l)) depth--;
    const branch = /^\s*\(?([A-Za-z0-9_*|."'\/-]+)\)/.exec(l);
    if (depth > 0 && branch && !/;;\s*$/.test(l)) {
      const end = branchEnd(lines, i);
      if (end !== undefined) out.push({ lines: end - i + 1, where: `${rel}:${i + 1}-${end + 1}`, name: `case ${branch[1]})` });
    }
  });
  return out;
}

const found: Long[] = [];
for (const file of PRODUCT.flatMap((p) => filesUnder(path.join(REPO, p)))) {
  const rel = path.relative(REPO, file);
  const text = fs.readFileSync(file, "utf8");
  if (rel.endsWith(".ts") && !rel.endsWith(".d.ts")) found.push(...typescriptFunctions(rel, text));
  else if (rel.endsWith(".sh")) found.push(...bashFunctions(rel, text));
}
const long = found.filter((f) => f.lines > limit).sort((a, b) => b.lines - a.lines);
for (const f of long) console.log(`${String(f.lines).padStart(4)}  ${f.where}  ${f.name}`);
if (long.length === 0) console.log(`no product function over ${limit} lines`);
