/**
 * A Map that keeps at most `limit` entries, dropping the oldest insertion first: a cache shared
 * by every proxy of an audit whose memory does not grow with the number of proxies.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly limit: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (!this.has(key) && this.size >= this.limit) {
      const oldest = this.keys().next();
      if (!oldest.done) this.delete(oldest.value);
    }
    return super.set(key, value);
  }
}
