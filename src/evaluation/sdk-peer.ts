// The real unleash-client, bootstrapped offline with given features: the peer the eval bench and parity tests compare against.
import { once } from 'node:events';
import type { ClientFeaturesResponse as SdkFeaturesResponse } from 'unleash-client';
import { InMemStorageProvider, Unleash } from 'unleash-client';
import type { UnleashFeature, UnleashSegment } from './types.ts';

/** Never fetches (port 9 on loopback, no refresh), never sends metrics; resolves once the bootstrap is loaded. */
export async function bootstrappedSdk(
  appName: string,
  features: readonly UnleashFeature[],
  segments: readonly UnleashSegment[] = [],
): Promise<Unleash> {
  const sdk = new Unleash({
    appName,
    url: 'http://127.0.0.1:9/api/',
    refreshInterval: 0,
    metricsInterval: 0,
    disableMetrics: true,
    storageProvider: new InMemStorageProvider(),
    bootstrap: {
      data: features as SdkFeaturesResponse['features'],
      segments: segments as SdkFeaturesResponse['segments'],
    },
  });
  sdk.on('error', () => {});
  sdk.on('warn', () => {});
  await once(sdk, 'ready');
  return sdk;
}
