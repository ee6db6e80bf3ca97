// The lifecycle contract every resource that changes a host follows, written once: which
// change of an input means what. Nothing that works is removed before its replacement
// works, so a change is, in order of preference:
// - recorded: how to reach the host, time limits; the update stores them and runs nothing;
// - read when acting: how the next action finds what it needs (where a staged kernel's
//   config comes from, which is the host's own once it runs that kernel); a change alone
//   is nothing to do, and the next action takes the new value;
// - in place: new content at the same place (a rebuild, a moved overlay); the update makes
//   the new one beside the old and switches only once it works, and a failure leaves the
//   old one as it was;
// - elsewhere: another place (another kernel's folder, another release's image); a new
//   resource is created next to the old one, which is deleted after;
// - exclusive: the same place that two cannot share; the old one must go first. Every
//   such field says why.
// - retired: a field older versions had in their inputs and this one no longer has (state
//   from before still holds it); its going is no change, and the next update drops it.
// Drift that read found is repaired by an update that makes the resource again.
// test/unit/lifecycle.test.ts runs every resource's contract through the same checks.
// HostFacts is not under it: it writes nothing on a host, it records what a probe saw.
import type * as pulumi from "@pulumi/pulumi";

export interface LifecycleContract<I> {
  /** Pulumi type name, for messages. */
  resource: string;
  recorded: (keyof I)[];
  readWhenActing?: (keyof I)[];
  inPlace: (keyof I)[];
  elsewhere: (keyof I)[];
  exclusive?: { fields: (keyof I)[]; why: string };
  /** Fields no longer in the inputs that older state may hold: never compared. */
  retired?: string[];
  /** What the last read found that an update must repair. */
  drifted(olds: any): boolean;
  /** New inputs that cannot be acted on (an unreachable host's unknown facts): no change. */
  undecidable?(news: I): boolean;
}

function changed<I>(fields: (keyof I)[], olds: I, news: I): (keyof I)[] {
  return fields.filter((k) => JSON.stringify(olds[k] ?? null) !== JSON.stringify(news[k] ?? null));
}

/** The resource's `diff`. */
export function diffFor<I>(c: LifecycleContract<I>, olds: I, news: I): pulumi.dynamic.DiffResult {
  if (c.undecidable?.(news)) return { changes: false };
  const exclusive = changed(c.exclusive?.fields ?? [], olds, news);
  if (exclusive.length > 0) return { changes: true, replaces: exclusive as string[], deleteBeforeReplace: true };
  const elsewhere = changed(c.elsewhere, olds, news);
  if (elsewhere.length > 0) return { changes: true, replaces: [...elsewhere, ...changed(c.inPlace, olds, news)] as string[], deleteBeforeReplace: false };
  const any = changed([...c.inPlace, ...c.recorded], olds, news).length > 0;
  return { changes: any || c.drifted(olds) };
}

/**
 * What the resource's `update` does: "remake" (new content in place, or a drift repair)
 * or "record" (store the new recorded fields, touch nothing on the host).
 */
export function updateKind<I>(c: LifecycleContract<I>, olds: I, news: I): "remake" | "record" {
  return changed(c.inPlace, olds, news).length > 0 || c.drifted(olds) ? "remake" : "record";
}

/**
 * The outputs of a "record" update: the old outputs with the new recorded fields, less the
 * retired ones. A field the new inputs leave out is left out (outputs cannot hold `undefined`).
 */
export function recordOnly<I, O extends I>(c: LifecycleContract<I>, olds: O, news: I): O {
  const out = { ...olds };
  for (const k of c.retired ?? []) delete (out as any)[k];
  for (const k of c.recorded) {
    if (news[k] === undefined) delete (out as any)[k];
    else (out as any)[k] = news[k];
  }
  return out;
}

/** Exported for the table test: the fields a contract classifies. */
export function classifiedFields<I>(c: LifecycleContract<I>): (keyof I)[] {
  return [...c.recorded, ...(c.readWhenActing ?? []), ...c.inPlace, ...c.elsewhere, ...(c.exclusive?.fields ?? [])];
}
