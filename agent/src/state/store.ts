import { chmod, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { StateError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { deviceState, lastResult, type DeviceState, type LastResult } from './files.js';
import { StateFile } from './paths.js';

/**
 * The agent's files in its state directory. Every read is validated, every write
 * is atomic, and writes to one store are applied in the order they were asked for
 * (the run loop updates `device.json` from several places).
 */
export class StateStore {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly dir: string) {}

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Create the directory (mode 0700), or narrow an existing one to 0700. */
  async ensureDir(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      if (process.platform !== 'win32') {
        const { mode } = await stat(this.dir);
        if ((mode & 0o077) !== 0) await chmod(this.dir, 0o700);
      }
    } catch (err) {
      throw ioError(err, this.dir, 'create');
    }
  }

  /** `device.json`, or null when the device is not enrolled. */
  readDevice(): Promise<DeviceState | null> {
    return this.read(StateFile.device, deviceState, 'delete it and enroll again with `postern-agent enroll --force`');
  }

  /** The enrolled device, or an error telling the person how to enroll. */
  async requireDevice(): Promise<DeviceState> {
    const device = await this.readDevice();
    if (!device) {
      throw new StateError(
        'not_enrolled',
        `this device is not enrolled (no ${this.path(StateFile.device)}): enroll it with \`postern-agent enroll --server URL --token TOKEN\``,
      );
    }
    return device;
  }

  writeDevice(device: DeviceState): Promise<void> {
    return this.serialize(() => this.write(StateFile.device, deviceState.parse(device)));
  }

  /** Read, change and write `device.json` as one step with respect to this store's other writes. */
  updateDevice(change: (device: DeviceState) => DeviceState): Promise<DeviceState> {
    return this.serialize(async () => {
      const next = deviceState.parse(change(await this.requireDevice()));
      await this.write(StateFile.device, next);
      return next;
    });
  }

  /** `last-result.json`, or null before the first accepted report. */
  readLastResult(): Promise<LastResult | null> {
    return this.read(StateFile.lastResult, lastResult, 'delete it: the next accepted report writes it again');
  }

  writeLastResult(result: LastResult): Promise<void> {
    return this.serialize(() => this.write(StateFile.lastResult, lastResult.parse(result)));
  }

  /** Forget the enrollment (when `enroll --force` succeeded); the key is replaced separately. */
  forgetEnrollment(): Promise<void> {
    return this.serialize(async () => {
      for (const name of [StateFile.device, StateFile.lastResult]) {
        await rm(this.path(name), { force: true }).catch((err: unknown) => {
          throw ioError(err, this.path(name), 'delete');
        });
      }
    });
  }

  private serialize<T>(step: () => Promise<T>): Promise<T> {
    const run = this.queue.then(step, step);
    this.queue = run.catch(() => {});
    return run;
  }

  private async read<T extends z.ZodType>(name: string, schema: T, fix: string): Promise<z.infer<T> | null> {
    const path = this.path(name);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw ioError(err, path, 'read');
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new StateError('state_corrupt', `${path} is not valid JSON: ${fix}`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `"${issue.path.join('.')}" ` : '';
      throw new StateError('state_corrupt', `${path} is corrupt (${where}${issue?.message ?? 'invalid'}): ${fix}`);
    }
    return parsed.data as z.infer<T>;
  }

  private async write(name: string, value: unknown): Promise<void> {
    await this.ensureDir();
    const path = this.path(name);
    try {
      await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, 0o600);
    } catch (err) {
      throw ioError(err, path, 'write');
    }
  }
}

function ioError(err: unknown, path: string, verb: string): StateError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') {
    return new StateError(
      'state_permission_denied',
      `cannot ${verb} ${path}: permission denied; run as the user that enrolled this device (root for the system service) or choose another directory with --state`,
      { cause: err },
    );
  }
  return new StateError('state_io', `cannot ${verb} ${path}: ${(err as Error).message}`, { cause: err });
}
