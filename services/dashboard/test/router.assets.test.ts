import { describe, expect, it } from 'vitest';
import { assetPath, matchRoute, parseHash } from '../src/router.js';

describe('asset addresses', () => {
  it('carries a key with slashes as one encoded segment and reads it back', () => {
    expect(assetPath('raw/events')).toBe('/assets/raw%2Fevents');
    expect(matchRoute(parseHash(`#${assetPath('model/churn v2')}`).path)).toEqual({ name: 'asset', key: 'model/churn v2' });
    expect(matchRoute('/assets')).toEqual({ name: 'assets' });
    expect(matchRoute('/lineage')).toEqual({ name: 'lineage' });
  });

  it('treats an unencoded key with slashes, or a broken escape, as no page', () => {
    expect(matchRoute('/assets/raw/events')).toEqual({ name: 'not-found' });
    expect(matchRoute('/assets/%E0%A4%A')).toEqual({ name: 'not-found' });
    expect(matchRoute('/lineage/x')).toEqual({ name: 'not-found' });
  });
});
