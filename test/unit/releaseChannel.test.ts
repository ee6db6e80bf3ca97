// Reading what a channel publishes (components/releaseChannel.ts) from a server on loopback
// laid out like Flatcar's release server; the test fleet's own server is read in
// test/fleet/releaseServer.test.ts.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishedReleases } from "../../components/releaseChannel";

const files: Record<string, string> = {
  "/stable/amd64-usr/current/version.txt": "FLATCAR_BUILD=4081\nFLATCAR_VERSION=4081.2.1\nFLATCAR_VERSION_ID=4081.2.1\n",
  "/stable/amd64-usr/4081.2.1/flatcar_production_image_contents.txt": [
    "drwxr-xr-x root/root 0 2024-11-27 ./usr/",
    "drwxr-xr-x root/root 0 2024-11-27 ./usr/lib/modules/",
    "drwxr-xr-x root/root 0 2024-11-27 ./usr/lib/modules/6.6.63-flatcar/",
    "-rw-r--r-- root/root 1234 2024-11-27 ./usr/lib/modules/6.6.63-flatcar/modules.dep",
  ].join("\n") + "\n".repeat(200_000),
  "/beta/amd64-usr/current/version.txt": "FLATCAR_VERSION=4152.1.0\n",
  "/beta/amd64-usr/4152.1.0/flatcar_production_image_contents.txt": "drwxr-xr-x root/root 0 2024-11-27 ./usr/lib/\n",
  "/alpha/amd64-usr/current/version.txt": "FLATCAR_VERSION=../../etc\n",
};

let server: http.Server;
let base = "";
const profile = () => ({ currentReleaseUrl: `${base}/\${GROUP}/\${BOARD}/current/version.txt`, releaseContentsUrl: `${base}/\${GROUP}/\${BOARD}/\${VERSION}/flatcar_production_image_contents.txt` });

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const body = files[req.url ?? ""];
    res.writeHead(body === undefined ? 404 : 200).end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("publishedReleases", () => {
  it("reads the channel's current version and the kernel its image ships, once per channel", async () => {
    const { releases, warnings } = await publishedReleases(profile(), [{ group: "stable", board: "amd64-usr" }, { group: "stable", board: "amd64-usr" }]);
    expect(releases).toEqual([{ group: "stable", board: "amd64-usr", osVersion: "4081.2.1", kernelRelease: "6.6.63-flatcar", arch: "x86_64" }]);
    expect(warnings).toEqual([]);
  });

  it("a channel that cannot be read is a warning naming it and why; the others are read", async () => {
    const { releases, warnings } = await publishedReleases(profile(), [
      { group: "beta", board: "amd64-usr" },
      { group: "alpha", board: "amd64-usr" },
      { group: "lts", board: "amd64-usr" },
      { group: "stable", board: "riscv-usr" },
      { group: "stable", board: "amd64-usr" },
    ]);
    expect(releases.map((r) => r.osVersion)).toEqual(["4081.2.1"]);
    expect(warnings).toEqual([
      expect.stringMatching(/^nothing is built ahead for the beta\/amd64-usr channel this run: .*4152\.1\.0\/flatcar_production_image_contents\.txt lists no \.\/usr\/lib\/modules\/<kernel>\/ folder$/),
      expect.stringMatching(/^nothing is built ahead for the alpha\/amd64-usr channel this run: .*names no usable FLATCAR_VERSION \(read "\.\.\/\.\.\/etc"\)$/),
      expect.stringMatching(/^nothing is built ahead for the lts\/amd64-usr channel this run: .*lts\/amd64-usr\/current\/version\.txt answered 404/),
      "nothing is built ahead for the stable/riscv-usr channel: kmod-fleet does not know the architecture of board riscv-usr (it knows amd64-usr, arm64-usr)",
    ]);
  });

  it("a server that is not there is a warning, not a failure", async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const { releases, warnings } = await publishedReleases({ currentReleaseUrl: `http://127.0.0.1:${port}/\${GROUP}/v.txt`, releaseContentsUrl: "http://127.0.0.1:1/x" }, [{ group: "stable", board: "amd64-usr" }]);
    expect(releases).toEqual([]);
    expect(warnings).toEqual([expect.stringMatching(/^nothing is built ahead for the stable\/amd64-usr channel this run: its published release could not be read: fetch failed: connect ECONNREFUSED/)]);
  });
});
