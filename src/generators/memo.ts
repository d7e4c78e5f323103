// Work on upstream texts (files from the offline bundle, e.g. Calico's calico.yaml) done once per distinct text: a
// service renders the same bundle's files for every install, and parsing and re-serialising a 250 KB manifest costs
// more than the rest of a small cluster's render.
//
// A pure memo keyed by the whole text: the same text gives the same value, whichever spec or install asked first, so
// it cannot change any output. What it returns is shared between calls: make it deeply frozen (deepFreeze), so a
// caller that changes it fails loudly instead of changing the next render. Bounded: the last `size` texts only.

/** `make(text)`, computed once per distinct text among the last `size` (a thrown error is not kept). */
export function memoByText<T>(make: (text: string) => T, size = 4): (text: string) => T {
  const kept = new Map<string, T>();
  return (text) => {
    if (kept.has(text)) {
      const v = kept.get(text)!;
      // most recently used last, so the oldest is the first to go
      kept.delete(text);
      kept.set(text, v);
      return v;
    }
    const v = make(text);
    kept.set(text, v);
    if (kept.size > size) kept.delete(kept.keys().next().value!);
    return v;
  };
}

/** Freeze a parsed document (objects and arrays, all the way down) and return it. */
export function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
