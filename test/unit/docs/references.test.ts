/**
 * Every reference the project makes to its own files resolves: section
 * references (`docs/protocol.md §4.2`), relative markdown links and anchors
 * (`[ADR 0063](adr/0063-unfurl-answers.md)`, `docs/protocol.md#decisions`) and
 * backticked repo paths (`functions/shared/http.ts`), in code comments and in
 * the markdown. And every ADR has the header of `docs/adr/0000-template.md`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), '../../..'));

/** Folders whose comments are scanned; paths in backticks must start with one of these (or events/, bin/). */
const CODE_ROOTS = ['functions', 'lib', 'local', 'scripts', 'bench', 'test', 'bin'];
const PATH_ROOTS = [...CODE_ROOTS, 'docs', 'events'];
const SKIP_DIRS = new Set(['node_modules', 'cdk.out', '.local-data', 'results', 'dist', '.git']);
const CODE_EXT = /\.(?:ts|mts|cts|js|mjs|cjs)$/;

const walk = (dir: string): string[] => {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    if (d.isDirectory()) return SKIP_DIRS.has(d.name) ? [] : walk(join(dir, d.name));
    return [join(dir, d.name)];
  });
};

const rel = (abs: string): string => relative(ROOT, abs).split('\\').join('/');

/** A piece of prose (a comment line, a markdown line) with where it sits. */
interface Text {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

/** True when a `/` at `i` starts a regular expression literal rather than a division. */
const regexStarts = (src: string, i: number): boolean => {
  let j = i - 1;
  while (j >= 0 && (src[j] === ' ' || src[j] === '\t')) j--;
  if (j < 0) return true;
  const prev = src[j] as string;
  if ('(,=:[!&|?{};+-*%<>~^\n'.includes(prev)) return true;
  const word = /[A-Za-z_$]+$/.exec(src.slice(Math.max(0, j - 10), j + 1))?.[0];
  return word === 'return' || word === 'typeof' || word === 'case' || word === 'in' || word === 'of';
};

/** The comment lines of a JavaScript/TypeScript source, with their line numbers; strings and templates skipped. */
const commentsOf = (src: string, file: string): Text[] => {
  const out: Text[] = [];
  const modes: ('code' | 'template')[] = ['code'];
  const depth: number[] = [0];
  let line = 1;
  let i = 0;
  const advanceTo = (end: number) => {
    for (let k = i; k < end; k++) if (src[k] === '\n') line++;
    i = end;
  };
  while (i < src.length) {
    const c = src[i] as string;
    const n = src[i + 1];
    if (modes.at(-1) === 'template') {
      if (c === '\\') advanceTo(i + 2);
      else if (c === '`') {
        modes.pop();
        i++;
      } else if (c === '$' && n === '{') {
        modes.push('code');
        depth.push(0);
        i += 2;
      } else advanceTo(i + 1);
      continue;
    }
    if (c === '/' && n === '/') {
      const nl = src.indexOf('\n', i);
      const end = nl < 0 ? src.length : nl;
      out.push({ file, line, text: src.slice(i + 2, end) });
      i = end;
    } else if (c === '/' && n === '*') {
      const close = src.indexOf('*/', i + 2);
      const end = close < 0 ? src.length : close;
      src
        .slice(i + 2, end)
        .split('\n')
        .forEach((text, k) => {
          out.push({ file, line: line + k, text: text.replace(/^\s*\*/, '') });
        });
      advanceTo(close < 0 ? end : end + 2);
    } else if (c === '"' || c === "'") {
      let k = i + 1;
      while (k < src.length && src[k] !== c && src[k] !== '\n') k += src[k] === '\\' ? 2 : 1;
      advanceTo(k + 1);
    } else if (c === '`') {
      modes.push('template');
      i++;
    } else if (c === '/' && regexStarts(src, i)) {
      let k = i + 1;
      let inClass = false;
      while (k < src.length && src[k] !== '\n' && (inClass || src[k] !== '/')) {
        if (src[k] === '\\') k++;
        else if (src[k] === '[') inClass = true;
        else if (src[k] === ']') inClass = false;
        k++;
      }
      advanceTo(k + 1);
    } else if (c === '{') {
      depth[depth.length - 1] = (depth.at(-1) as number) + 1;
      i++;
    } else if (c === '}') {
      if (modes.length > 1 && depth.at(-1) === 0) {
        modes.pop();
        depth.pop();
      } else depth[depth.length - 1] = (depth.at(-1) as number) - 1;
      i++;
    } else advanceTo(i + 1);
  }
  return out;
};

/** The prose lines of a markdown file: everything outside fenced code blocks. */
const proseOf = (src: string, file: string): Text[] => {
  let fenced = false;
  return src.split('\n').flatMap((text, k) => {
    if (/^\s*(```|~~~)/.test(text)) {
      fenced = !fenced;
      return [];
    }
    return fenced ? [] : [{ file, line: k + 1, text }];
  });
};

/** GitHub's anchor of a heading: inline markup dropped, lower case, punctuation removed, spaces to hyphens. */
const slugOf = (heading: string): string =>
  heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*]/g, '')
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\p{Pc}\s-]/gu, '')
    .replace(/\s/g, '-');

interface Headings {
  readonly anchors: ReadonlySet<string>;
  readonly sections: ReadonlySet<string>;
}

const headingCache = new Map<string, Headings>();
/** The anchors (with GitHub's -1, -2 for repeats) and section numbers (`2.1`, `1b`) of a markdown file. */
const headingsOf = (abs: string): Headings => {
  const cached = headingCache.get(abs);
  if (cached) return cached;
  const anchors = new Set<string>();
  const sections = new Set<string>();
  const seen = new Map<string, number>();
  for (const { text } of proseOf(readFileSync(abs, 'utf8'), abs)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text);
    if (!m) continue;
    const title = m[1] as string;
    const slug = slugOf(title);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
    const num = /^(?:§\s*)?(\d+[a-z]?(?:\.\d+)*)\.?(?:\s|$)/.exec(title);
    if (num) sections.add(num[1] as string);
  }
  for (const m of readFileSync(abs, 'utf8').matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) anchors.add(m[1] as string);
  const result = { anchors, sections };
  headingCache.set(abs, result);
  return result;
};

/** Where a referenced path lives: repo-relative when it starts with a top folder, else next to the referring file. */
const resolveFrom = (from: string, target: string): string => {
  const top = target.split('/')[0] as string;
  if ([...PATH_ROOTS, 'README.md', 'CONTRIBUTING.md', 'CHANGELOG.md'].includes(top)) return join(ROOT, target);
  return normalize(join(ROOT, dirname(from), target));
};

const isFile = (abs: string): boolean => existsSync(abs) && statSync(abs).isFile();

const codeFiles = CODE_ROOTS.flatMap((d) => walk(join(ROOT, d))).filter((f) => CODE_EXT.test(f));
const markdownFiles = [
  ...['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md'].map((f) => join(ROOT, f)).filter(isFile),
  ...[...CODE_ROOTS, 'docs'].flatMap((d) => walk(join(ROOT, d))).filter((f) => f.endsWith('.md')),
];

const comments: Text[] = codeFiles.flatMap((f) => commentsOf(readFileSync(f, 'utf8'), rel(f)));
const prose: Text[] = markdownFiles.flatMap((f) => proseOf(readFileSync(f, 'utf8'), rel(f)));
const where = (t: Text) => `${t.file}:${t.line}`;

/** A section sign with a number (`2.1`, `1b`), maybe a range (`2.1–2.4`); whose section it is comes before it. */
const SECTION = /§\s*(\d+[a-z]?(?:\.\d+)*)(?:\s*[–-]\s*(\d+[a-z]?(?:\.\d+)*))?/g;
/**
 * What a section number may belong to: an RFC, an OpenID spec, or a document (a markdown path, or a
 * bare upper-case name such as a file of another repository, which then fails as not found).
 */
const OWNER =
  /(RFC\s*\d+(?=\s*$)|OpenID Connect [A-Z][A-Za-z ]*?(?=\s*$)|[\w./-]+\.md(?=(?:#[\w-]*)?[)`]?\s*$)|\b[A-Z][A-Z_-]{3,}(?=\s*$))/;

/** Broken `§` references in one file's lines; a bare `§N` belongs to the last owner named before it in that file. */
const brokenSections = (lines: readonly Text[], markdown: boolean): string[] => {
  const broken: string[] = [];
  let owner: string | undefined;
  let previous = '';
  for (const t of lines) {
    for (const m of t.text.matchAll(SECTION)) {
      // An owner at the end of the previous line counts when the § opens this one.
      const before = t.text.slice(0, m.index).trim() === '' ? previous : t.text.slice(0, m.index);
      const named = OWNER.exec(before.replace(/\s*(?:Part [AB]\s*)$/, ''));
      // A bare § ("RFC 6749 §5.2 at the token endpoint, §4.1.2.1") keeps the owner named last.
      if (named) owner = named[1];
      const current = owner ?? (markdown ? t.file : undefined);
      if (current === undefined) {
        broken.push(`${where(t)}: "${m[0]}" names no file (write docs/protocol.md ${m[0]})`);
        continue;
      }
      if (/^(RFC|OpenID)/.test(current)) continue;
      const abs = current === t.file ? join(ROOT, t.file) : resolveFrom(t.file, current);
      if (!isFile(abs)) {
        broken.push(`${where(t)}: "${current} ${m[0]}": ${current} is not a file of this repository`);
        continue;
      }
      const { sections } = headingsOf(abs);
      for (const n of [m[1], m[2]]) {
        if (n !== undefined && !sections.has(n)) broken.push(`${where(t)}: "${current} ${m[0]}": no heading §${n}`);
      }
    }
    previous = t.text.trimEnd();
  }
  return broken;
};

const byFile = (texts: readonly Text[]): Map<string, Text[]> => {
  const map = new Map<string, Text[]>();
  for (const t of texts) map.set(t.file, [...(map.get(t.file) ?? []), t]);
  return map;
};

/** `path#anchor` (or just `path`) checked against the file system and the target's headings. */
const brokenTarget = (t: Text, target: string): string | undefined => {
  const [path = '', anchor] = target.split('#');
  const abs = path === '' ? join(ROOT, t.file) : resolveFrom(t.file, decodeURI(path));
  if (!existsSync(abs)) return `${where(t)}: "${target}": no such file`;
  if (anchor === undefined || anchor === '') return undefined;
  if (!abs.endsWith('.md')) return undefined;
  return headingsOf(abs).anchors.has(decodeURIComponent(anchor).toLowerCase())
    ? undefined
    : `${where(t)}: "${target}": no heading with anchor #${anchor}`;
};

/** Paths that name what a run writes (ignored by git) or a placeholder, not a file of the repository. */
const NOT_IN_REPO = /^bench\/results\/|NNNN/;
const PATH = new RegExp(`^((?:${PATH_ROOTS.join('|')})/[\\w.@/-]*\\.[A-Za-z]{1,5})(#[\\w-]+)?(?::\\d+)?$`);
/** A backticked repo path: the whole backtick content is the path, maybe with an anchor or a line number. */
const brokenBacktickedPaths = (t: Text): string[] =>
  [...t.text.matchAll(/`([^`\s]+)`/g)].flatMap((m) => {
    const p = PATH.exec(m[1] as string);
    if (!p || NOT_IN_REPO.test(p[1] as string)) return [];
    const broken = brokenTarget(t, `${p[1]}${p[2] ?? ''}`);
    return broken ? [broken] : [];
  });

/** A markdown path under docs/ (or test/, local/, bench/) with an anchor, written in prose, backticked or not. */
const brokenAnchoredPaths = (t: Text): string[] =>
  [...t.text.matchAll(/(?<![\w/(])((?:docs|test|local|bench)\/[\w./-]*\.md#[\w-]+)/g)].flatMap((m) => {
    const broken = brokenTarget(t, m[1] as string);
    return broken ? [broken] : [];
  });

/** Relative markdown links `[text](target)`; external URLs are not followed. */
const brokenLinks = (t: Text): string[] =>
  [...t.text.replace(/`[^`]*`/g, '').matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].flatMap((m) => {
    const target = m[1] as string;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || NOT_IN_REPO.test(target)) return [];
    const broken = brokenTarget(t, target);
    return broken ? [broken] : [];
  });

describe('references in code comments', () => {
  it('scans the comments of the code folders', () => {
    expect(codeFiles.length).toBeGreaterThan(100);
    expect(comments.some((c) => c.file === 'lib/routes.ts')).toBe(true);
  });

  it('every § reference names a file of this repository with that numbered heading', () => {
    const broken = [...byFile(comments).values()].flatMap((lines) => brokenSections(lines, false));
    expect(broken).toEqual([]);
  });

  it('every backticked repo path and every docs/…md#anchor exists', () => {
    const broken = comments.flatMap((t) => [...brokenBacktickedPaths(t), ...brokenAnchoredPaths(t)]);
    expect(broken).toEqual([]);
  });
});

describe('references in the markdown', () => {
  it('scans README.md and docs/', () => {
    expect(markdownFiles.map(rel)).toEqual(expect.arrayContaining(['README.md', 'docs/protocol.md']));
  });

  it('every § reference names a file of this repository with that numbered heading', () => {
    const broken = [...byFile(prose).values()].flatMap((lines) => brokenSections(lines, true));
    expect(broken).toEqual([]);
  });

  it('every relative link, anchor and backticked repo path resolves', () => {
    const broken = prose.flatMap((t) => [...brokenLinks(t), ...brokenBacktickedPaths(t), ...brokenAnchoredPaths(t)]);
    expect(broken).toEqual([]);
  });
});

/** Every string of a JSON value, with the line of the file it is on. */
const jsonStrings = (src: string, file: string): Text[] =>
  src
    .split('\n')
    .flatMap((line, k) =>
      [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => ({ file, line: k + 1, text: JSON.parse(`"${m[1]}"`) })),
    );

/** Repo paths written plainly in a message (`functions/adapters`, `functions/shared/http.ts`); globs are not paths. */
const brokenPlainPaths = (t: Text): string[] =>
  [...t.text.matchAll(/(?<![\w/#*.-])((?:functions|lib|local|scripts|bench|test|bin|docs)(?:\/[\w.-]+)+)\/?/g)].flatMap(
    (m) => {
      const path = (m[1] as string).replace(/\.$/, '');
      return existsSync(join(ROOT, path)) ? [] : [`${where(t)}: "${path}": no such file or folder`];
    },
  );

describe("references in the lint rules' messages", () => {
  // What a developer reads when `npm run lint` refuses an import (biome.json's noRestrictedImports).
  const messages = jsonStrings(readFileSync(join(ROOT, 'biome.json'), 'utf8'), 'biome.json').filter((t) =>
    /\s/.test(t.text),
  );

  it('scans the messages of biome.json', () => {
    expect(messages.some((t) => t.text.includes('functions/core'))).toBe(true);
  });

  it('every § reference names a file of this repository with that numbered heading', () => {
    expect(brokenSections(messages, false)).toEqual([]);
  });

  it('every repo path a message names exists', () => {
    expect(messages.flatMap(brokenPlainPaths)).toEqual([]);
  });
});

describe('the checks themselves', () => {
  it('finds comments but not strings, templates or regular expressions', () => {
    const src = [
      "const a = '// not a comment';",
      'const b = `/* nor \x24{"this"} */`;',
      "const re = /'\\/\\//; // one",
      '/** two',
      ' * three */',
    ].join('\n');
    expect(commentsOf(src, 'x.ts').map((c) => [c.line, c.text.trim()])).toEqual([
      [3, 'one'],
      [4, 'two'],
      [5, 'three'],
    ]);
  });

  it('slugs headings as GitHub does', () => {
    expect(slugOf('2.1 Notion → the browser → our `authorize` URL (GET)')).toBe(
      '21-notion--the-browser--our-authorize-url-get',
    );
    expect(slugOf("Decisions where Notion's docs are silent")).toBe('decisions-where-notions-docs-are-silent');
  });

  it('reports a missing section, a missing file and a bare § in code', () => {
    const t = (text: string): Text => ({ file: 'functions/x.ts', line: 7, text });
    expect(brokenSections([t('see docs/protocol.md §99')], false)).toEqual([
      'functions/x.ts:7: "docs/protocol.md §99": no heading §99',
    ]);
    expect(brokenSections([t('see gone.md §1')], false)[0]).toContain('gone.md is not a file');
    expect(brokenSections([t('(§4.5)')], false)[0]).toContain('names no file');
    expect(brokenSections([t('docs/protocol.md §4'), t('(§4.5)'), t('RFC 6749 §5.2, §4.1.2.1')], false)).toEqual([]);
    expect(
      brokenSections([t('[the protocol](docs/protocol.md#decisions) §4.5, `docs/protocol.md` §99')], false),
    ).toEqual(['functions/x.ts:7: "docs/protocol.md §99": no heading §99']);
    expect(brokenBacktickedPaths(t('`functions/core/nothing-here.ts`'))).toHaveLength(1);
    expect(brokenAnchoredPaths(t('docs/protocol.md#no-such-heading'))).toHaveLength(1);
  });
});

const ADR_DIR = join(ROOT, 'docs/adr');
const adrFiles = readdirSync(ADR_DIR)
  .filter((f) => /^\d{4}-.*\.md$/.test(f) && f !== '0000-template.md')
  .sort();

/** One ADR's header: the lines between its title and its first `## ` heading, continuations joined. */
interface AdrHeader {
  readonly number: string;
  readonly title: string;
  /** `- Name: value` entries in order; a value may continue on lines indented by two spaces. */
  readonly entries: readonly { readonly name: string; readonly value: string }[];
  /** Lines of the header that are neither an entry, a continuation nor blank. */
  readonly stray: readonly string[];
}

const headerOf = (name: string, text: string): AdrHeader => {
  const lines = text.split('\n');
  const end = lines.findIndex((l, k) => k > 0 && l.startsWith('## '));
  const entries: { name: string; value: string }[] = [];
  const stray: string[] = [];
  for (const line of lines.slice(1, end < 0 ? lines.length : end)) {
    const entry = /^- ([A-Z][A-Za-z ]*): (.*)$/.exec(line);
    const last = entries.at(-1);
    if (entry) entries.push({ name: entry[1] as string, value: (entry[2] as string).trim() });
    else if (line.startsWith('  ') && line.trim() !== '' && last) last.value += ` ${line.trim()}`;
    else if (line.trim() !== '') stray.push(line);
  }
  return { number: name.slice(0, 4), title: lines[0] ?? '', entries, stray };
};

/** The ADR numbers a header value links to, each checked to be `[NNNN](NNNN-….md)` of an existing ADR. */
const adrLinks = (value: string): { readonly numbers: string[]; readonly broken: string[] } => {
  const numbers: string[] = [];
  const broken: string[] = [];
  for (const link of value.matchAll(/\[(?:ADR )?(\d{4})\]\(([^)]+)\)/g)) {
    const target = link[2] as string;
    if (!target.startsWith(`${link[1]}-`) || !existsSync(join(ADR_DIR, target))) {
      broken.push(`[${link[1]}](${target}) is not an ADR of that number`);
    } else numbers.push(link[1] as string);
  }
  return { numbers, broken };
};

/** proposed or accepted (maybe with a remark in parentheses), partly superseded, or superseded. */
const STATUS =
  /^(?:(?:proposed|accepted)(?:$| \()|accepted; superseded in part by \[\d{4}\]\([^)]+\)|superseded by \[\d{4}\]\([^)]+\))/;

/** Problems with one ADR's header, as the template (docs/adr/0000-template.md) writes it. */
const headerProblems = (header: AdrHeader, today: string): string[] => {
  const problems: string[] = [];
  if (!header.title.startsWith(`# ${header.number}. `)) problems.push(`line 1 is not "# ${header.number}. Title"`);
  const names = header.entries.map((e) => e.name);
  if (
    !(
      names[0] === 'Status' &&
      names[1] === 'Date' &&
      (names.length === 2 || (names.length === 3 && names[2] === 'Supersedes'))
    )
  ) {
    problems.push(`header lines are ${JSON.stringify(names)}, not Status, Date and maybe Supersedes`);
  }
  for (const line of header.stray)
    problems.push(`header line "${line}" is not "- Status:", "- Date:" or "- Supersedes:"`);
  const status = header.entries.find((e) => e.name === 'Status')?.value;
  if (status === undefined) problems.push('no "- Status: " line under the title');
  else if (!STATUS.test(status)) {
    problems.push(
      `Status "${status}" is not proposed, accepted, "accepted; superseded in part by [NNNN](…)" or "superseded by [NNNN](…)"`,
    );
  }
  const date = header.entries.find((e) => e.name === 'Date')?.value;
  if (date === undefined || !/^\d{4}-\d{2}-\d{2}$/.test(date)) problems.push('no "- Date: YYYY-MM-DD" line');
  else if (date > today) problems.push(`Date ${date} is later than today (${today})`);
  for (const e of header.entries) {
    const { numbers, broken } = adrLinks(e.value);
    problems.push(...broken.map((b) => `${e.name}: ${b}`));
    if (e.name === 'Supersedes' && numbers.length === 0) problems.push('Supersedes links no ADR');
    if (numbers.includes(header.number)) problems.push(`${e.name} links the ADR itself`);
  }
  return problems;
};

const adrHeaders = adrFiles.map((name) => headerOf(name, readFileSync(join(ADR_DIR, name), 'utf8')));
const headerByNumber = new Map(adrHeaders.map((h) => [h.number, h]));
const linksIn = (h: AdrHeader | undefined, entry: string): string[] =>
  adrLinks(h?.entries.find((e) => e.name === entry)?.value ?? '').numbers;
const localToday = (): string => {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
};

describe('ADR headers', () => {
  it.each(adrFiles)('%s: title, Status, Date and maybe Supersedes, as in the template', (name) => {
    expect(headerProblems(headerOf(name, readFileSync(join(ADR_DIR, name), 'utf8')), localToday())).toEqual([]);
  });

  it('the template itself has the header it asks for', () => {
    const template = readFileSync(join(ADR_DIR, '0000-template.md'), 'utf8');
    expect(template).toMatch(/^- Status: .*superseded by \[NNNN\]/m);
    expect(template).toMatch(/^- Status: .*superseded in part by \[NNNN\]/m);
    expect(template).toMatch(/^- Date: YYYY-MM-DD$/m);
    expect(template).toMatch(/^- Supersedes: \[NNNN\]/m);
  });

  it('a superseded ADR and its successor name each other: Status links the successor, Supersedes the predecessor', () => {
    const unmatched: string[] = [];
    for (const h of adrHeaders) {
      for (const successor of linksIn(h, 'Status')) {
        if (!linksIn(headerByNumber.get(successor), 'Supersedes').includes(h.number)) {
          unmatched.push(
            `${h.number} says it is superseded by ${successor}, whose Supersedes line does not link ${h.number}`,
          );
        }
        if (successor < h.number) unmatched.push(`${h.number} is superseded by the earlier ${successor}`);
      }
      for (const predecessor of linksIn(h, 'Supersedes')) {
        if (!linksIn(headerByNumber.get(predecessor), 'Status').includes(h.number)) {
          unmatched.push(`${h.number} supersedes ${predecessor}, whose Status does not link ${h.number}`);
        }
      }
    }
    expect(unmatched).toEqual([]);
  });

  it('numbers from 0100 on are taken in order: a later number never carries an earlier date', () => {
    const dated = adrHeaders
      .filter((h) => h.number >= '0100')
      .map((h) => ({ number: h.number, date: h.entries.find((e) => e.name === 'Date')?.value ?? '' }));
    const out = dated.flatMap((d, k) =>
      k > 0 && d.date < (dated[k - 1]?.date ?? '') ? [`${d.number} (${d.date}) before ${dated[k - 1]?.number}`] : [],
    );
    expect(out).toEqual([]);
  });

  it('reports a header out of the template', () => {
    const h = (text: string) => headerProblems(headerOf('0200-x.md', text), '2026-12-07');
    expect(h('# 0200. X\n\n- Status: accepted\n- Date: 2026-12-07\n\n## Context\n')).toEqual([]);
    expect(h('# 0200. X\n\n- Status: accepted\n- Date: 2026-12-08\n\n## Context\n')).toEqual([
      'Date 2026-12-08 is later than today (2026-12-07)',
    ]);
    expect(
      h('# 0200. X\n\n- Status: accepted (supersedes 0100)\n- Date: 2026-12-07\n- Replaces: 0100\n## C\n'),
    ).toEqual(['header lines are ["Status","Date","Replaces"], not Status, Date and maybe Supersedes']);
    expect(
      h('# 0200. X\n\n- Status: amended by [0100](0100-node-24-everywhere.md)\n- Date: 2026-12-07\n## C\n')[0],
    ).toMatch(/^Status "amended by/);
    expect(
      h(
        '# 0200. X\n\n- Status: accepted; amended by [0100](0100-node-24-everywhere.md)\n- Date: 2026-12-07\n## C\n',
      )[0],
    ).toMatch(/^Status "accepted; amended by/);
    expect(h('# 0200. X\n\n- Status: accepted\n- Date: 2026-12-07\n- Supersedes: 0100\n## C\n')).toEqual([
      'Supersedes links no ADR',
    ]);
  });
});
