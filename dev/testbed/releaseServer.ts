// A local release server laid out like Flatcar's:
//   <base>/<GROUP>/<BOARD>/<VERSION>/flatcar_developer_container.bin.bz2 (+ .sig)
//   <base>/<GROUP>/<BOARD>/<VERSION>/version.txt, flatcar_production_image_contents.txt
//   <base>/<GROUP>/<BOARD>/current/... (the channel's current release, testbed/channel.ts)
// It listens on loopback; QEMU guests reach it at 10.0.2.2:<port> through user-mode
// networking. For failure tests it can serve a corrupted image, a wrong signature or a
// 404, for all versions or one. Every request is logged. Exported for the provider tests.
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { Transform } from "node:stream";
import { SigningKey, signDetached } from "./signingKey";
import { readChannel } from "./channel";

export const IMAGE_NAME = "flatcar_developer_container.bin.bz2";

/** ok: serve as stored; corrupt-image: one byte of the image flipped (same length);
 * bad-signature: a valid signature by the test key over other data; missing: 404. */
export type ReleaseMode = "ok" | "corrupt-image" | "bad-signature" | "missing";
export const RELEASE_MODES: readonly ReleaseMode[] = ["ok", "corrupt-image", "bad-signature", "missing"];

export interface ModeTable {
  default: ReleaseMode;
  /** Per OS version; wins over default. */
  versions: Record<string, ReleaseMode>;
}

export interface RequestRecord {
  time: string;
  method: string;
  path: string;
  status: number;
  bytes: number;
  mode: ReleaseMode;
  remote: string;
}

export interface ReleaseServerOptions {
  /** Directory holding <GROUP>/<BOARD>/<VERSION>/... */
  root: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** JSON mode table shared with other processes (the CLI); read on every request. */
  modeFile?: string;
  /** Requests are appended here as JSON lines, too. */
  requestLog?: string;
  /** The release channel (testbed/channel.ts), read on every request: what `current` is. */
  channelFile?: string;
}

export interface ReleaseServer {
  port: number;
  /** URL as seen from this machine. */
  url: string;
  /** URL as seen from a QEMU guest with user-mode networking. */
  guestUrl: string;
  setMode(mode: ReleaseMode, version?: string): void;
  modes(): ModeTable;
  /** Requests served so far by this process. */
  requests: RequestRecord[];
  close(): Promise<void>;
}

export function releaseDir(root: string, group: string, board: string, version: string): string {
  return path.join(root, group, board, version);
}

/** The image URL template a kmod-fleet profile takes, for a server base URL. */
export function devContainerUrlTemplate(baseUrl: string): string {
  return `${baseUrl}/\${GROUP}/\${BOARD}/\${VERSION}/${IMAGE_NAME}`;
}

/** The profile's channel URLs (currentReleaseUrl, releaseContentsUrl) for a server at `baseUrl`. */
export function channelUrlTemplates(baseUrl: string): { currentReleaseUrl: string; releaseContentsUrl: string } {
  return {
    currentReleaseUrl: `${baseUrl}/\${GROUP}/\${BOARD}/current/version.txt`,
    releaseContentsUrl: `${baseUrl}/\${GROUP}/\${BOARD}/\${VERSION}/flatcar_production_image_contents.txt`,
  };
}

export function readModeTable(modeFile: string | undefined): ModeTable {
  if (modeFile && fs.existsSync(modeFile)) {
    const t = JSON.parse(fs.readFileSync(modeFile, "utf8")) as Partial<ModeTable>;
    return { default: t.default ?? "ok", versions: t.versions ?? {} };
  }
  return { default: "ok", versions: {} };
}

/** Changes the mode in a mode file (used by the CLI while the server runs elsewhere). */
export function writeMode(modeFile: string, mode: ReleaseMode, version?: string): ModeTable {
  if (!RELEASE_MODES.includes(mode)) {
    throw new Error(`unknown release server mode "${mode}"; expected one of ${RELEASE_MODES.join(", ")}`);
  }
  const t = readModeTable(modeFile);
  if (version) {
    t.versions[version] = mode;
  } else {
    // A fleet-wide mode replaces the per-version ones.
    t.default = mode;
    t.versions = {};
  }
  fs.mkdirSync(path.dirname(modeFile), { recursive: true });
  fs.writeFileSync(`${modeFile}.tmp`, JSON.stringify(t, null, 2) + "\n");
  fs.renameSync(`${modeFile}.tmp`, modeFile);
  return t;
}

/**
 * Puts an image into the release layout, signed by `key`, with the wrong signature
 * (`.sig-bad`) next to it for the bad-signature mode. The image is hard-linked when
 * possible (images are large), copied otherwise.
 */
export async function publishRelease(opts: { root: string; group: string; board: string; version: string; kernelRelease: string; image: string; key: SigningKey }): Promise<{ image: string; signature: string }> {
  const dir = releaseDir(opts.root, opts.group, opts.board, opts.version);
  fs.mkdirSync(dir, { recursive: true });
  writeReleaseFacts(dir, opts.version, opts.kernelRelease);
  const image = path.join(dir, IMAGE_NAME);
  fs.rmSync(image, { force: true });
  try {
    fs.linkSync(opts.image, image);
  } catch {
    fs.copyFileSync(opts.image, image);
  }
  const signature = `${image}.sig`;
  await signDetached(opts.key, image, signature);
  const other = path.join(dir, ".other-data");
  fs.writeFileSync(other, `not the developer container of ${opts.version}\n`);
  await signDetached(opts.key, other, `${image}.sig-bad`);
  fs.rmSync(other);
  return { image, signature };
}

/**
 * What Flatcar publishes next to each release and what tells its kernel without booting
 * it: version.txt, and the image's file listing (flatcar_production_image_contents.txt,
 * here only the kernel's module folder, in the listing's format).
 */
function writeReleaseFacts(dir: string, version: string, kernelRelease: string): void {
  const [major] = version.split(".");
  fs.writeFileSync(path.join(dir, "version.txt"), `FLATCAR_BUILD=${major}\nFLATCAR_VERSION=${version}\nFLATCAR_VERSION_ID=${version}\nFLATCAR_BUILD_ID="testbed"\n`);
  fs.writeFileSync(path.join(dir, "flatcar_production_image_contents.txt"), `drwxr-xr-x 0 root root 0 1970-01-01 00:00 ./usr/lib/modules/\ndrwxr-xr-x 0 root root 0 1970-01-01 00:00 ./usr/lib/modules/${kernelRelease}/\n`);
}

/** Segments of a request for <GROUP>/<BOARD>/current/<file>, with the channel's version in its place. */
function resolveCurrent(segments: string[], channelFile: string | undefined): string[] {
  if (segments.length !== 4 || segments[2] !== "current" || !channelFile) return segments;
  const channel = readChannel(channelFile);
  if (!channel || channel.group !== segments[0] || channel.board !== segments[1]) return segments;
  return [segments[0], segments[1], channel.version, segments[3]];
}

/** Flips one byte at `offset` of a stream, keeping its length. */
function flipByteAt(offset: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (offset >= seen && offset < seen + chunk.length) {
        chunk = Buffer.from(chunk);
        chunk[offset - seen] ^= 0xff;
      }
      seen += chunk.length;
      cb(null, chunk);
    },
  });
}

export function startReleaseServer(opts: ReleaseServerOptions): Promise<ReleaseServer> {
  const root = path.resolve(opts.root);
  let memoryModes: ModeTable = { default: "ok", versions: {} };
  const modes = (): ModeTable => (opts.modeFile ? readModeTable(opts.modeFile) : memoryModes);
  const requests: RequestRecord[] = [];
  if (opts.requestLog) fs.mkdirSync(path.dirname(opts.requestLog), { recursive: true });

  const server = http.createServer((req, res) => {
    const urlPath = decodeURIComponent((req.url ?? "/").split("?")[0]);
    const segments = resolveCurrent(urlPath.split("/").filter(Boolean), opts.channelFile);
    // <GROUP>/<BOARD>/<VERSION>/<file>
    const version = segments.length === 4 ? segments[2] : undefined;
    const table = modes();
    const mode: ReleaseMode = (version && table.versions[version]) || table.default;
    let bytes = 0;
    // Every request is recorded once, when its response closes: a client that has its
    // content-length closes first, and a piped file may then never reach its end.
    res.once("close", () => {
      const rec: RequestRecord = { time: new Date().toISOString(), method: req.method ?? "?", path: urlPath, status: res.statusCode, bytes, mode, remote: req.socket.remoteAddress ?? "" };
      requests.push(rec);
      if (opts.requestLog) fs.appendFile(opts.requestLog, JSON.stringify(rec) + "\n", () => undefined);
    });
    const fail = (status: number, msg: string) => {
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(msg + "\n");
    };
    if (req.method !== "GET" && req.method !== "HEAD") return fail(405, "only GET and HEAD");
    let file = path.join(root, ...segments);
    if (!file.startsWith(root + path.sep) || segments.some((s) => s.startsWith("."))) return fail(404, "not found");
    const isImage = file.endsWith(IMAGE_NAME);
    const isSig = file.endsWith(`${IMAGE_NAME}.sig`);
    if (mode === "missing" && (isImage || isSig)) return fail(404, "not found (release server mode: missing)");
    if (mode === "bad-signature" && isSig && fs.existsSync(`${file}-bad`)) file = `${file}-bad`;
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      return fail(404, "not found");
    }
    if (!st.isFile()) return fail(404, "not found");
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(st.size) });
    if (req.method === "HEAD") return res.end();
    let stream: NodeJS.ReadableStream = fs.createReadStream(file);
    if (mode === "corrupt-image" && isImage) stream = stream.pipe(flipByteAt(Math.floor(st.size / 2)));
    stream.on("data", (d: Buffer) => (bytes += d.length));
    stream.on("error", () => res.destroy());
    stream.pipe(res);
  });

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => {
      const addr = server.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      resolve({
        port,
        url: `http://127.0.0.1:${port}`,
        guestUrl: `http://10.0.2.2:${port}`,
        setMode(mode: ReleaseMode, version?: string) {
          if (opts.modeFile) {
            writeMode(opts.modeFile, mode, version);
          } else if (version) {
            memoryModes.versions[version] = mode;
          } else {
            memoryModes = { default: mode, versions: {} };
          }
        },
        modes,
        requests,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}
