import { OFREPProvider } from '@openfeature/ofrep-provider';
import { ErrorCode, OpenFeature } from '@openfeature/server-sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServedEvaluator } from '../../src/http/served-evaluator.ts';
import { type SdkServer, startSdkServer } from '../helpers/sdk-server.ts';

let server: SdkServer;

beforeEach(async () => {
  server = await startSdkServer();
});
afterEach(async () => {
  await OpenFeature.close();
  await server.stop();
});

async function ofrepClient(token: string) {
  // The provider passes these headers on every request; OFREP servers expect a Bearer token.
  const provider = new OFREPProvider({
    baseUrl: server.url,
    headers: [['Authorization', `Bearer ${token}`]],
  });
  await OpenFeature.setProviderAndWait(provider);
  return OpenFeature.getClient();
}

describe('@openfeature/server-sdk with @openfeature/ofrep-provider 0.1.3 against Rollgate', () => {
  it('evaluates boolean flags with OpenFeature reasons and variants', async () => {
    const client = await ofrepClient(server.tokens.client);
    const on = await client.getBooleanDetails('demo.kill', false, { targetingKey: 'user-1' });
    expect(on).toMatchObject({ value: true, variant: 'on', reason: 'STATIC' });
    const off = await client.getBooleanDetails('demo.toggle', true, { targetingKey: 'user-1' });
    expect(off).toMatchObject({ value: false, variant: 'off', reason: 'DISABLED' });
    const targeted = await client.getBooleanDetails('demo.targeted', false, {
      targetingKey: 'user-1',
      region: 'EU',
    });
    expect(targeted).toMatchObject({ value: true, reason: 'TARGETING_MATCH' });
    const elsewhere = await client.getBooleanValue('demo.targeted', true, {
      targetingKey: 'user-1',
      region: 'us',
    });
    expect(elsewhere).toBe(false);
  });

  it('evaluates a variant flag as a string, the same variant Rollgate picks for the targeting key', async () => {
    await server.admin('flags/xcheck.p99/rollout/start');
    const client = await ofrepClient(server.tokens.frontend);
    const own = createServedEvaluator({ served: server.rg.served, random: Math.random, now: Date.now });
    for (const id of ['alice', 'bob', 'carol', 'dave']) {
      const details = await client.getStringDetails('xcheck.p99', 'none', { targetingKey: id });
      const expected = own.current().evaluator.evaluate('xcheck.p99', { userId: id });
      expect(details.value).toBe(expected.variant.name);
      expect(details.flagMetadata.enabled).toBe(expected.enabled);
      if (expected.variant.payload) expect(details.flagMetadata.payload).toBe(expected.variant.payload.value);
    }
  });

  it('maps a missing flag and a type mismatch to OpenFeature errors with the default value', async () => {
    const client = await ofrepClient(server.tokens.client);
    const missing = await client.getBooleanDetails('no.such-flag', true);
    expect(missing).toMatchObject({ value: true, errorCode: ErrorCode.FLAG_NOT_FOUND, reason: 'ERROR' });
    const mismatch = await client.getNumberDetails('demo.kill', 7);
    expect(mismatch).toMatchObject({ value: 7, errorCode: ErrorCode.TYPE_MISMATCH });
  });

  it('reports a wrong token as an error and never a value', async () => {
    const client = await ofrepClient('not-a-token-at-all-000');
    const details = await client.getBooleanDetails('demo.kill', false);
    expect(details).toMatchObject({ value: false, reason: 'ERROR' });
  });
});
