/**
 * A URL-ish value for a log or error line with its user info (a password) replaced by `xxxxx`, as Go's
 * `URL.Redacted` does for what parses. Everything between the scheme and the LAST `@` goes, so a value that does not
 * parse (an `@` in the path, a bad port, a server URL the registry passed verbatim) leaks nothing either.
 * Control characters are left to the logger / caller (JSON.stringify).
 */
export function redactUserinfo(value: string): string {
  return value.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)?[\s\S]*@/, '$1xxxxx@');
}
