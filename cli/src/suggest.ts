/** Edit distance (insertions, deletions, substitutions, and swaps of neighbours) between two words. */
export function distance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}

/**
 * The known word a mistyped one most likely meant: the closest within a third of its length (at
 * least one edit), or one it is a prefix of; null when none is close enough to be worth saying.
 */
export function closest(typed: string, known: Iterable<string>): string | null {
  let best: { word: string; d: number } | null = null;
  const limit = Math.max(1, Math.floor(typed.length / 3));
  for (const word of known) {
    const d = word.startsWith(typed) && typed.length >= 2 ? 0.5 : distance(typed, word);
    if (d > limit) continue;
    // Among equally distant words, one of the same length reads closer.
    const score = d + (word.length === typed.length ? 0 : 0.1);
    if (!best || score < best.d) best = { word, d: score };
  }
  return best?.word ?? null;
}
