// What a Markdown file offers and points at, the way GitHub renders it: the
// anchors of its headings (github-slugger, duplicates numbered -1, -2, …) and
// the targets of its links (marked's lexer, so code blocks and code spans are
// never taken for links).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import GithubSlugger from 'github-slugger';
import { lexer, walkTokens, type Token } from 'marked';

/** The checkout: this file runs from dist/test/docs/. */
export const checkout = fileURLToPath(new URL('../../../', import.meta.url));

export interface MarkdownFile {
  /** Relative to the checkout, e.g. docs/formats.md. */
  path: string;
  anchors: Set<string>;
  links: string[];
}

/** The text a heading shows (what GitHub slugs), without Markdown syntax. */
function plainText(tokens: readonly Token[] | undefined): string {
  return (tokens ?? [])
    .map((token) => {
      if ('tokens' in token && token.tokens) return plainText(token.tokens);
      return token.type === 'html' ? '' : 'text' in token ? String(token.text) : '';
    })
    .join('');
}

export function readMarkdown(path: string): MarkdownFile {
  const tokens = lexer(readFileSync(join(checkout, path), 'utf8'));
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  const links: string[] = [];
  walkTokens(tokens, (token) => {
    if (token.type === 'heading') anchors.add(slugger.slug(plainText(token.tokens)));
    if (token.type === 'link' || token.type === 'image') links.push(token.href);
  });
  return { path, anchors, links };
}

/** Files below `dir` (relative to the checkout) whose name passes `keep`, skipping builds and dependencies. */
export function filesUnder(dir: string, keep: (name: string) => boolean = () => true): string[] {
  const found: string[] = [];
  const walk = (relativeDir: string): void => {
    for (const name of readdirSync(join(checkout, relativeDir)).sort()) {
      if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
      const path = join(relativeDir, name);
      if (statSync(join(checkout, path)).isDirectory()) walk(path);
      else if (keep(name)) found.push(relative(checkout, join(checkout, path)));
    }
  };
  walk(dir);
  return found;
}

/** 1-based line of `index` in `text`, for messages. */
export function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}
