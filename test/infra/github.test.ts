/**
 * The GitHub hosting files: the CI workflow passes @action-validator/cli (the
 * schemastore workflow schema, run offline from its WebAssembly build) and does
 * what CONTRIBUTING.md says CI does; Dependabot's groups cover the packages
 * that are released together.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';

const root = new URL('../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');
const WORKFLOW = '.github/workflows/ci.yml';
const DEPENDABOT = '.github/dependabot.yml';

const validatorCli = join(
  dirname(createRequire(import.meta.url).resolve('@action-validator/cli/package.json')),
  'cli.mjs',
);

/** Runs action-validator on a file; it treats any file not named action.y(a)ml as a workflow. */
const validate = (file: string) => {
  const r = spawnSync(process.execPath, [validatorCli, file], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
};

const scratch = mkdtempSync(join(tmpdir(), 'github-files-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('CI workflow', () => {
  const workflow = read(WORKFLOW);

  it('passes the workflow schema', () => {
    const r = validate(new URL(WORKFLOW, root).pathname);
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it('a broken copy fails it, naming the problem', () => {
    const broken = workflow.replace(/^(\s+)runs-on:/m, '$1runs_on:');
    expect(broken).not.toBe(workflow);
    const file = join(scratch, 'ci.yml');
    writeFileSync(file, broken);
    const r = validate(file);
    expect(r.status).toBe(1);
    expect(r.output).toContain("Additional property 'runs_on' is not allowed");
  });

  it('a copy that is not YAML fails it', () => {
    const file = join(scratch, 'not-yaml.yml');
    writeFileSync(file, `${workflow}\n  - : [unclosed\n`);
    expect(validate(file).status).toBe(1);
  });

  it('runs on every push and pull request, on ubuntu-latest with Node.js 24', () => {
    expect(workflow).toMatch(/^on:\n {2}push:\n {2}pull_request:\n/m);
    const runsOn = [...workflow.matchAll(/runs-on: (.+)/g)].map((m) => m[1]);
    expect(runsOn.length).toBeGreaterThan(0);
    expect(new Set(runsOn)).toEqual(new Set(['ubuntu-latest']));
    // Every setup-node step reads .nvmrc, the one place that names the Node.js version, and it says 24.
    const nodeVersions = [...workflow.matchAll(/node-version(?:-file)?: (.+)/g)].map((m) => m[1]);
    expect(nodeVersions.length).toBe([...workflow.matchAll(/uses: actions\/setup-node@/g)].length);
    expect(new Set(nodeVersions)).toEqual(new Set(['.nvmrc']));
    expect(read('.nvmrc').trim().replace(/^v/, '')).toMatch(/^24(\D|$)/);
  });

  it('runs the test suite, the production audit and a CDK synth', () => {
    expect(workflow).toMatch(/run: bash \.ci\/run$/m);
    expect(workflow).toMatch(/run: npm audit --omit=dev$/m);
    expect(workflow).toMatch(/run: npx cdk synth\b/m);
  });

  it('pins every action to a major version or a commit', () => {
    const uses = [...workflow.matchAll(/uses: (\S+)/g)].map((m) => m[1] as string);
    expect(uses.length).toBeGreaterThan(0);
    const unpinned = uses.filter((u) => !/^[\w.-]+\/[\w./-]+@(v\d+|[0-9a-f]{40})$/.test(u));
    expect(unpinned).toEqual([]);
  });
});

/**
 * The list items under each `patterns:` key of a Dependabot ecosystem block
 * (the file keeps to block style, one quoted pattern per line).
 */
const groupPatterns = (block: string): Map<string, string[]> => {
  const groups = new Map<string, string[]>();
  let group: string | undefined;
  let key: string | undefined;
  for (const line of block.split('\n')) {
    const g = /^ {6}([\w-]+):\s*$/.exec(line);
    if (g) {
      group = g[1] as string;
      groups.set(group, []);
      continue;
    }
    const k = /^ {8}([\w-]+):/.exec(line);
    if (k) key = k[1];
    const item = /^ {10}- "(.+)"$/.exec(line);
    if (item && group && key === 'patterns') groups.get(group)?.push(item[1] as string);
  }
  return groups;
};

const matches = (pattern: string, name: string): boolean =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\/]/g, '\\$&').replace(/\*/g, '.*')}$`).test(name);

describe('Dependabot', () => {
  const text = read(DEPENDABOT);
  const blocks = text.split(/^ {2}- package-ecosystem: /m).slice(1);
  const byEcosystem = new Map(blocks.map((b) => [JSON.parse(b.slice(0, b.indexOf('\n'))) as string, b]));
  const pkg = JSON.parse(read('package.json')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  const packages = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)];

  it('is version 2 and updates npm packages and GitHub Actions weekly, from the root', () => {
    expect(text).toMatch(/^version: 2$/m);
    expect([...byEcosystem.keys()].sort()).toEqual(['github-actions', 'npm']);
    for (const block of byEcosystem.values()) {
      expect(block).toMatch(/^ {4}directory: "\/"$/m);
      expect(block).toMatch(/^ {6}interval: "weekly"$/m);
    }
  });

  it('groups the AWS SDK, Powertools, middy and the CDK, each pattern matching a dependency', () => {
    const groups = groupPatterns(byEcosystem.get('npm') ?? '');
    for (const name of ['aws-sdk', 'powertools', 'middy', 'cdk']) expect(groups.get(name)?.length).toBeGreaterThan(0);
    const stale = [...groups.values()].flat().filter((p) => !packages.some((n) => matches(p, n)));
    expect({ patternsMatchingNoDependency: stale }).toEqual({ patternsMatchingNoDependency: [] });
    const family = /^(@aws-sdk\/|@aws-lambda-powertools\/|@middy\/|aws-cdk|constructs$|cdk-nag$)/;
    const ungrouped = packages.filter((n) => family.test(n) && ![...groups.values()].flat().some((p) => matches(p, n)));
    expect({ ungrouped }).toEqual({ ungrouped: [] });
  });
});
