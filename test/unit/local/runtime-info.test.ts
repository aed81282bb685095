/**
 * <state dir>/local-server.json: npm start records where it runs; the scripts
 * read it back from the state directory npm start would use and ignore a record that is malformed, off loopback, or left
 * behind by a process that is gone.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import {
  clearRuntimeInfo,
  processAlive,
  RUNTIME_INFO_FILE,
  readRuntimeInfo,
  runtimeInfoFile,
  runtimeInfoOf,
  writeRuntimeInfo,
} from '#local/runtime-info.js';

const dir = mkdtempSync(path.join(tmpdir(), 'runtime-info-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const system = {
  baseUrl: 'http://127.0.0.1:4123',
  port: 4123,
  env: { PUBLIC_BASE_URL: 'http://127.0.0.1:4123', OAUTH_CLIENT_SECRET: 'never-recorded' },
  emulators: { dynamodbEndpoint: 'http://127.0.0.1:4200', sqsEndpoint: 'http://127.0.0.1:4300' },
};

describe('local server record', () => {
  it('lives in .local-data/ of the project', () => {
    expect(RUNTIME_INFO_FILE.endsWith(`${path.sep}.local-data${path.sep}local-server.json`)).toBe(true);
  });

  it("lives in the state directory: LOCAL_DATA_DIR's, so two systems keep a record each", () => {
    const saved = process.env.LOCAL_DATA_DIR;
    try {
      process.env.LOCAL_DATA_DIR = path.join(dir, 'second');
      expect(runtimeInfoFile()).toBe(path.join(dir, 'second', 'local-server.json'));
      expect(writeRuntimeInfo({ ...system, port: 4124, baseUrl: 'http://127.0.0.1:4124' })).toBe(true);
      expect(readRuntimeInfo()?.port).toBe(4124);
      delete process.env.LOCAL_DATA_DIR;
      expect(runtimeInfoFile()).toBe(RUNTIME_INFO_FILE);
      expect(readRuntimeInfo(path.join(dir, 'second', 'local-server.json'))?.port).toBe(4124);
    } finally {
      if (saved === undefined) delete process.env.LOCAL_DATA_DIR;
      else process.env.LOCAL_DATA_DIR = saved;
    }
  });

  it('round-trips what npm start writes, without any secret', () => {
    const file = path.join(dir, 'nested', 'local-server.json');
    expect(writeRuntimeInfo(system, file)).toBe(true);
    expect(readFileSync(file, 'utf8')).not.toContain('never-recorded');
    expect(readRuntimeInfo(file)).toEqual({
      pid: process.pid,
      baseUrl: 'http://127.0.0.1:4123',
      port: 4123,
      publicBaseUrl: 'http://127.0.0.1:4123',
      dynamodbEndpoint: 'http://127.0.0.1:4200',
      sqsEndpoint: 'http://127.0.0.1:4300',
      startedAt: expect.any(String),
    });
  });

  it('is ignored when its process is gone, and cleared only by the process that wrote it', () => {
    const file = path.join(dir, 'stale.json');
    writeFileSync(file, JSON.stringify(runtimeInfoOf(system, 999_999)));
    expect(readRuntimeInfo(file, () => false)).toBeUndefined();
    expect(readRuntimeInfo(file, (pid) => pid === 999_999)?.port).toBe(4123);
    clearRuntimeInfo(file, process.pid);
    expect(readRuntimeInfo(file, () => true)).toBeDefined();
    clearRuntimeInfo(file, 999_999);
    expect(readRuntimeInfo(file, () => true)).toBeUndefined();
    expect(() => clearRuntimeInfo(file)).not.toThrow();
  });

  it('is ignored when malformed or not on loopback', () => {
    const file = path.join(dir, 'bad.json');
    const good = runtimeInfoOf(system);
    for (const bad of [
      'not json',
      'null',
      JSON.stringify({ ...good, pid: 'x' }),
      JSON.stringify({ ...good, port: 70_000 }),
      JSON.stringify({ ...good, baseUrl: 'http://example.com:4123' }),
      JSON.stringify({ ...good, baseUrl: 'http://127.0.0.1:9999' }),
      JSON.stringify({ ...good, dynamodbEndpoint: 'https://dynamodb.us-east-1.amazonaws.com' }),
      JSON.stringify({ ...good, publicBaseUrl: 1 }),
    ]) {
      writeFileSync(file, bad);
      expect(readRuntimeInfo(file, () => true)).toBeUndefined();
    }
    expect(readRuntimeInfo(path.join(dir, 'missing.json'))).toBeUndefined();
  });

  it('knows whether a process exists', () => {
    expect(processAlive(process.pid)).toBe(true);
    expect(processAlive(2 ** 22 + 12_345)).toBe(false);
  });
});
