import { parse } from 'ini';
import { describe, expect, it } from 'vitest';
import { renderProfiles } from './profile-files.js';
import { shellQuote } from './shell-quote.js';

describe(renderProfiles.name, () => {
  it('writes the default profile with credential_process and region, and no keys', () => {
    const { config, credentials } = renderProfiles({ profile: 'default', command: '/bin/x credential-process --dir /creds --margin 25m', region: 'eu-west-1' });
    expect(parse(config)).toEqual({ default: { credential_process: '/bin/x credential-process --dir /creds --margin 25m', region: 'eu-west-1' } });
    expect(parse(credentials)).toEqual({ default: { credential_process: '/bin/x credential-process --dir /creds --margin 25m' } });
    expect(config + credentials).not.toMatch(/aws_access_key_id|aws_secret_access_key|aws_session_token/);
  });

  it('names a non-default profile `profile NAME` in the config file only', () => {
    const { config, credentials } = renderProfiles({ profile: 'registry', command: '/bin/x', region: 'us-east-1' });
    expect(config).toContain('[profile registry]\n');
    expect(credentials).toContain('[registry]\n');
  });

  it('refuses a command that ini would rewrite', () => {
    expect(() => renderProfiles({ profile: 'default', command: "'/a b' run 'x y'", region: 'us-east-1' })).toThrow(/cannot be written/);
    expect(() => renderProfiles({ profile: 'default', command: '/a;b', region: 'us-east-1' })).toThrow(/cannot be written/);
  });
});

describe(shellQuote.name, () => {
  it('leaves plain paths bare and single-quotes the rest', () => {
    expect(shellQuote('/usr/bin/x', 'p')).toBe('/usr/bin/x');
    expect(shellQuote('/a b/$HOME', 'p')).toBe(`'/a b/$HOME'`);
  });
  it('refuses what no quoting carries safely through an INI file and sh -c', () => {
    for (const bad of ['/a\nb', '/a#b', '/a;b', '/a=b', '/a"b', '/a\\b']) expect(() => shellQuote(bad, 'p')).toThrow(/cannot be written safely/);
  });
});
