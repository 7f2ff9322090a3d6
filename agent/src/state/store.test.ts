import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rejectionOf } from '../testenv/rejection.js';
import { sampleDevice } from '../testenv/fake-enrollment.js';
import { StateStore } from './store.js';

describe('StateStore', () => {
  let root: string;
  let store: StateStore;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'postern-state-'));
    store = new StateStore(join(root, 'state'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reads null before enrollment and says how to enroll when a device is required', async () => {
    expect(await store.readDevice()).toBeNull();
    await expect(store.requireDevice()).rejects.toThrow(/postern-agent enroll --server URL --token TOKEN/);
  });

  it.skipIf(process.platform === 'win32')('writes device.json readable by its owner only, in a 0700 directory', async () => {
    await store.writeDevice(sampleDevice());
    expect((await stat(store.dir)).mode & 0o777).toBe(0o700);
    expect((await stat(store.path('device.json'))).mode & 0o777).toBe(0o600);
    expect(await store.readDevice()).toEqual(sampleDevice());
  });

  it('leaves no temporary files behind', async () => {
    await store.writeDevice(sampleDevice());
    await Promise.all([1, 2, 3].map((n) => store.updateDevice((d) => ({ ...d, last_seq: d.last_seq + n }))));
    expect(await readdir(store.dir)).toEqual(['device.json']);
    expect((await store.readDevice())?.last_seq).toBe(6);
  });

  it('names the corrupt file, the field and the fix', async () => {
    await store.writeDevice(sampleDevice());
    await writeFile(store.path('device.json'), JSON.stringify({ ...sampleDevice(), device_id: 'nope' }));
    const err = await rejectionOf(store.readDevice());
    expect(err.code).toBe('state_corrupt');
    expect(err.message).toContain(store.path('device.json'));
    expect(err.message).toContain('"device_id"');
    expect(err.message).toContain('enroll again with `postern-agent enroll --force`');
  });

  it('reports a file that is not JSON at all', async () => {
    await store.ensureDir();
    await writeFile(store.path('last-result.json'), '{ half');
    await expect(store.readLastResult()).rejects.toThrow(/last-result\.json is not valid JSON: delete it/);
  });
});
