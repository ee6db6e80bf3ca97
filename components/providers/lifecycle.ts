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
// The special cases are declared here too, never decided in a provider: named kinds of
// in-place update (the overlay's move, the load's reload), what stands for an input a
// preview does not know yet, what an absent field means, and outputs that copy a recorded
// input. A provider file is its documented inputs, its contract, and one action per kind.
// test/unit/lifecycle.test.ts runs every resource's contract through the same checks.
// HostFacts is under it too, though it writes nothing on a host: a new tracked fact is a
// new record of what the probe saw, made in place.
import type * as pulumi from "@pulumi/pulumi";

/** What a preview passes for an input that is not known yet (an output of a resource that changes in the same run). */
export const UNKNOWN_IN_PREVIEW = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** A named kind of in-place update: the provider gives one action per kind (`updateFor`). */
export interface UpdateKindRule<I, K extends string> {
  kind: K;
  /** In-place fields whose change makes the update this kind (the first rule that matches wins). */
  fields: (keyof I)[];
  /** Fields that must be the same for it (a reload is for the kernel that runs). */
  sameIn?: (keyof I)[];
  /** What that update does differently, for the reader. */
  what: string;
}

/** What stands in the diff for an input a preview does not know yet. */
export type StandIn<V> = { old: true } | { value: V };

export interface LifecycleContract<I, K extends string = never> {
  /** Pulumi type name, for messages. */
  resource: string;
  recorded: (keyof I)[];
  readWhenActing?: (keyof I)[];
  inPlace: (keyof I)[];
  elsewhere: (keyof I)[];
  exclusive?: { fields: (keyof I)[]; why: string };
  /** Fields no longer in the inputs that older state may hold: never compared. */
  retired?: string[];
  /** Kinds of in-place update other than "remake", each with its own action in the provider. */
  updateKinds?: UpdateKindRule<I, K>[];
  /**
   * Inputs a preview may not know yet and what stands for them in the diff: the value
   * state holds (`old`: no change by itself) or a given value. The update, in `up`, sees
   * the real value.
   */
  unknownInPreview?: { [F in keyof I]?: StandIn<I[F]> };
  /** The value a field stands for when it is absent (state from versions before it existed). */
  absentMeans?: Partial<I>;
  /** What the last read found that an update must repair. */
  drifted(olds: any): boolean;
  /** New inputs that cannot be acted on (an unreachable host's unknown facts): no change. */
  undecidable?(news: I): boolean;
  /** Outputs that hold a copy of a recorded input, brought up to date by a "record" update. */
  recordedCopies?(olds: any, news: I): object;
}

function changed<I>(fields: (keyof I)[], olds: I, news: I): (keyof I)[] {
  return fields.filter((k) => JSON.stringify(olds[k] ?? null) !== JSON.stringify(news[k] ?? null));
}

/** Olds and news as the contract compares them: absent fields filled in, preview unknowns stood in for. */
export function settle<I>(c: LifecycleContract<I, string>, olds: I, news: I): { olds: I; news: I } {
  const o: any = { ...olds };
  const n: any = { ...news };
  for (const [k, v] of Object.entries(c.absentMeans ?? {})) {
    o[k] = o[k] ?? v;
    n[k] = n[k] ?? v;
  }
  for (const [k, standIn] of Object.entries(c.unknownInPreview ?? {}) as [string, StandIn<unknown>][]) {
    if (n[k] === UNKNOWN_IN_PREVIEW) n[k] = "old" in standIn ? o[k] : standIn.value;
  }
  return { olds: o, news: n };
}

/** The resource's `diff`. */
export function diffFor<I>(c: LifecycleContract<I, string>, rawOlds: I, rawNews: I): pulumi.dynamic.DiffResult {
  const { olds, news } = settle(c, rawOlds, rawNews);
  if (c.undecidable?.(news)) return { changes: false };
  const exclusive = changed(c.exclusive?.fields ?? [], olds, news);
  if (exclusive.length > 0) return { changes: true, replaces: exclusive as string[], deleteBeforeReplace: true };
  const elsewhere = changed(c.elsewhere, olds, news);
  if (elsewhere.length > 0) return { changes: true, replaces: [...elsewhere, ...changed(c.inPlace, olds, news)] as string[], deleteBeforeReplace: false };
  const any = changed([...c.inPlace, ...c.recorded], olds, news).length > 0;
  return { changes: any || c.drifted(olds) };
}

/**
 * What the resource's `update` does: "record" (store the new recorded fields, touch
 * nothing on the host), a declared kind whose fields changed, or "remake" (new content in
 * place, or a drift repair).
 */
export function updateKind<I, K extends string>(c: LifecycleContract<I, K>, rawOlds: I, rawNews: I): "remake" | "record" | K {
  const { olds, news } = settle(c, rawOlds, rawNews);
  if (changed(c.inPlace, olds, news).length === 0 && !c.drifted(olds)) return "record";
  const rule = (c.updateKinds ?? []).find((r) => changed(r.fields, olds, news).length > 0 && changed(r.sameIn ?? [], olds, news).length === 0);
  return rule?.kind ?? "remake";
}

/**
 * The outputs of a "record" update: the old outputs with the new recorded fields, less the
 * retired ones. A field the new inputs leave out is left out (outputs cannot hold `undefined`).
 */
export function recordOnly<I, O extends I>(c: LifecycleContract<I, string>, olds: O, news: I): O {
  const out = { ...olds };
  for (const k of c.retired ?? []) delete (out as any)[k];
  for (const k of c.recorded) {
    if (news[k] === undefined) delete (out as any)[k];
    else (out as any)[k] = news[k];
  }
  return { ...out, ...c.recordedCopies?.(olds, news) };
}

/** The provider's action for each kind of update that runs on the host. */
export type UpdateActions<K extends string, O> = Record<"remake" | K, () => Promise<O>>;

/** The resource's `update`: the contract says which kind, the provider only how each kind is done. */
export async function updateFor<I, O extends I, K extends string>(c: LifecycleContract<I, K>, olds: O, news: I, actions: UpdateActions<K, O>): Promise<{ outs: O }> {
  const kind = updateKind(c, olds, news);
  return { outs: kind === "record" ? recordOnly(c, olds, news) : await actions[kind]() };
}

/** Exported for the table test: the fields a contract classifies. */
export function classifiedFields<I>(c: LifecycleContract<I, string>): (keyof I)[] {
  return [...c.recorded, ...(c.readWhenActing ?? []), ...c.inPlace, ...c.elsewhere, ...(c.exclusive?.fields ?? [])];
}
