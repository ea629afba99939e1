// Where each key of a TOML text is written: smol-toml gives values, not positions,
// and an operator told `treshold: unknown key` wants the line too. This is not a
// TOML parser: it runs after smol-toml has accepted the text, and only follows its
// structure (table headers, dotted keys, inline tables, arrays, strings, comments)
// to record the line on which each key path is first written.

/** A key path as the parsed value has it: table keys, and array indexes. */
export type KeyPath = readonly (string | number)[];

export interface KeyLine {
  path: KeyPath;
  line: number;
}

class Scanner {
  i = 0;
  line = 1;
  constructor(readonly text: string) {}

  peek(offset = 0): string {
    return this.text[this.i + offset] ?? '';
  }

  startsWith(s: string): boolean {
    return this.text.startsWith(s, this.i);
  }

  advance(count = 1): void {
    for (let n = 0; n < count && this.i < this.text.length; n++) {
      if (this.text[this.i] === '\n') this.line++;
      this.i++;
    }
  }

  /** Spaces and tabs; with `newlines`, also line breaks and comments. */
  skipBlank(newlines: boolean): void {
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || (newlines && (c === '\n' || c === '\r'))) this.advance();
      else if (newlines && c === '#') this.skipComment();
      else return;
    }
  }

  skipComment(): void {
    while (this.i < this.text.length && this.peek() !== '\n') this.advance();
  }

  atEnd(): boolean {
    return this.i >= this.text.length;
  }
}

const bareKeyChar = /[A-Za-z0-9_-]/;

/** One key of a dotted key: bare, "basic" (with escapes) or 'literal'. */
function readSimpleKey(s: Scanner): string {
  const quote = s.peek();
  if (quote === '"' || quote === "'") {
    const start = s.i;
    skipString(s);
    const raw = s.text.slice(start, s.i);
    if (quote === "'") return raw.slice(1, -1);
    try {
      return JSON.parse(raw) as string;
    } catch {
      return raw.slice(1, -1); // an escape JSON lacks (\e, \U): the key is only compared, never used
    }
  }
  const start = s.i;
  while (bareKeyChar.test(s.peek())) s.advance();
  return s.text.slice(start, s.i);
}

function readDottedKey(s: Scanner): string[] {
  const keys = [readSimpleKey(s)];
  s.skipBlank(false);
  while (s.peek() === '.') {
    s.advance();
    s.skipBlank(false);
    keys.push(readSimpleKey(s));
    s.skipBlank(false);
  }
  return keys;
}

/** Any string form, multi-line ones included; the scanner stands on its opening quote. */
function skipString(s: Scanner): void {
  const quote = s.peek();
  const triple = quote.repeat(3);
  if (s.startsWith(triple)) {
    s.advance(3);
    while (!s.atEnd() && !s.startsWith(triple)) s.advance(quote === '"' && s.peek() === '\\' ? 2 : 1);
    s.advance(3);
    while (s.peek() === quote) s.advance(); // up to two quotes may close the content itself
    return;
  }
  s.advance();
  while (!s.atEnd() && s.peek() !== quote && s.peek() !== '\n') s.advance(quote === '"' && s.peek() === '\\' ? 2 : 1);
  s.advance();
}

/** A value: records the keys of inline tables it holds, at `path` and below. */
function skipValue(s: Scanner, path: KeyPath, found: KeyLine[]): void {
  const c = s.peek();
  if (c === '"' || c === "'") return skipString(s);
  if (c === '[') {
    s.advance();
    for (let index = 0; ; index++) {
      s.skipBlank(true);
      if (s.peek() === ']' || s.atEnd()) break;
      skipValue(s, [...path, index], found);
      s.skipBlank(true);
      if (s.peek() === ',') s.advance();
    }
    s.advance();
    return;
  }
  if (c === '{') {
    s.advance();
    for (;;) {
      s.skipBlank(false);
      if (s.peek() === '}' || s.atEnd()) break;
      readKeyValue(s, path, found);
      s.skipBlank(false);
      if (s.peek() === ',') s.advance();
    }
    s.advance();
    return;
  }
  // A number, boolean or date: up to what ends a value.
  while (!s.atEnd() && !/[,\]}#\r\n]/.test(s.peek())) s.advance();
}

function readKeyValue(s: Scanner, table: KeyPath, found: KeyLine[]): void {
  const line = s.line;
  const path = [...table, ...readDottedKey(s)];
  found.push({ path, line });
  s.skipBlank(false);
  if (s.peek() === '=') s.advance();
  s.skipBlank(false);
  skipValue(s, path, found);
}

/** `[a.b]` or `[[a.b]]`: the table's path, with the index of each array of tables it passes. */
function readHeader(s: Scanner, arrays: Map<string, number>): KeyPath {
  const isArray = s.startsWith('[[');
  s.advance(isArray ? 2 : 1);
  s.skipBlank(false);
  const keys = readDottedKey(s);
  s.advance(isArray ? 2 : 1);
  const path: (string | number)[] = [];
  keys.forEach((key, n) => {
    path.push(key);
    const id = JSON.stringify(path);
    if (isArray && n === keys.length - 1) {
      const count = (arrays.get(id) ?? 0) + 1;
      arrays.set(id, count);
      path.push(count - 1);
    } else if (arrays.has(id)) {
      path.push(arrays.get(id)! - 1); // [x.y] under [[x]] belongs to the last x
    }
  });
  return path;
}

/** Every key path the text writes, with its line, in the order written. */
export function keyLines(text: string): KeyLine[] {
  const s = new Scanner(text);
  const found: KeyLine[] = [];
  const arrays = new Map<string, number>();
  let table: KeyPath = [];
  for (;;) {
    s.skipBlank(true);
    if (s.atEnd()) return found;
    if (s.peek() === '[') {
      const line = s.line;
      table = readHeader(s, arrays);
      found.push({ path: table, line });
    } else {
      readKeyValue(s, table, found);
    }
    s.skipBlank(false);
    if (s.peek() === '#') s.skipComment();
    // Anything else left on the line would be a syntax error smol-toml already refused.
    while (!s.atEnd() && s.peek() !== '\n') s.advance();
  }
}

const startsWithPath = (path: KeyPath, prefix: KeyPath): boolean =>
  prefix.length <= path.length && prefix.every((key, n) => path[n] === key);

/**
 * The line on which the key or table at `path` is first written: its own
 * assignment or header, else the first key written inside it (a table made by a
 * dotted key, `helth.timeout = "5s"`).
 */
export function lineOfKey(text: string, path: KeyPath): number | undefined {
  return keyLines(text).find((entry) => startsWithPath(entry.path, path))?.line;
}
