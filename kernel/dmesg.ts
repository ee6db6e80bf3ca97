/**
 * Reads the kernel log lines a failed module load leaves (kernel/module/main.c, version.c):
 *   drm: Unknown symbol hdmi_vendor_infoframe_init (err -2)      (err 0 on 4.x)
 *   drm: disagrees about version of symbol dma_buf_get           (a CRC mismatch; err -22)
 *   drm: module uses symbol (dma_buf_attach) from namespace DMA_BUF, but does not import it.
 *   drm: version magic '6.1.0-55-cloud-amd64 SMP mod_unload' should be '6.1.0-56-cloud-amd64 SMP mod_unload'
 * and a load refused for its signature (kernel/module/signing.c, security/lockdown/lockdown.c):
 *   Loading of unsigned module is rejected                      (module.sig_enforce)
 *   Lockdown: modprobe: unsigned module loading is restricted; see man kernel_lockdown.7
 * Timestamps (`[83845.709910]`) and journal prefixes (`kernel: `) are ignored.
 */
export type DmesgEvent =
  | { kind: "unknown-symbol"; module: string; symbol: string; err: number; line: string }
  | { kind: "crc"; module: string; symbol: string; line: string }
  | { kind: "namespace"; module: string; symbol: string; namespace: string; line: string }
  | { kind: "vermagic"; module: string; have: string; want: string; line: string }
  /** The line names no module: `by` is the program (lockdown) or "" (sig_enforce). */
  | { kind: "signature"; by: string; reason: string; enforcedBy: "sig_enforce" | "lockdown"; line: string };

const PREFIX = /^(?:.*?\]\s*)?(?:.*?kernel:\s*)?/;

export function parseDmesg(text: string): DmesgEvent[] {
  const out: DmesgEvent[] = [];
  const seen = new Set<string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim().replace(PREFIX, "");
    let m: RegExpExecArray | null;
    let ev: DmesgEvent | undefined;
    if ((m = /^([\w-]+): Unknown symbol (\S+) \(err (-?\d+)\)/.exec(line))) ev = { kind: "unknown-symbol", module: m[1], symbol: m[2], err: Number(m[3]), line };
    else if ((m = /^([\w-]+): disagrees about version of symbol (\S+)/.exec(line))) ev = { kind: "crc", module: m[1], symbol: m[2], line };
    else if ((m = /^([\w-]+): .*?uses symbol \(?([\w.]+)\)? from namespace ([\w.]+),? but does not import it/.exec(line)))
      ev = { kind: "namespace", module: m[1], symbol: m[2], namespace: m[3], line };
    else if ((m = /^([\w-]+): version magic '([^']*)' should be '([^']*)'/.exec(line))) ev = { kind: "vermagic", module: m[1], have: m[2], want: m[3], line };
    else if ((m = /^Loading of (unsigned module|module with unsupported crypto|module with unavailable key) is rejected/.exec(line))) ev = { kind: "signature", by: "", reason: m[1], enforcedBy: "sig_enforce", line };
    else if ((m = /^Lockdown: ([^:]+): unsigned module loading is restricted/.exec(line))) ev = { kind: "signature", by: m[1], reason: "unsigned module", enforcedBy: "lockdown", line };
    if (!ev) continue;
    // modprobe retries print the same lines again; one finding per line is enough.
    const key = JSON.stringify({ ...ev, line: undefined, err: undefined });
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(ev);
  }
  return out;
}
