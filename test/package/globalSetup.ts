// Packs the repository once for every test file of the package project: packing runs the
// build, which empties dist/ first, so two files must not pack at the same time.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { TestProject } from "vitest/node";
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
  return () => fs.rmSync(dir, { recursive: true, force: true });
}
