#!/bin/bash
# The developer container for one OS version: downloaded once into a cache on the host,
# its detached signature verified against the pinned key, decompressed.
# ACTION: create | probe | delete
# CACHE_DIR, VERSION, IMAGE_URL, SIGNATURE_URL, SIGNING_KEY (armored; empty: take the key
# the OS ships in flatcar-install), FINGERPRINT (empty: any key in SIGNING_KEY);
# probe gets CACHE_DIR and VERSION only (host/scripts/verbs.ts). VERSION comes from
# the host's release file: the prelude has checked it is one plain name, or a path like
# ../../../../etc would send the delete below somewhere else.
set -eu

dir=$CACHE_DIR/$VERSION
image=$dir/developer_container.bin
stamp=$dir/verified
# Which resource the image belongs to: what it was verified with. A new key, fingerprint
# or URL is a new claim: the image is verified again, and the old claim's delete leaves
# the image to the new one.
if [ "$ACTION" != probe ]; then
  claim=$(printf '%s\n' "$IMAGE_URL" "$SIGNATURE_URL" "$FINGERPRINT" "$SIGNING_KEY" | sha256sum | cut -d' ' -f1)
fi

probe() {
  if [ -f "$image" ] && [ -f "$stamp" ] && [ "$(stat -c %s "$image")" = "$(sed -n 's/^size=//p' "$stamp")" ]; then
    echo "present=true"
    cat "$stamp"
  else
    echo "present=false"
  fi
}

case "$ACTION" in
create)
  if [ -f "$image" ] && [ -f "$stamp" ] && grep -qxF "claim=$claim" "$stamp"; then
    say "developer container $VERSION already verified in $dir"
    probe
    exit 0
  fi
  mkdir -p "$CACHE_DIR"
  tmp=$(mktemp -d "$CACHE_DIR/.download.XXXXXX")
  # Whatever happens, a failed download leaves nothing behind: not even the cache folder
  # when this was the host's first image (a later destroy would not know about it).
  trap 'rm -rf "$tmp"; rmdir "$CACHE_DIR" 2>/dev/null || true' EXIT
  say "downloading $IMAGE_URL"
  curl -fsSL --retry 3 --connect-timeout 20 -o "$tmp/image.bz2" -- "$IMAGE_URL" || { echo "download failed: $IMAGE_URL" >&2; exit 3; }
  curl -fsSL --retry 3 --connect-timeout 20 -o "$tmp/image.bz2.sig" -- "$SIGNATURE_URL" || { echo "signature download failed: $SIGNATURE_URL (an unsigned image is never used)" >&2; exit 3; }

  export GNUPGHOME=$tmp/gnupg
  mkdir -m 700 "$GNUPGHOME"
  if [ -n "$SIGNING_KEY" ]; then
    printf '%s\n' "$SIGNING_KEY" > "$tmp/key.asc"
  elif [ -r /usr/bin/flatcar-install ]; then
    # The OS image carries its signing key in flatcar-install's GPG_KEY="..." variable.
    awk '/^GPG_KEY="/{on=1; sub(/^GPG_KEY="/, "")} on{ if (sub(/"$/, "")) { print; exit } print }' /usr/bin/flatcar-install > "$tmp/key.asc"
  else
    echo "no signing key: set profile.signingKey (the host has no /usr/bin/flatcar-install to take it from)" >&2
    exit 3
  fi
  # 9>&-: gpg may leave an agent running, which must not inherit the host lock's descriptor.
  gpg --batch --quiet --import "$tmp/key.asc" 2>/dev/null 9>&- || { echo "the configured signing key could not be imported" >&2; exit 3; }

  say "verifying the signature"
  if ! gpg --batch --status-fd 3 --verify "$tmp/image.bz2.sig" "$tmp/image.bz2" 3>"$tmp/status" 2>"$tmp/gpg.err" 9>&-; then
    echo "BAD SIGNATURE: $IMAGE_URL does not verify against the pinned key; the download was deleted." >&2
    sed 's/^/  gpg: /' "$tmp/gpg.err" >&2
    exit 3
  fi
  # VALIDSIG <signing key fpr> ... <primary key fpr>: either may be the pinned one.
  signer=$(awk '$2 == "VALIDSIG" { print $3; print $NF }' "$tmp/status")
  if [ -n "$FINGERPRINT" ] && ! printf '%s\n' "$signer" | grep -qix "$FINGERPRINT"; then
    echo "BAD SIGNATURE: signed by $(echo "$signer" | tr '\n' ' '), not by the pinned key $FINGERPRINT; the download was deleted." >&2
    exit 3
  fi

  sha=$(sha256sum "$tmp/image.bz2" | cut -d' ' -f1)
  # Flatcar's image ships lbzip2, which decompresses on every CPU: minutes less than
  # bunzip2 for an image of several GB. bunzip2 where a host has no lbzip2.
  if command -v lbzip2 >/dev/null 2>&1; then
    say "decompressing (lbzip2, $(nproc) CPUs)"
    lbzip2 -d -c < "$tmp/image.bz2" > "$tmp/image.bin"
  else
    say "decompressing (bunzip2)"
    bunzip2 -c < "$tmp/image.bz2" > "$tmp/image.bin"
  fi
  mkdir -p "$dir"
  mv "$tmp/image.bin" "$image"
  printf 'url=%s\nsha256=%s\nfingerprint=%s\nsize=%s\nclaim=%s\n' "$IMAGE_URL" "$sha" "$(echo "$signer" | head -n 1)" "$(stat -c %s "$image")" "$claim" > "$stamp"
  probe
  ;;
probe)
  probe
  ;;
delete)
  if [ -f "$stamp" ] && grep -q '^claim=' "$stamp" && ! grep -qxF "claim=$claim" "$stamp"; then
    say "leaving $dir: the image there was verified again for another key or URL, which now owns it"
    exit 0
  fi
  rm -rf -- "$dir"
  rmdir -- "$CACHE_DIR" 2>/dev/null || true
  ;;
*)
  echo "usage: ACTION=create|probe|delete $0" >&2
  exit 2
  ;;
esac
