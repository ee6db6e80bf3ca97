// How a host meets a staged OS update (the `updates` key of the fleet config): the reboot
// gate (components/rebootGate.ts) holds the reboot into a staged release until every
// module set of the host is installed for its kernel, at most `maxRebootHold`, after which
// `afterMaxHold` applies. kmod-fleet adds this condition in front of the host's own reboot
// manager; when and how the host reboots stays the user's (update.conf).
import { z } from "zod";

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** "90s", "30m", "6h", "2d", or combined as "1h30m": seconds, or undefined when it is none of these. */
export function durationSeconds(text: string): number | undefined {
  if (!/^([0-9]{1,6}[smhd])+$/.test(text)) return undefined;
  let total = 0;
  for (const [, n, unit] of text.matchAll(/([0-9]+)([smhd])/g)) total += Number(n) * UNITS[unit];
  return total;
}

/** A hold longer than this is no hold but an outage of updates: a security release must come. */
export const MAX_REBOOT_HOLD_LIMIT_SECONDS = 30 * 86400;

/** One message per bad duration: what it is not, or which bound it passes. */
const duration = z
  .string()
  .max(32)
  .superRefine((s, ctx) => {
    const seconds = durationSeconds(s);
    const problem =
      seconds === undefined ? "expected a duration such as 90s, 30m, 6h, 2d or 1h30m"
      : seconds < 1 ? "expected at least 1s"
      : seconds > MAX_REBOOT_HOLD_LIMIT_SECONDS ? "expected at most 30d: a security update must not wait longer"
      : undefined;
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

export const updatesSchema = z
  .object({
    /** The reboot gate on every host that has module sets (default true). */
    gate: z.boolean().optional(),
    /** How long a host may hold the reboot into a staged release for its modules (default 6h). */
    maxRebootHold: duration.optional(),
    /** After maxRebootHold: reboot anyway, with a warning in the journal (proceed, the default), or keep holding, warning at every check (hold). */
    afterMaxHold: z.enum(["proceed", "hold"]).optional(),
    /** Build for a release as soon as the channel publishes it, before any host stages it (default false: the program reads the release server). */
    buildAhead: z.boolean().optional(),
  })
  .strict();

export type UpdatesConfig = z.infer<typeof updatesSchema>;

export interface ResolvedUpdates {
  gate: boolean;
  maxRebootHoldSeconds: number;
  afterMaxHold: "proceed" | "hold";
  buildAhead: boolean;
}
