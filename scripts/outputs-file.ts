/**
 * Reading a CDK outputs file (`npx cdk deploy --outputs-file cdk-outputs.json`):
 * picks the one stack that has every output a script needs.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from './cli.js';

/**
 * The outputs file `given` (default cdk-outputs.json), parsed. A missing file is a usage error that says where
 * the file comes from; one that is not JSON an error naming it.
 */
export const readOutputsFile = (given: string | undefined): unknown => {
  if (given !== undefined && given.trim() === '') throw new UsageError('--outputs must name a file');
  const shown = given ?? 'cdk-outputs.json';
  const path = resolve(shown);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new UsageError(
      `no outputs file ${shown} (npm run deploy writes cdk-outputs.json; else give --outputs <file>, or --endpoint for a local system)`,
    );
  }
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (error) {
    throw new Error(`${shown}: ${(error as Error).message}`);
  }
};

/** The named outputs of the single stack (or `stack`) in `file` that has all of `keys`. */
export const pickStackOutputs = <K extends string>(
  file: unknown,
  keys: readonly K[],
  stack?: string,
): { stack: string; outputs: Record<K, string> } => {
  if (stack !== undefined && stack.trim() === '') throw new UsageError('--stack must name a stack');
  if (file === null || typeof file !== 'object') throw new Error('the outputs file is not a JSON object');
  const stacks = Object.entries(file as Record<string, Record<string, unknown>>).filter(
    ([name, outputs]) => (stack === undefined || name === stack) && keys.every((k) => typeof outputs?.[k] === 'string'),
  );
  if (stacks.length === 0) {
    throw new Error(`the outputs file has no stack${stack ? ` ${stack}` : ''} with the outputs ${keys.join(', ')}`);
  }
  if (stacks.length > 1) {
    throw new Error(
      `the outputs file has several stacks (${stacks.map(([n]) => n).join(', ')}): choose one with --stack`,
    );
  }
  const [name, outputs] = stacks[0] as [string, Record<K, string>];
  return { stack: name, outputs };
};
