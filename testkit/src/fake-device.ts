import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { CompactSign, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import WebSocket from 'ws';
import {
  accessTokenHash,
  deviceKid,
  ENROLL_TYP,
  EVIDENCE_PROFILE,
  EVIDENCE_TYP,
  serverFrame,
  SUBPROTOCOL,
  type EnrollResponse,
  type Platform,
  type Posture,
  type ProblemDetails,
  type ServerFrame,
} from '@postern/shared';
import { fakePosture } from './postures/index.js';

const now = () => Math.floor(Date.now() / 1000);

export interface EvidenceOverrides {
  nonce?: string;
  seq?: number;
  iat?: number;
  posture?: Posture | Record<string, unknown>;
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
  /** Sign with this key instead of the device key (keeps the device's kid in the header). */
  signWith?: CryptoKey;
}

/**
 * A device that speaks the protocol from the test's side: it can enroll, open the stream,
 * and sign honest or deliberately broken attestations. It enrolls as `platform` and, unless
 * told otherwise, reports that platform's compliant fake posture.
 */
export class FakeDevice {
  deviceId = '';
  seq = 0;
  readonly ueid = Buffer.concat([Buffer.from([1]), randomBytes(16)]).toString('base64url');
  readonly hostname = `host-${randomUUID().slice(0, 8)}`;

  private constructor(
    readonly privateKey: CryptoKey,
    readonly publicJwk: JWK,
    readonly kid: string,
    readonly platform: Platform,
  ) {}

  static async create(options: { platform?: Platform } = {}): Promise<FakeDevice> {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(publicKey);
    return new FakeDevice(privateKey, jwk, await deviceKid(jwk), options.platform ?? 'linux');
  }

  async enrollmentRequest(token: string, overrides: { iat?: number } = {}): Promise<string> {
    return new SignJWT({
      enrollment_token: token,
      iat: overrides.iat ?? now(),
      ueid: this.ueid,
      machine_id: createHash('sha256').update(this.hostname).digest('hex'),
      hostname: this.hostname,
      platform: this.platform,
      agent_version: '0.1.0',
    })
      .setProtectedHeader({ alg: 'ES256', typ: ENROLL_TYP, jwk: this.publicJwk })
      .sign(this.privateKey);
  }

  async enroll(serverUrl: string, token: string): Promise<{ status: number; body: EnrollResponse & Partial<Omit<ProblemDetails, 'status'>> }> {
    const response = await fetch(`${serverUrl}/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request: await this.enrollmentRequest(token) }),
    });
    const body = (await response.json()) as EnrollResponse & Partial<Omit<ProblemDetails, 'status'>>;
    if (response.status === 201) this.deviceId = body.device_id;
    return { status: response.status, body };
  }

  async evidence(nonce: string, o: EvidenceOverrides = {}): Promise<string> {
    const claims = {
      eat_profile: EVIDENCE_PROFILE,
      iat: o.iat ?? now(),
      eat_nonce: o.nonce ?? nonce,
      ueid: this.ueid,
      swname: 'postern-agent',
      swversion: ['0.1.0'],
      device_id: this.deviceId,
      seq: o.seq ?? ++this.seq,
      // Collected when signed: a device whose clock is off signs and collects by the same clock.
      posture: o.posture ?? fakePosture({ platform: this.platform, ...(o.iat !== undefined ? { now: o.iat } : {}) }),
      ...o.claims,
    };
    const header = { alg: 'ES256', typ: EVIDENCE_TYP, kid: this.kid, ...o.header };
    return new CompactSign(new TextEncoder().encode(JSON.stringify(claims))).setProtectedHeader(header).sign(o.signWith ?? this.privateKey);
  }

  async dpopProof(url: string, token: string, o: { method?: string; iat?: number; jti?: string; key?: CryptoKey; jwk?: JWK } = {}): Promise<string> {
    return new SignJWT({ jti: o.jti ?? randomUUID(), htm: o.method ?? 'GET', htu: url, iat: o.iat ?? now(), ath: accessTokenHash(token) })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: o.jwk ?? this.publicJwk })
      .sign(o.key ?? this.privateKey);
  }

  /** Opens the stream (wss:// for an https:// server; `ca` trusts a test's own certificate authority). */
  async connect(serverUrl: string, options: { ca?: string | Buffer } = {}): Promise<StreamSession> {
    const ws = new WebSocket(`${serverUrl.replace(/^http/, 'ws')}/v1/agent`, SUBPROTOCOL, options.ca ? { ca: options.ca } : {});
    const session = new StreamSession(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const challenge = await session.next();
    if (challenge.type !== 'challenge') throw new Error(`expected a challenge, got ${challenge.type}`);
    session.nonce = challenge.nonce;
    return session;
  }

  /** Connects and sends one honest report; returns the session and the server's answer. */
  async report(serverUrl: string, posture?: Posture): Promise<{ session: StreamSession; answer: ServerFrame }> {
    const session = await this.connect(serverUrl);
    const answer = await session.attest(await this.evidence(session.nonce, posture ? { posture } : {}));
    return { session, answer };
  }
}

/** One open agent stream, with frames queued so a test can await them in order. */
export class StreamSession {
  nonce = '';
  /** The last report interval the server announced (config frames are kept out of the queue). */
  reportIntervalS: number | null = null;
  private readonly frames: ServerFrame[] = [];
  private readonly waiters: Array<(f: ServerFrame) => void> = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = serverFrame.parse(JSON.parse(data.toString()));
      if ('nonce' in frame && typeof frame.nonce === 'string') this.nonce = frame.nonce;
      if (frame.type === 'config') {
        this.reportIntervalS = frame.report_interval_s;
        return;
      }
      const waiter = this.waiters.shift();
      if (waiter) waiter(frame);
      else this.frames.push(frame);
    });
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  next(timeoutMs = 10_000): Promise<ServerFrame> {
    const queued = this.frames.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no frame from the server in time')), timeoutMs);
      this.waiters.push((f) => {
        clearTimeout(timer);
        resolve(f);
      });
    });
  }

  async attest(token: string): Promise<ServerFrame> {
    this.ws.send(JSON.stringify({ type: 'attestation', token }));
    return this.next();
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  close(): void {
    this.ws.close(1000);
  }
}

/**
 * Header `jwk` values a verifier must refuse where it expects a device's public P-256 key
 * (enrollment requests, DPoP proofs), each named by what is wrong with it.
 */
export const notPublicP256Jwks: ReadonlyArray<readonly [string, (device: Pick<FakeDevice, 'privateKey' | 'publicJwk'>) => Promise<unknown>]> = [
  ['missing', async () => undefined],
  ['carrying the private member d', (device) => exportJWK(device.privateKey)],
  ['on P-384', async () => exportJWK((await generateKeyPair('ES384', { extractable: true })).publicKey)],
  ['an RSA key', async () => exportJWK((await generateKeyPair('RS256', { extractable: true })).publicKey)],
  ['a symmetric key', async () => ({ kty: 'oct', k: 'c2VjcmV0' })],
  ['with a coordinate of the wrong length', async (device) => ({ ...device.publicJwk, x: 'AAAA' })],
];
