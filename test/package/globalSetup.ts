// Packs the repository once for every test file of the package project: packing runs the
// build, which empties dist/ first, so two files must not pack at the same time. Also makes
// sure Node.js 24 is in .cache/node24 (fetched with npm the first time, then reused): the
// tests run the installed package with it as well as with this machine's Node.js.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { TestProject } from "vitest/node";
import { ensureNode24 } from "../../dev/toolchain/node24";
import { packRepo } from "./example";

declare module "vitest" {
  export interface ProvidedContext {
    /** The packed kmod-fleet tarball. */
    tarball: string;
  }
}

export default function setup(project: TestProject) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-pack-"));
  project.provide("tarball", packRepo(dir));
  console.log(`package tests: Node.js ${process.version} and ${ensureNode24()}`);
  return () => fs.rmSync(dir, { recursive: true, force: true });
}
