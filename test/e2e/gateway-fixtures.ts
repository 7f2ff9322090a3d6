import type { ChildProcess } from 'node:child_process';
import { FakeDevice } from '@postern/testkit/fake-device';
import type { ServerProcess } from '@postern/testkit/server-process';

/** A fake device enrolled with `server` and holding the result token of one report of `posture`. */
export async function reportedDevice(server: ServerProcess, posture?: Parameters<FakeDevice['report']>[1]): Promise<{ device: FakeDevice; token: string }> {
  const device = await FakeDevice.create();
  await device.enroll(server.url, await server.enrollmentToken());
  const { session, answer } = await device.report(server.url, posture);
  session.close();
  if (answer.type !== 'result') throw new Error(`report refused: ${JSON.stringify(answer)}`);
  return { device, token: answer.token };
}

/** Stops a gateway process the test started, and waits until it is gone. */
export async function stopGateway(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}
