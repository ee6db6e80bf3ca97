// Flatcar's A/B boot slots: the host runs one (its `bootSlot` fact) and an update is staged
// in the other (`stagedSlot`). A host that does not say which slot it runs (an older facts
// script, or one whose kernel images are not where the profile says) is taken to run the
// first and to stage into the second: the slots' order in profile.kernelImages.

/** The slot a host is taken to run when its facts do not say. */
export const UNREAD_RUNNING_SLOT = "a";
/** The slot an update is taken to be staged in when the facts do not say. */
export const UNREAD_STAGED_SLOT = "b";

export function runningSlotOf(facts: { bootSlot?: string }): string {
  return facts.bootSlot || UNREAD_RUNNING_SLOT;
}

/** The slot the host does not run: where an update is staged, or the release before it stays. */
export function otherSlotOf(facts: { stagedSlot?: string; otherSlot?: string }): string {
  return facts.stagedSlot || facts.otherSlot || UNREAD_STAGED_SLOT;
}
