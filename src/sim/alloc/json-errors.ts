// JSON.parse errors carry a character position ("at position 812", or
// "line 3 column 5" in newer V8); a trace error names the line instead.

/** The 1-based line of a JSON.parse SyntaxError in `text`, or 1 when the message gives no position. */
export function jsonErrorLine(e: unknown, text: string): number {
  const msg = e instanceof Error ? e.message : '';
  const line = /line (\d+) column/.exec(msg);
  if (line) return Number(line[1]);
  const pos = /position (\d+)/.exec(msg);
  if (!pos) return 1;
  const end = Math.min(Number(pos[1]), text.length);
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < end; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
