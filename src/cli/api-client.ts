// How CLI commands reach a running Rollgate: which URL and token, and requests whose failures name the URL and status.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { generatedTokensFile } from '../http/generated-tokens.ts';

export interface Target {
  url: string;
  token: string;
}

/** A problem the operator can fix (no token, a refused request): printed as one line, exit code 1. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** `--url`, else ROLLGATE_URL, else the server's own HOST and PORT (as `npm start` would bind them). */
export function resolveUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag) return flag;
  if (env.ROLLGATE_URL) return env.ROLLGATE_URL;
  const host = env.HOST || '127.0.0.1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${env.PORT || '4242'}`;
}

/** `--token`, else ROLLGATE_TOKEN, else the admin token Rollgate generated into data/tokens.json. */
export function resolveToken(flag: string | undefined, env: NodeJS.ProcessEnv, cwd = process.cwd()): string {
  const token =
    flag || env.ROLLGATE_TOKEN || generatedAdminToken(path.resolve(cwd, env.ROLLGATE_DATA_DIR || 'data'));
  if (!token)
    throw new CliError(
      'no token: pass --token, set ROLLGATE_TOKEN, or run where data/tokens.json is (or set ROLLGATE_DATA_DIR)',
      2,
    );
  return token;
}

function generatedAdminToken(dataDir: string): string | undefined {
  try {
    const parsed = z
      .object({ admin: z.string() })
      .safeParse(JSON.parse(readFileSync(generatedTokensFile(dataDir), 'utf8')));
    return parsed.success ? parsed.data.admin : undefined;
  } catch {
    return undefined;
  }
}

/** One admin API call; anything but 2xx becomes a CliError naming the method, URL, status and the server's message. */
export async function request<T>(
  target: Target,
  method: 'GET' | 'POST',
  route: string,
  body?: unknown,
): Promise<T> {
  const url = new URL(route, target.url.endsWith('/') ? target.url : `${target.url}/`).toString();
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${target.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    const { cause } = err as { cause?: { code?: string; message?: string } };
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new CliError(
      `${method} ${url} failed: ${why} (is Rollgate running there? set --url or ROLLGATE_URL)`,
    );
  }
  const text = await res.text();
  if (!res.ok) {
    let detail = text.slice(0, 500);
    try {
      const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
      if (parsed.error) detail = `${parsed.error.code}: ${parsed.error.message}`;
    } catch {
      // not JSON: the raw text says what happened
    }
    throw new CliError(`${method} ${url} answered ${res.status}: ${detail}`);
  }
  return JSON.parse(text) as T;
}
