// If-None-Match against a strong ETag, compared weakly as RFC 9110 asks for GET and HEAD.
const opaque = (tag: string) => tag.trim().replace(/^W\//, '');

/** True when the client's cached copy (any of the listed tags, or `*`) is the current one. */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  // What every polling SDK sends back: the tag it was given, verbatim. Settled without splitting or a regex.
  if (ifNoneMatch === etag) return true;
  if (ifNoneMatch.trim() === '*') return true;
  const wanted = opaque(etag);
  return ifNoneMatch.split(',').some((tag) => opaque(tag) === wanted);
}
