import { describe, expect, it } from 'vitest';
import { cronReading } from '../src/contracts/index.js';

describe('cronReading', () => {
  it('reads a cron in UTC, under any of its names, at a fixed offset of zero', () => {
    for (const zone of ['UTC', 'Etc/UTC', 'GMT', 'Etc/Zulu', 'Universal']) {
      expect(cronReading(zone)).toEqual({ utcOffset: 0, mode: '5-or-6-parts', paused: true });
    }
  });

  it('reads a cron in any other zone by its name, so daylight saving time applies', () => {
    expect(cronReading('Europe/Berlin')).toEqual({ timezone: 'Europe/Berlin', mode: '5-or-6-parts', paused: true });
    expect(cronReading('Etc/GMT+5')).toEqual({ timezone: 'Etc/GMT+5', mode: '5-or-6-parts', paused: true });
  });
});
