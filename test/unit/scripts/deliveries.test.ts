/**
 * `npm run deliveries`'s command line: a table name DynamoDB would refuse (`--table ''`, an unset shell
 * variable, a name with a space) is a usage error (exit 2, one line) before any request, not DynamoDB's
 * validation error (exit 1).
 */
import { describe, expect, it } from '@jest/globals';
import { runCli } from '../../../scripts/cli.js';
import { CLI, run } from '../../../scripts/deliveries.js';

const capture = async (argv: string[]) => {
  let stdout = '';
  let stderr = '';
  const code = await runCli(
    CLI,
    argv,
    (args) =>
      run(
        args,
        {},
        (t) => {
          stdout += `${t}\n`;
        },
        { err: (t) => (stderr += `${t}\n`), running: () => undefined },
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
  return { code, stdout, stderr };
};

// Port 1 on loopback: nothing listens, so a request that is made fails (exit 1) rather than hangs.
const LOCAL = ['--endpoint', 'http://127.0.0.1:1'];

describe('deliveries --table', () => {
  it('an empty value is a usage error (exit 2, one line), locally and with --aws', async () => {
    for (const target of [LOCAL, ['--aws']]) {
      const { code, stdout, stderr } = await capture(['c-1', ...target, '--table', '']);
      expect({ target, code, stdout, stderr }).toEqual({
        target,
        code: 2,
        stdout: '',
        stderr: 'deliveries: --table is empty (is the variable that should hold the table name set?) (see --help)\n',
      });
    }
  });

  it('a name DynamoDB would refuse is a usage error that says what a table name is', async () => {
    for (const name of ['my table', 'ab', 'x'.repeat(256), 'table/name']) {
      const { code, stderr } = await capture(['c-1', ...LOCAL, '--table', name]);
      expect({ name: name.slice(0, 12), code, lines: stderr.split('\n').length }).toEqual({
        name: name.slice(0, 12),
        code: 2,
        lines: 2,
      });
      expect(stderr).toMatch(
        /^deliveries: --table must be a DynamoDB table name \(3 to 255 of A-Z a-z 0-9 _ - \.\) or a table ARN, not /,
      );
    }
  });

  it('takes a table name or a table ARN (the request is then made: here it fails, exit 1)', async () => {
    for (const name of [
      'NotionLinkPreview-dev-DeliveryLog1A2B3C-XYZ',
      'local.delivery_log',
      'arn:aws:dynamodb:eu-west-1:123456789012:table/NotionLinkPreview-prod-DeliveryLog',
    ]) {
      const { code, stderr } = await capture(['c-1', ...LOCAL, '--table', name]);
      expect({ name, code }).toEqual({ name, code: 1 });
      expect(stderr).not.toContain('--table');
    }
  });
});
