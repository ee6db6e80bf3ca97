/**
 * A read-only map whose values are decoded on first access: a cached model holds 16,000
 * symbols and 24,000 Kbuild placements, and one preflight reads a few thousand of them.
 * Keys keep their order (the order of `names`), like the Map a fresh parse builds.
 */
export class LazyMap<V> implements ReadonlyMap<string, V> {
  private readonly index = new Map<string, number>();
  private readonly decoded: (V | undefined)[];

  constructor(
    private readonly names: readonly string[],
    private readonly decode: (i: number) => V,
  ) {
    names.forEach((n, i) => this.index.set(n, i));
    this.decoded = new Array(names.length);
  }

  /** The key's position in the order of `names`. */
  position(key: string): number | undefined {
    return this.index.get(key);
  }

  get size(): number {
    return this.names.length;
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  get(key: string): V | undefined {
    const i = this.index.get(key);
    return i === undefined ? undefined : this.at(i);
  }

  private at(i: number): V {
    return (this.decoded[i] ??= this.decode(i));
  }

  *entries(): MapIterator<[string, V]> {
    for (let i = 0; i < this.names.length; i++) yield [this.names[i], this.at(i)];
  }

  keys(): MapIterator<string> {
    return this.names[Symbol.iterator]() as MapIterator<string>;
  }

  *values(): MapIterator<V> {
    for (let i = 0; i < this.names.length; i++) yield this.at(i);
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }

  forEach(fn: (value: V, key: string, map: ReadonlyMap<string, V>) => void): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }
}
