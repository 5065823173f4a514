import { describe, expect, test } from 'vitest';
import { asset, onCron, onMissing, onUpstreamUpdate } from '../src/index.js';

describe('asset automation and freshness options', () => {
  test('conditions combine into the one policy the deploy registers, with the freshness bound', () => {
    const raw = asset({ key: 'auto/raw', automation: onMissing() }, async () => 1);
    const features = asset(
      {
        key: 'auto/features',
        deps: [raw],
        automation: [onUpstreamUpdate(), onCron('0 * * * *', 'Europe/Berlin')],
        freshness: { maxLagMinutes: 90, cron: { cron: '0 9 * * *' } },
      },
      async (_ctx, n) => n + 1,
    );
    expect(raw.definition().automation).toEqual({ onUpstreamUpdate: false, onMissing: true });
    expect(features.definition()).toMatchObject({
      automation: { onUpstreamUpdate: true, onMissing: false, cron: { cron: '0 * * * *', timezone: 'Europe/Berlin' } },
      freshness: { maxLagMinutes: 90, cron: { cron: '0 9 * * *', timezone: 'UTC' } },
    });
    const plain = asset({ key: 'auto/plain' }, async () => 1);
    expect(plain.definition().automation).toBeUndefined();
    expect(plain.definition().freshness).toBeUndefined();
  });

  test('a wrong policy fails where the asset is defined, naming the field', () => {
    expect(() => asset({ key: 'auto/bad1', freshness: { maxLagMinutes: -5 } }, async () => 1)).toThrow(
      /invalid options of asset 'auto\/bad1'.*freshness\.maxLagMinutes/,
    );
    expect(() => asset({ key: 'auto/bad2', automation: onCron('every hour') }, async () => 1)).toThrow(/automation\.cron\.cron/);
    expect(() => asset({ key: 'auto/bad3', automation: [onCron('0 * * * *'), onCron('0 0 * * *')] }, async () => 1)).toThrow(
      'an asset takes one onCron() condition',
    );
  });
});
