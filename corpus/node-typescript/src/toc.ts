// Markdown heading extraction and GitHub-style anchors.
export interface Heading {
  level: number;
  text: string;
  anchor: string;
}

export function slugify(text: string, seen: Map<string, number>): string {
  const base = text
    .toLowerCase()
    .replace(/[`*_~]/g, '')
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .trim()
    .replace(/\s+/g, '-');
  const n = seen.get(base) ?? 0;
  seen.set(base, n + 1);
  return n === 0 ? base : `${base}-${n}`;
}

export function headings(markdown: string, maxLevel = 3): Heading[] {
  const seen = new Map<string, number>();
  const out: Heading[] = [];
  let inFence = false;
  for (const line of markdown.split(/\r?\n/)) {
    if (/^\s*(```|~~~)/.test(line)) {
      inFence = !inFence;
      continue;
    }
    if (inFence) continue;
    const m = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const level = m[1].length;
    const anchor = slugify(m[2], seen);
    if (level <= maxLevel) out.push({ level, text: m[2], anchor });
  }
  return out;
}

export function render(items: Heading[]): string {
  if (items.length === 0) return '';
  const top = Math.min(...items.map((h) => h.level));
  return items.map((h) => `${'  '.repeat(h.level - top)}- [${h.text}](#${h.anchor})`).join('\n');
}
