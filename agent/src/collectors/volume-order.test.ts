import { describe, expect, it } from 'vitest';
import { systemVolumeFirst } from './volume-order.js';

describe('systemVolumeFirst', () => {
  it('puts the system volume first, then orders by mount in code units, whatever the locale', () => {
    const volumes = [{ mount: '/srv' }, { mount: '/mnt/backup' }, { mount: '/', system: true }, { mount: '/mnt/Data' }, { mount: '/home' }];
    expect(volumes.sort(systemVolumeFirst).map((v) => v.mount)).toEqual(['/', '/home', '/mnt/Data', '/mnt/backup', '/srv']);
  });

  it('orders Windows drive letters with the OS volume first', () => {
    const volumes = [{ mount: 'E:' }, { mount: 'D:' }, { mount: 'C:', system: true }];
    expect(volumes.sort(systemVolumeFirst).map((v) => v.mount)).toEqual(['C:', 'D:', 'E:']);
  });
});
