// The documentation in docs/ is the contract the code cites: every citation in the
// code must land on a heading of the page it names, every link between the pages
// must resolve, and nothing in the repository may point outside it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { checkout, filesUnder, lineOf, readMarkdown, type MarkdownFile } from './markdown-anchors.js';

// Spelled in pieces so that this file neither cites nor names what it looks for.
const citationWord = ['SP', 'EC'].join('');
const outsideMentions = ['..' + '/shared', citationWord + '.md'];

const markdownPaths = ['README.md', 'systemd/README.md', ...filesUnder('docs', (name) => name.endsWith('.md'))];
const codePaths = ['src', 'scripts', 'test'].flatMap((dir) => filesUnder(dir, (name) => /\.(ts|mjs|js|sh|py)$/.test(name)));
const everyPath = [...markdownPaths, ...codePaths, ...filesUnder('systemd')];

const markdown = new Map<string, MarkdownFile>(markdownPaths.map((path) => [path, readMarkdown(path)]));
const read = (path: string): string => readFileSync(join(checkout, path), 'utf8');

/** Why `docs/<file>#<anchor>` does not resolve, or undefined when it does. */
function docProblem(file: string, anchor: string | undefined): string | undefined {
  const page = markdown.get(join('docs', file));
  if (!page) return `docs/${file} does not exist`;
  if (anchor !== undefined && !page.anchors.has(anchor)) return `docs/${file} has no heading with the anchor #${anchor}`;
  return undefined;
}

/** Every `<file>.md#<anchor>` a code file cites after the citation word, with where it is. */
function citationsIn(path: string): { file: string; anchor: string; line: number }[] {
  const text = read(path);
  const found: { file: string; anchor: string; line: number }[] = [];
  // One citation may name several anchors: `<word> a.md#x, b.md#y: …`.
  const citation = new RegExp(`\\b${citationWord} ((?:[a-z0-9-]+\\.md#[a-z0-9_-]+(?:, )?)+)`, 'g');
  for (const match of text.matchAll(citation)) {
    for (const cited of match[1]!.matchAll(/([a-z0-9-]+\.md)#([a-z0-9_-]+)/g)) {
      found.push({ file: cited[1]!, anchor: cited[2]!, line: lineOf(text, match.index!) });
    }
  }
  return found;
}

test('the docs pages other helpers cite exist', () => {
  for (const page of ['README', 'formats', 'config', 'commands', 'host-layout', 'install', 'publishing', 'containers', 'fleet', 'runbook', 'design', 'benchmarks']) {
    assert.ok(markdown.has(`docs/${page}.md`), `docs/${page}.md is missing`);
  }
});

test('every citation in src/, scripts/ and test/ lands on a heading of its docs page', () => {
  const problems: string[] = [];
  let count = 0;
  for (const path of codePaths) {
    for (const { file, anchor, line } of citationsIn(path)) {
      count += 1;
      const problem = docProblem(file, anchor);
      if (problem) problems.push(`${path}:${line}: ${problem}`);
    }
  }
  assert.equal(problems, []);
  assert.ok(count >= 100, `only ${count} citations found: is the pattern still right?`);
});

test('no citation in src/, scripts/ or test/ names a section without its docs file', () => {
  const problems: string[] = [];
  const bare = new RegExp(`\\b${citationWord}\\b(?! [a-z0-9-]+\\.md#[a-z0-9_-]+)`, 'g');
  for (const path of codePaths) {
    const text = read(path);
    for (const match of text.matchAll(bare)) {
      const lineText = text.slice(text.lastIndexOf('\n', match.index!) + 1, text.indexOf('\n', match.index!));
      problems.push(`${path}:${lineOf(text, match.index!)}: ${lineText.trim()}`);
    }
  }
  assert.equal(problems, [], `write "${citationWord} <file>.md#<anchor>: …" (docs/<file>.md, a GitHub heading anchor)`);
});

test('every relative link in README.md and docs/ resolves, anchor included, inside the repository', () => {
  const problems: string[] = [];
  for (const page of markdown.values()) {
    for (const href of page.links) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(href)) continue; // http:, https:, mailto:, file:
      const [target, anchor] = href.split('#') as [string, string | undefined];
      const resolved = target === '' ? page.path : normalize(join(dirname(page.path), decodeURIComponent(target)));
      if (resolved.startsWith('..')) {
        problems.push(`${page.path}: ${href} leaves the repository`);
        continue;
      }
      if (!existsSync(join(checkout, resolved))) {
        problems.push(`${page.path}: ${href}: ${resolved} does not exist`);
        continue;
      }
      if (anchor === undefined || anchor === '') continue;
      const linked = markdown.get(resolved) ?? (resolved.endsWith('.md') ? readMarkdown(resolved) : undefined);
      if (!linked) problems.push(`${page.path}: ${href}: an anchor on a file that is not Markdown`);
      else if (!linked.anchors.has(anchor)) problems.push(`${page.path}: ${href}: ${resolved} has no heading #${anchor}`);
    }
  }
  assert.equal(problems, []);
});

test('every docs/<file>.md the code, scripts and units mention exists, with its anchor', () => {
  const problems: string[] = [];
  for (const path of [...codePaths, ...filesUnder('systemd')]) {
    const text = read(path);
    for (const match of text.matchAll(/\bdocs\/([a-z0-9-]+\.md)(?:#([a-z0-9_-]+))?/g)) {
      const problem = docProblem(match[1]!, match[2]);
      if (problem) problems.push(`${path}:${lineOf(text, match.index!)}: ${problem}`);
    }
  }
  assert.equal(problems, []);
});

test('nothing in the repository points at the contract outside it', () => {
  const problems: string[] = [];
  for (const path of everyPath) {
    if (!statSync(join(checkout, path)).isFile()) continue;
    const text = read(path);
    for (const mention of outsideMentions) {
      const index = text.indexOf(mention);
      if (index >= 0) problems.push(`${relative('.', path)}:${lineOf(text, index)}: mentions ${mention}`);
    }
  }
  assert.equal(problems, []);
});

test.run();
