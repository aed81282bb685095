/**
 * `npm run smoke`'s command line: a --webhook-secret that is empty (an unset shell variable) or not a
 * Standard Webhooks secret is a usage error, not a silently skipped or failed check; a failed request
 * says why it failed.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { RuntimeInfo } from '#local/runtime-info.js';
import { runCli, UsageError } from '../../../scripts/cli.js';
import { baseUrlOf, CLI, main, requestFailure, webhookSecretOf } from '../../../scripts/smoke.js';

const capture = async (argv: string[]) => {
  let stdout = '';
  let stderr = '';
  let requests = 0;
  const code = await runCli(
    CLI,
    argv,
    (args) =>
      main(
        args,
        (line) => {
          stdout += `${line}\n`;
        },
        async () => {
          requests += 1;
          throw new TypeError('fetch failed');
        },
      ),
    {
      stdout: (t) => {
        stdout += t;
      },
      stderr: (t) => {
        stderr += t;
      },
      env: {},
    },
  );
  return { code, stdout, stderr, requests };
};

describe('smoke --webhook-secret', () => {
  it('an empty value is a usage error (exit 2) before any request', async () => {
    const { code, stderr, stdout, requests } = await capture([
      '--base-url',
      'http://127.0.0.1:1',
      '--webhook-secret',
      '',
    ]);
    expect(code).toBe(2);
    expect(stderr).toBe(
      'smoke: --webhook-secret is empty (is the variable that should hold the secret set?) (see --help)\n',
    );
    expect(stdout).toBe('');
    expect(requests).toBe(0);
  });

  it('a value outside the base64 alphabet is a usage error', async () => {
    const { code, stderr } = await capture(['--base-url', 'http://127.0.0.1:1', '--webhook-secret', 'not a secret!']);
    expect(code).toBe(2);
    expect(stderr).toContain('--webhook-secret is not a Standard Webhooks secret');
  });

  it('a value in the base64 alphabet that does not decode (as the service would decode it) is a usage error, not a failed check', async () => {
    // In the alphabet, but too short to decode: the service's verifier (the same Standard Webhooks decoder)
    // could not use it either.
    for (const secret of ['whsec_abc', 'ab=', 'a']) {
      const { code, stderr, stdout, requests } = await capture([
        '--base-url',
        'http://127.0.0.1:1',
        '--webhook-secret',
        secret,
      ]);
      expect({ secret, code, stdout, requests }).toEqual({ secret, code: 2, stdout: '', requests: 0 });
      expect(stderr).toMatch(
        /^smoke: --webhook-secret is not a Standard Webhooks secret: its base64 does not decode \(.+\) \(see --help\)\n$/,
      );
    }
  });

  it('takes whsec_<base64> and the bare base64 the stack generates', () => {
    expect(webhookSecretOf({ 'webhook-secret': 'whsec_bG9jYWwtY2hhbmdlcy13ZWJob29rLXNlY3JldA==' })).toBe(
      'whsec_bG9jYWwtY2hhbmdlcy13ZWJob29rLXNlY3JldA==',
    );
    expect(
      webhookSecretOf({ 'webhook-secret': 'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6' }),
    ).toMatch(/^Zm9v/);
    expect(webhookSecretOf({})).toBeUndefined();
  });
});

describe('a failed request', () => {
  it('names the cause fetch keeps behind "fetch failed"', () => {
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4539'), { code: 'ECONNREFUSED' }),
    });
    expect(requestFailure(refused)).toBe('fetch failed: connect ECONNREFUSED 127.0.0.1:4539');
    const dns = new TypeError('fetch failed', {
      cause: Object.assign(new Error('getaddrinfo ENOTFOUND previews.example.com'), { code: 'ENOTFOUND' }),
    });
    expect(requestFailure(dns)).toBe('fetch failed: getaddrinfo ENOTFOUND previews.example.com');
    // Both addresses of localhost refused: every distinct reason once.
    const both = new TypeError('fetch failed', {
      cause: new AggregateError(
        [new Error('connect ECONNREFUSED ::1:4539'), new Error('connect ECONNREFUSED 127.0.0.1:4539')],
        '',
      ),
    });
    expect(requestFailure(both)).toBe(
      'fetch failed: connect ECONNREFUSED ::1:4539; connect ECONNREFUSED 127.0.0.1:4539',
    );
    expect(requestFailure(new Error('The operation was aborted'))).toBe('The operation was aborted');
  });
});

describe('smoke without --base-url or --outputs', () => {
  const running: RuntimeInfo = {
    pid: 4242,
    baseUrl: 'http://127.0.0.1:4690',
    port: 4690,
    publicBaseUrl: 'http://127.0.0.1:4690/',
    dynamodbEndpoint: 'http://127.0.0.1:4691',
    sqsEndpoint: 'http://127.0.0.1:4692',
    startedAt: '2026-12-08T00:00:00.000Z',
  };
  const inEmptyDirectory = <T>(run: () => T): T => {
    const dir = mkdtempSync(join(tmpdir(), 'nlp-smoke-'));
    const before = process.cwd();
    process.chdir(dir);
    try {
      return run();
    } finally {
      process.chdir(before);
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('checks the running npm start when there is no cdk-outputs.json, as npm run dashboard finds it', () => {
    expect(inEmptyDirectory(() => baseUrlOf({}, () => running))).toBe('http://127.0.0.1:4690');
  });

  it('is a usage error naming both places it looked when nothing runs', () => {
    const attempt = () => inEmptyDirectory(() => baseUrlOf({}, () => undefined));
    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow('no outputs file cdk-outputs.json and no running npm start here');
  });

  it('never takes the running system instead of an --outputs file that is missing', () => {
    expect(() => inEmptyDirectory(() => baseUrlOf({ outputs: 'gone.json' }, () => running))).toThrow(
      'no outputs file gone.json',
    );
  });
});
