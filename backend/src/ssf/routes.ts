import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { HttpError } from '../http/http-error.js';
import { readJson } from '../http/read-json.js';
import { readQuery } from '../http/read-query.js';
import { DELIVERY } from './event-types.js';
import { enqueueSets } from './outbox.js';
import { pollSets } from './poll.js';
import { authenticateReceiver } from './receiver-auth.js';
import { verificationEvent } from './set.js';
import {
  pollRequest,
  statusUpdate,
  streamCreate,
  streamIdQuery,
  streamQuery,
  streamUpdate,
  subjectChange,
  verificationRequest,
  type ssfConfiguration,
} from './stream-schemas.js';
import { configView, createStream, deleteStream, findStream, listStreams, markSubject, setStreamStatus, statusView, updateStream } from './streams.js';
import type { SsfTransmitter } from './transmitter.js';
import type { z } from 'zod';

export const SSF_PATHS = {
  configuration: '/.well-known/ssf-configuration',
  jwks: '/ssf/jwks.json',
  streams: '/ssf/streams',
  status: '/ssf/status',
  addSubject: '/ssf/subjects/add',
  removeSubject: '/ssf/subjects/remove',
  verify: '/ssf/verify',
  poll: '/ssf/poll/:id',
} as const;

/** The SSF 1.0 transmitter's HTTP surface: discovery, keys, stream management (§8.1) and RFC 8936 polling. */
export function ssfRoutes(router: Router, ssf: SsfTransmitter): void {
  const { backend } = ssf;
  const { db } = backend;
  const url = (path: string) => `${backend.issuer}${path}`;

  router.get(SSF_PATHS.configuration, (ctx) => {
    ctx.set('cache-control', 'public, max-age=300');
    const body: z.infer<typeof ssfConfiguration> = {
      spec_version: '1_0',
      issuer: backend.issuer,
      jwks_uri: url(SSF_PATHS.jwks),
      delivery_methods_supported: [DELIVERY.push, DELIVERY.poll],
      configuration_endpoint: url(SSF_PATHS.streams),
      status_endpoint: url(SSF_PATHS.status),
      add_subject_endpoint: url(SSF_PATHS.addSubject),
      remove_subject_endpoint: url(SSF_PATHS.removeSubject),
      verification_endpoint: url(SSF_PATHS.verify),
      critical_subject_members: ['device'],
      authorization_schemes: [{ spec_urn: 'urn:ietf:rfc:6750' }],
      default_subjects: 'ALL',
    };
    ctx.body = body;
  });

  router.get(SSF_PATHS.jwks, async (ctx) => {
    ctx.set('cache-control', 'public, max-age=300');
    ctx.body = (await ssf.keys()).jwks;
  });

  // Stream configuration: one path, a method per operation (SSF 1.0 §8.1.1).
  router.post(SSF_PATHS.streams, async (ctx) => {
    const receiver = await authenticateReceiver(ctx, db);
    const input = await readJson(ctx, streamCreate);
    // The key exists before any stream does, so the outbox consumer only ever reads it.
    await ssf.keys();
    const row = await createStream(db, receiver, input, ssf.settings.allow);
    backend.log.info({ stream: row.id, receiver: receiver.name, method: row.delivery_method }, 'an SSF stream was created');
    ctx.status = 201;
    ctx.body = configView(row, backend.issuer);
  });
  router.get(SSF_PATHS.streams, async (ctx) => {
    const receiver = await authenticateReceiver(ctx, db);
    const { stream_id } = readQuery(ctx, streamQuery);
    noStore(ctx);
    ctx.body = stream_id ? configView(await findStream(db, receiver, stream_id), backend.issuer) : (await listStreams(db, receiver)).map((row) => configView(row, backend.issuer));
  });
  for (const [method, replace] of [['patch', false], ['put', true]] as const) {
    router[method](SSF_PATHS.streams, async (ctx) => {
      const receiver = await authenticateReceiver(ctx, db);
      const body = await readJson(ctx, streamUpdate);
      const row = await updateStream(db, receiver, await findStream(db, receiver, body.stream_id), body, ssf.settings.allow, replace);
      ssf.kick();
      ctx.body = configView(row, backend.issuer);
    });
  }
  router.delete(SSF_PATHS.streams, async (ctx) => {
    const receiver = await authenticateReceiver(ctx, db);
    const { stream_id } = readQuery(ctx, streamIdQuery);
    await deleteStream(db, await findStream(db, receiver, stream_id));
    backend.log.info({ stream: stream_id, receiver: receiver.name }, 'an SSF stream was deleted');
    ctx.status = 204;
  });

  // Status (§8.1.2).
  router.get(SSF_PATHS.status, async (ctx) => {
    const receiver = await authenticateReceiver(ctx, db);
    const { stream_id } = readQuery(ctx, streamIdQuery);
    noStore(ctx);
    ctx.body = await statusView(db, await findStream(db, receiver, stream_id));
  });
  router.post(SSF_PATHS.status, async (ctx) => {
    const receiver = await authenticateReceiver(ctx, db);
    const body = await readJson(ctx, statusUpdate);
    const row = await setStreamStatus(db, await findStream(db, receiver, body.stream_id), body.status, body.reason);
    ssf.kick();
    ctx.body = await statusView(db, row);
  });

  // Subjects (§8.1.3): see subjects.ts for what adding and removing mean.
  router.post(SSF_PATHS.addSubject, async (ctx) => {
    const receiver = await authenticateReceiver(ctx, db);
    const body = await readJson(ctx, subjectChange);
    const row = await findStream(db, receiver, body.stream_id);
    await markSubject(db, row, body.subject, 'added');
    ctx.body = { stream_id: row.id, subject: body.subject, verified: body.verified ?? true };
  });
  router.post(SSF_PATHS.removeSubject, async (ctx) => {
    const receiver = await authenticateReceiver(ctx, db);
    const body = await readJson(ctx, subjectChange);
    await markSubject(db, await findStream(db, receiver, body.stream_id), body.subject, 'removed');
    ctx.status = 204;
  });

  // Verification (§8.1.4): a verification SET with the receiver's state, through the stream's own delivery.
  router.post(SSF_PATHS.verify, async (ctx) => {
    const receiver = await authenticateReceiver(ctx, db);
    const body = await readJson(ctx, verificationRequest);
    const row = await findStream(db, receiver, body.stream_id);
    if (row.status === 'disabled') throw new HttpError('conflict', `stream ${row.id} is disabled: enable it (POST ${SSF_PATHS.status}) before asking for a verification event`);
    const now = backend.now();
    const last = row.verification_requested_at ? Math.floor(row.verification_requested_at.getTime() / 1000) : null;
    if (row.min_verification_interval && last !== null && now - last < row.min_verification_interval) {
      const wait = row.min_verification_interval - (now - last);
      throw new HttpError('rate_limited', `this stream asks for at most one verification event per ${row.min_verification_interval} s: try again in ${wait} s`, { headers: { 'retry-after': String(wait) } });
    }
    const keys = await ssf.keys();
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('ssf_streams').set({ verification_requested_at: new Date(now * 1000) }).where('id', '=', row.id).execute();
      await enqueueSets(trx, keys, backend.issuer, now, [{ stream: row, event: verificationEvent(row.id, body.state) }]);
    });
    ssf.kick();
    ctx.status = 204;
  });

  // RFC 8936 poll, at the endpoint_url a poll stream's configuration names.
  router.post(SSF_PATHS.poll, async (ctx) => {
    const receiver = await authenticateReceiver(ctx, db);
    const row = await findStream(db, receiver, ctx.params.id ?? '');
    if (row.delivery_method !== DELIVERY.poll) throw new HttpError('conflict', `stream ${row.id} delivers by push (urn:ietf:rfc:8935): change its delivery to urn:ietf:rfc:8936 to poll it`);
    const body = await readJson(ctx, pollRequest);
    noStore(ctx);
    ctx.body = await pollSets(db, row, body, { signal: ssf.signal, metrics: ssf.metrics, log: backend.log, closed: () => ssf.isClosed });
  });
}

function noStore(ctx: Context): void {
  ctx.set('cache-control', 'no-store');
}
