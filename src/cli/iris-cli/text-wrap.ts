/**
 * Wraps one line of text at a width the way glanceclient's tables do (prettytable hands long
 * cells to Python's `textwrap.fill`): break at spaces, after hyphens inside words
 * (`ddd-eee`), and split words longer than the width, preferring their last hyphen — which is
 * why a UUID wraps as `1d657c80-b7eb-4da5-b9c9-` / `a328a320319a`. Matching it keeps `iris`
 * output line-for-line comparable with `glance` output.
 */

const LETTER = /[\p{L}_]/u;

function isLetter(ch: string | undefined): boolean {
  return ch !== undefined && LETTER.test(ch);
}

/**
 * A word is split after a hyphen when two letters (or letter-hyphen-letter) precede it and a
 * letter follows (optionally after one more hyphen and then a letter).
 */
function splitHyphenated(word: string): string[] {
  const chars = [...word];
  const parts: string[] = [];
  let start = 0;
  for (let i = 1; i < chars.length; i++) {
    if (chars[i] !== '-') continue;
    const twoLetters = isLetter(chars[i - 1]) && isLetter(chars[i - 2]);
    const letterHyphenLetter = isLetter(chars[i - 1]) && chars[i - 2] === '-' && isLetter(chars[i - 3]);
    const letterFollows =
      isLetter(chars[i + 1]) && (isLetter(chars[i + 2]) || (chars[i + 2] === '-' && isLetter(chars[i + 3])));
    if ((twoLetters || letterHyphenLetter) && letterFollows && i >= start) {
      parts.push(chars.slice(start, i + 1).join(''));
      start = i + 1;
    }
  }
  parts.push(chars.slice(start).join(''));
  return parts.filter((p) => p !== '');
}

/** Whitespace runs and word pieces, in order. */
function chunksOf(text: string): string[] {
  const out: string[] = [];
  for (const token of text.match(/\s+|\S+/g) ?? []) {
    if (/^\s/.test(token)) out.push(token);
    else out.push(...splitHyphenated(token));
  }
  return out;
}

const len = (s: string): number => [...s].length;

/**
 * The lines `text` wraps into at `width` columns (the whole text when it fits).
 *
 * @example wrapLine('aaa bbb ccc ddd-eee', 10) // ['aaa bbb', 'ccc ddd-', 'eee']
 */
export function wrapLine(text: string, width: number): string[] {
  const line = text.replace(/\s/g, ' ');
  if (len(line) <= width) return [line];
  const chunks = chunksOf(line).reverse();
  const lines: string[] = [];
  while (chunks.length > 0) {
    const cur: string[] = [];
    let curLen = 0;
    // Leading whitespace survives only on the first line.
    if (lines.length > 0 && chunks[chunks.length - 1]!.trim() === '') chunks.pop();
    while (chunks.length > 0) {
      const l = len(chunks[chunks.length - 1]!);
      if (curLen + l > width) break;
      cur.push(chunks.pop()!);
      curLen += l;
    }
    if (chunks.length > 0 && len(chunks[chunks.length - 1]!) > width) {
      const chunk = [...chunks[chunks.length - 1]!];
      const spaceLeft = Math.max(1, width - curLen);
      let end = spaceLeft;
      const hyphen = chunk.slice(0, spaceLeft).lastIndexOf('-');
      if (hyphen > 0 && chunk.slice(0, hyphen).some((c) => c !== '-')) end = hyphen + 1;
      cur.push(chunk.slice(0, end).join(''));
      chunks[chunks.length - 1] = chunk.slice(end).join('');
      if (chunks[chunks.length - 1] === '') chunks.pop();
    }
    if (cur.length > 0 && cur[cur.length - 1]!.trim() === '') cur.pop();
    if (cur.length > 0) lines.push(cur.join(''));
  }
  return lines;
}
