/** The host name the local server checks against its allowed names (local/server.ts `hostnameOf`). */
import { describe, expect, it } from '@jest/globals';
import { hostnameOf } from '#local/server.js';

describe('hostnameOf', () => {
  it('drops the port, lower-cases and drops a trailing dot', () => {
    expect(hostnameOf('127.0.0.1:3000')).toBe('127.0.0.1');
    expect(hostnameOf('LocalHost.:3000')).toBe('localhost');
    expect(hostnameOf('previews.example.com')).toBe('previews.example.com');
    expect(hostnameOf('[::1]:3000')).toBe('[::1]');
  });

  it('reads a malformed Host header as no name at all', () => {
    for (const bad of ['', 'a:b:c', 'host:99999999', '[::1', 'a b', 'x:']) expect(hostnameOf(bad)).toBeUndefined();
  });
});
