import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { accessTokenHash } from '@postern/shared';
import { SignJWT } from 'jose';
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

/** A proof as FakeDevice makes one, with the server nonce RFC 9449 §8 asks for. */
export function proofWithNonce(device: FakeDevice, url: string, token: string, nonce: string | null, method = 'GET'): Promise<string> {
  const htu = new URL(url);
  htu.search = '';
  return new SignJWT({ jti: randomUUID(), htm: method, htu: htu.href, iat: Math.floor(Date.now() / 1000), ath: accessTokenHash(token), ...(nonce ? { nonce } : {}) })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: device.publicJwk })
    .sign(device.privateKey);
}
