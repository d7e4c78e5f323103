// Masks secret values in any text that leaves the runner (events, errors, logs). kubeadm init, for one, prints the
// bootstrap token and the certificate key; a failing command's stderr may echo a password.

/**
 * Masks secret values (as `***`) in any text or event that leaves the runner; values shorter than 4 characters are left
 * alone.
 */
export class Redactor {
  private readonly values: string[];
  constructor(secrets: readonly string[]) {
    // longest first so a secret containing another is masked whole; ignore trivially short values
    this.values = [...new Set(secrets.filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
  }

  /** The text with every secret value masked, longest values first. */
  text(s: string): string {
    let out = s;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join('***');
    return out;
  }

  /** A copy of a JSON-serialisable value with every secret value masked in its strings. */
  event<T>(e: T): T {
    if (this.values.length === 0) return e;
    return JSON.parse(this.text(JSON.stringify(e))) as T;
  }
}

/** Every secret value in a secrets object (for the Redactor). PEM blocks contribute each base64 line too. */
export function secretValues(secrets: {
  bootstrapToken: string;
  certificateKey: string;
  ca: { key: string };
  passwords: Record<string, string>;
}): string[] {
  const keyLines = secrets.ca.key.split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----'));
  return [
    secrets.bootstrapToken,
    secrets.bootstrapToken.split('.')[1] ?? '',
    secrets.certificateKey,
    ...Object.values(secrets.passwords),
    ...keyLines,
  ];
}
