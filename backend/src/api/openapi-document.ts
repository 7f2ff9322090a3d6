import { OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import {
  attestationRequest,
  attestationResponse,
  complianceResponse,
  enrollRequest,
  enrollResponse,
  ERROR_STATUS,
  keyConfirmRequest,
  keyConfirmResponse,
  keyRotationRequest,
  keyRotationResponse,
  unenrollRequest,
  unenrollResponse,
  nonceResponse,
  PROBLEM_CONTENT_TYPE,
  problemDetails,
  type ErrorCode,
} from '@postern/shared';
import { z } from 'zod';
import { auditListQuery } from '../admin/audit-routes.js';
import { eventList, eventListQuery } from '../admin/event-routes.js';
import { exceptionListQuery, grantExceptionBody } from '../admin/exception-routes.js';
import { extendBody, groupRulesBody, setChangeRefBody, setOwnerBody, tokenListQuery } from '../admin/lifecycle-routes.js';
import { applyPolicyBody, diffPolicyBody, policyListQuery, policyShowQuery, rollbackPolicyBody, validatePolicyBody } from '../admin/policy-routes.js';
import * as admin from '../admin/response-schemas.js';
import { denyBody, gatewayKeyListQuery, newGatewayKeyBody, newTokenBody, setGroupBody, statusNoteBody } from '../admin/routes.js';
import { adminList, adminTokenCreated, newAdminBody, newAdminTokenBody, adminAccount, setRoleBody } from '../admin/account-routes.js';
import { sessionView, signedOut, signInLinkBody, signInLinkCreated } from '../admin/sign-in-routes.js';
import { linkForm, linkQuery } from '../auth/sign-in-link-routes.js';
import { oidcStartQuery } from '../auth/oidc-routes.js';
import { SESSION_COOKIE } from '../auth/session-cookie.js';
import { authzAllowed, authzDenied } from '../decisions/authz-route.js';
import { artefactParams } from '../install/routes.js';
import { INSTALL_LINES_PATH, installLinesAnswer } from '../install/lines-route.js';
import * as fleet from '../fleet/schemas.js';
import { jwksResponse } from '../keys/jwks-route.js';
import { myDeviceQuery, pageLinkBody, pageLinkCreated } from '../my-device/routes.js';
import { groupName } from '../policy/document.js';
import { healthResponse } from '../http/health-routes.js';
import * as ssf from '../ssf/stream-schemas.js';
import { ADMIN_SSF_STREAMS_PATH, adminSsfStreamList } from '../ssf/admin-routes.js';

type Method = RouteConfig['method'];
type Security = 'adminToken' | 'gatewayKey' | 'dpop';

/** What one operation takes and answers; `errors` are the codes it may answer beyond every route's own. */
interface Operation {
  method: Method;
  path: string;
  summary: string;
  security?: Security;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** The body's media type when it is not JSON (a browser's form). */
  bodyType?: string;
  /** The body may be left out (approve, revoke). */
  bodyOptional?: boolean;
  status?: 200 | 201 | 204 | 303;
  /** Absent for 204 No Content. */
  response?: z.ZodType;
  responseType?: string;
  errors?: ErrorCode[];
  /** Statuses answered with an HTML page for a person (sign-in and the device page), not problem details. */
  pages?: number[];
}

const deviceId = z.object({ id: z.string().meta({ description: 'the device id (a UUID)' }) });
const exceptionId = z.object({ id: z.string().meta({ description: 'the exception id (a UUID)' }) });
const gatewayKeyId = z.object({ id: z.string().meta({ description: 'the gateway key id (a UUID)' }) });
const tokenId = z.object({ id: z.string().meta({ description: 'the enrollment token id (a UUID), never the token' }) });
const group = z.object({ group: groupName });
const envoyPath = z.object({ path: z.string().meta({ description: "the original request's path, without its leading slash (Envoy's path_prefix is /v1/authz)" }) });
const adminNameParam = z.object({ name: z.string().meta({ description: 'the admin account name' }) });
const BODY_ERRORS: ErrorCode[] = ['malformed', 'too_large', 'unsupported_media_type'];
const DEVICE_REQUEST_ERRORS: ErrorCode[] = [...BODY_ERRORS, 'bad_signature', 'unknown_key', 'stale_nonce', 'clock_skew'];
/** Forward-auth answers whatever method the gateway forwards (HEAD is implied by GET). */
const AUTHZ_METHODS: Method[] = ['get', 'post', 'put', 'patch', 'delete', 'options', 'trace'];

const operations: Operation[] = [
  { method: 'get', path: '/healthz', summary: 'Readiness: the database answers', response: healthResponse, errors: ['database_unavailable'] },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics', response: z.string(), responseType: 'text/plain' },
  { method: 'get', path: '/openapi.json', summary: 'This document', response: z.record(z.string(), z.unknown()) },
  { method: 'get', path: '/.well-known/jwks.json', summary: 'Keys that verify attestation results offline', response: jwksResponse },
  {
    method: 'post',
    path: '/v1/enroll',
    summary: 'Enroll a device with a self-signed request carrying an enrollment token',
    body: enrollRequest,
    status: 201,
    response: enrollResponse,
    errors: [...BODY_ERRORS, 'bad_signature', 'clock_skew', 'invalid_token', 'token_revoked', 'already_enrolled', 'rate_limited'],
  },
  { method: 'post', path: '/v1/device/key-rotation', summary: 'Start a key rotation: a request signed by the enrolled key and the new one', body: keyRotationRequest, response: keyRotationResponse, errors: [...DEVICE_REQUEST_ERRORS, 'revoked', 'already_enrolled'] },
  { method: 'post', path: '/v1/device/key-rotation/confirm', summary: 'Confirm a key rotation with the new key: the old one stops working', body: keyConfirmRequest, response: keyConfirmResponse, errors: [...DEVICE_REQUEST_ERRORS, 'revoked'] },
  { method: 'post', path: '/v1/device/unenroll', summary: 'The device revokes itself (postern-agent unenroll)', body: unenrollRequest, response: unenrollResponse, errors: DEVICE_REQUEST_ERRORS },
  { method: 'get', path: '/v1/nonce', summary: 'A single-use nonce for POST /v1/attestations', response: nonceResponse, errors: ['rate_limited'] },
  {
    method: 'post',
    path: '/v1/attestations',
    summary: 'The attestation exchange over plain HTTPS',
    body: attestationRequest,
    response: attestationResponse,
    errors: [...BODY_ERRORS, 'bad_signature', 'unknown_key', 'schema', 'stale_nonce', 'clock_skew', 'revoked', 'replayed_seq', 'rate_limited'],
  },
  { method: 'get', path: '/v1/devices/{id}/compliance', summary: "A device's current verdict, for a gateway", security: 'gatewayKey', params: deviceId, response: complianceResponse, errors: ['unauthorized', 'insufficient_scope', 'unknown_device'] },
  ...AUTHZ_METHODS.flatMap((method): Operation[] => {
    const authz = {
      method,
      security: 'dpop',
      response: authzAllowed,
      errors: ['unauthorized', 'invalid_token', 'invalid_dpop_proof', 'use_dpop_nonce', 'rate_limited', 'unavailable'],
    } satisfies Omit<Operation, 'path' | 'summary'>;
    return [
      { ...authz, path: '/v1/authz', summary: 'Forward-auth: may this device pass? 200 allows, 401 refuses the credentials, 403 denies a noncompliant device' },
      { ...authz, path: '/v1/authz/{path}', params: envoyPath, summary: 'Forward-auth as Envoy ext_authz asks it: the original path after /v1/authz (POSTERN_GATEWAY=envoy)' },
    ];
  }),
  { method: 'post', path: '/v1/admin/enrollment-tokens', summary: 'Create an enrollment token', security: 'adminToken', body: newTokenBody, status: 201, response: admin.enrollmentTokenCreated, errors: [...BODY_ERRORS, 'group_requirement'] },
  { method: 'get', path: '/v1/admin/enrollment-tokens', summary: 'Enrollment tokens, newest first, never their secret', security: 'adminToken', query: tokenListQuery, response: admin.tokenList, errors: ['malformed'] },
  { method: 'post', path: '/v1/admin/enrollment-tokens/{id}/revoke', summary: 'Revoke an enrollment token: it enrolls no more devices', security: 'adminToken', params: tokenId, response: admin.tokenView, errors: ['unknown_token'] },
  { method: 'post', path: '/v1/admin/devices/{id}/extend', summary: "Set when a device's access ends, within its group's maximum lifetime", security: 'adminToken', params: deviceId, body: extendBody, response: admin.deviceRegrouped, errors: [...BODY_ERRORS, 'unknown_device', 'enrollment_ended', 'group_requirement'] },
  { method: 'post', path: '/v1/admin/devices/{id}/owner', summary: "Set a device's owner (a person's email)", security: 'adminToken', params: deviceId, body: setOwnerBody, response: admin.deviceView, errors: [...BODY_ERRORS, 'unknown_device'] },
  { method: 'post', path: '/v1/admin/devices/{id}/change-ref', summary: "Set a device's change reference", security: 'adminToken', params: deviceId, body: setChangeRefBody, response: admin.deviceView, errors: [...BODY_ERRORS, 'unknown_device'] },
  { method: 'post', path: '/v1/admin/devices/{id}/relink', summary: 'Confirm a device from a reinstalled machine replaces the one that machine had', security: 'adminToken', params: deviceId, response: admin.deviceRelinked, errors: ['unknown_device', 'not_pending'] },
  { method: 'get', path: '/v1/admin/groups', summary: 'Groups with rules for tokens and end dates', security: 'adminToken', response: admin.groupRulesList },
  { method: 'post', path: '/v1/admin/groups/{group}/settings', summary: "Change some of a group's rules", security: 'adminToken', params: group, body: groupRulesBody, response: admin.groupRules, errors: BODY_ERRORS },
  { method: 'post', path: '/v1/admin/gateway-keys', summary: 'Create a gateway API key', security: 'adminToken', body: newGatewayKeyBody, status: 201, response: admin.gatewayKeyCreated, errors: BODY_ERRORS },
  { method: 'get', path: '/v1/admin/gateway-keys', summary: 'Gateway API keys, never their secret (all=1: revoked ones too; role viewer)', security: 'adminToken', query: gatewayKeyListQuery, response: admin.gatewayKeyList, errors: ['malformed'] },
  { method: 'post', path: '/v1/admin/gateway-keys/{id}/revoke', summary: 'Revoke a gateway API key; every replica refuses it once it reads the event (role admin)', security: 'adminToken', params: gatewayKeyId, response: admin.gatewayKeyView, errors: ['not_found'] },
  { method: 'get', path: '/v1/admin/devices', summary: 'Every device with its verdict', security: 'adminToken', response: admin.deviceList },
  { method: 'get', path: '/v1/admin/devices/{id}', summary: 'One device with its checks', security: 'adminToken', params: deviceId, response: admin.deviceDetail, errors: ['unknown_device'] },
  { method: 'post', path: '/v1/admin/devices/{id}/group', summary: 'Move a device to another group and judge it at once', security: 'adminToken', params: deviceId, body: setGroupBody, response: admin.deviceRegrouped, errors: [...BODY_ERRORS, 'unknown_device', 'unknown_group'] },
  { method: 'post', path: '/v1/admin/devices/{id}/revoke', summary: 'Revoke a device; its streams close on every replica (the body, with the reason for the audit log, is optional)', security: 'adminToken', params: deviceId, body: statusNoteBody, bodyOptional: true, response: admin.deviceView, errors: [...BODY_ERRORS, 'unknown_device'] },
  { method: 'post', path: '/v1/admin/devices/{id}/approve', summary: 'Approve a pending device (the body, with the reason for the audit log, is optional)', security: 'adminToken', params: deviceId, body: statusNoteBody, bodyOptional: true, response: admin.deviceView, errors: [...BODY_ERRORS, 'unknown_device', 'not_pending', 'relink_required'] },
  { method: 'post', path: '/v1/admin/devices/{id}/deny', summary: 'Deny a pending device; its streams close on every replica', security: 'adminToken', params: deviceId, body: denyBody, response: admin.deviceView, errors: [...BODY_ERRORS, 'unknown_device', 'not_pending'] },
  { method: 'post', path: '/v1/admin/policies/validate', summary: 'Validate a policy document; nothing is stored', security: 'adminToken', body: validatePolicyBody, response: admin.policyValidation, errors: BODY_ERRORS },
  { method: 'post', path: '/v1/admin/policies/diff', summary: 'Dry run: which devices a policy would change', security: 'adminToken', body: diffPolicyBody, response: admin.policyDiff, errors: [...BODY_ERRORS, 'invalid_policy', 'group_required'] },
  { method: 'post', path: '/v1/admin/policies', summary: 'Apply a policy as a new version', security: 'adminToken', body: applyPolicyBody, status: 201, response: admin.policyApplied, errors: [...BODY_ERRORS, 'invalid_policy', 'group_required'] },
  { method: 'post', path: '/v1/admin/policies/{group}/rollback', summary: "Apply an old version's document again", security: 'adminToken', params: group, body: rollbackPolicyBody, status: 201, response: admin.policyApplied, errors: [...BODY_ERRORS, 'invalid_policy', 'unknown_policy_version'] },
  { method: 'get', path: '/v1/admin/policies', summary: 'Policy versions, newest first', security: 'adminToken', query: policyListQuery, response: admin.policyVersions, errors: ['malformed'] },
  { method: 'get', path: '/v1/admin/policies/{group}', summary: 'One policy version (the active one without ?version)', security: 'adminToken', params: group, query: policyShowQuery, response: admin.policyVersion, errors: ['malformed', 'unknown_policy_version'] },
  { method: 'post', path: '/v1/admin/devices/{id}/exceptions', summary: 'Grant a break-glass exception', security: 'adminToken', params: deviceId, body: grantExceptionBody, status: 201, response: admin.exceptionView, errors: [...BODY_ERRORS, 'unknown_device', 'unknown_check'] },
  { method: 'get', path: '/v1/admin/exceptions', summary: 'Running exceptions (all=1: also ended ones)', security: 'adminToken', query: exceptionListQuery, response: admin.exceptionList, errors: ['malformed'] },
  { method: 'post', path: '/v1/admin/exceptions/{id}/revoke', summary: 'End an exception now', security: 'adminToken', params: exceptionId, response: admin.exceptionView, errors: ['unknown_exception'] },
  { method: 'get', path: '/v1/admin/audit', summary: 'Audit entries, oldest first, filtered', security: 'adminToken', query: auditListQuery, response: admin.auditList, errors: ['malformed'] },
  { method: 'get', path: '/v1/admin/events', summary: 'The event stream after a position, oldest first (docs/events.md)', security: 'adminToken', query: eventListQuery, response: eventList, errors: ['malformed'] },
  { method: 'get', path: '/install/linux.sh', summary: 'The Linux installer (sh), defaulting to this server', response: z.string(), responseType: 'text/plain' },
  { method: 'get', path: '/install/macos.sh', summary: 'The macOS installer (sh), defaulting to this server', response: z.string(), responseType: 'text/plain' },
  { method: 'get', path: '/install/windows.ps1', summary: 'The Windows installer (PowerShell), defaulting to this server', response: z.string(), responseType: 'text/plain' },
  { method: 'get', path: '/install/artefacts/{file}', summary: 'An agent package, or SHA256SUMS of them all (POSTERN_PACKAGES_DIR)', params: artefactParams, response: z.string(), responseType: 'application/octet-stream', errors: ['malformed', 'not_found'] },
  { method: 'get', path: '/v1/admin/audit/verify', summary: "Verify the audit log's hash chain", security: 'adminToken', response: admin.auditChainReport },
  { method: 'get', path: '/v1/admin/fleet/overview', summary: 'The fleet at a glance: devices by verdict, compliance over time, checks failing most, OS versions, silent devices, pending approvals, end dates near (role viewer)', security: 'adminToken', query: fleet.overviewQuery, response: fleet.fleetOverview, errors: ['malformed'] },
  { method: 'get', path: '/v1/admin/fleet/devices', summary: 'Search devices: filters, sort and keyset pagination (role viewer)', security: 'adminToken', query: fleet.deviceSearchQuery, response: fleet.deviceSearchResult, errors: ['malformed'] },
  { method: 'get', path: '/v1/admin/fleet/devices.csv', summary: 'The filtered devices as CSV, streamed (role viewer)', security: 'adminToken', query: fleet.deviceSearchFilters, response: z.string(), responseType: 'text/csv', errors: ['malformed'] },
  { method: 'get', path: '/v1/admin/fleet/devices/{id}', summary: 'One device: identity, checks with remediation, timeline, latest attestation (role viewer)', security: 'adminToken', params: deviceId, response: fleet.fleetDeviceDetail, errors: ['unknown_device'] },
  { method: 'get', path: '/v1/admin/fleet/events', summary: 'Live changes as server-sent events, id = seq, Last-Event-ID resumes (role viewer)', security: 'adminToken', query: fleet.feedQuery, response: z.string(), responseType: 'text/event-stream', errors: ['malformed'] },
  { method: 'get', path: ADMIN_SSF_STREAMS_PATH, summary: "Every receiver's SSF streams with delivery health: SETs waiting, failing since, last error; the push endpoint's host only (role viewer)", security: 'adminToken', response: adminSsfStreamList },
  { method: 'get', path: INSTALL_LINES_PATH, summary: 'The one-line install per platform that `token create --install` prints, for this server\'s public URL (role viewer)', security: 'adminToken', response: installLinesAnswer, errors: ['conflict'] },
  {
    method: 'post',
    path: '/v1/my-device/links',
    summary: 'A 15-minute link to this device\'s page, for a DPoP proof signed by the device key whose ath is the hash of a fresh nonce (`postern-agent status`)',
    body: pageLinkBody,
    status: 201,
    response: pageLinkCreated,
    errors: [...BODY_ERRORS, 'stale_nonce', 'unknown_device', 'revoked', 'invalid_dpop_proof'],
  },
  { method: 'get', path: '/my-device', summary: "One device's verdict, failing checks and what to do: a page for the person at the device (without ?t: how to get a link)", query: myDeviceQuery, response: z.string(), responseType: 'text/html', pages: [401] },
  // Admin accounts and signing in (README "Signing in").
  { method: 'get', path: '/v1/admin/admins', summary: 'Admin accounts (role admin)', security: 'adminToken', response: adminList },
  { method: 'post', path: '/v1/admin/admins', summary: 'Create an admin account (role admin)', security: 'adminToken', body: newAdminBody, status: 201, response: adminAccount, errors: [...BODY_ERRORS, 'conflict'] },
  { method: 'post', path: '/v1/admin/admins/{name}/role', summary: "Change an admin's role (role admin)", security: 'adminToken', params: adminNameParam, body: setRoleBody, response: adminAccount, errors: [...BODY_ERRORS, 'unknown_admin', 'conflict'] },
  { method: 'post', path: '/v1/admin/admins/{name}/disable', summary: 'Disable an admin: its sessions end, its tokens stop working (role admin)', security: 'adminToken', params: adminNameParam, response: adminAccount, errors: ['unknown_admin', 'conflict'] },
  { method: 'post', path: '/v1/admin/admins/{name}/enable', summary: 'Enable a disabled admin (role admin)', security: 'adminToken', params: adminNameParam, response: adminAccount, errors: ['unknown_admin'] },
  { method: 'post', path: '/v1/admin/admins/{name}/tokens', summary: 'Create an API token acting as this admin, shown once (role admin)', security: 'adminToken', params: adminNameParam, body: newAdminTokenBody, status: 201, response: adminTokenCreated, errors: [...BODY_ERRORS, 'unknown_admin'] },
  { method: 'post', path: '/v1/admin/sign-in-links', summary: 'A one-time sign-in link, 10 minutes (for another admin: role admin)', security: 'adminToken', body: signInLinkBody, status: 201, response: signInLinkCreated, errors: [...BODY_ERRORS, 'unknown_admin', 'conflict'] },
  { method: 'get', path: '/v1/admin/session', summary: 'Who is signed in, and the CSRF token of their changes', security: 'adminToken', response: sessionView },
  { method: 'get', path: '/auth/link', summary: 'A sign-in link: a page whose form (sent by /auth/link.js, or by its button) signs in; GET and HEAD never spend the link', query: linkQuery, response: z.string(), responseType: 'text/html', pages: [401, 403] },
  { method: 'post', path: '/auth/link', summary: "Spend a sign-in link (the page's form): sets the session cookie and redirects (303) to its path; a browser's Origin must be this server's", body: linkForm, bodyType: 'application/x-www-form-urlencoded', status: 303, response: z.string(), responseType: 'text/html', pages: [400, 401, 403] },
  { method: 'get', path: '/auth/link.js', summary: "The sign-in page's script: submits its form once the page is shown", response: z.string(), responseType: 'text/javascript' },
  { method: 'get', path: '/auth/oidc/start', summary: 'Start an OpenID Connect sign-in: redirects (303) to the provider', query: oidcStartQuery, status: 303, response: z.string(), responseType: 'text/html', pages: [400, 404, 502] },
  { method: 'get', path: '/auth/oidc/callback', summary: "The provider's answer: sets the session cookie and redirects (303), or a page saying why not", status: 303, response: z.string(), responseType: 'text/html', pages: [400, 403, 404, 502] },
  { method: 'post', path: '/auth/sign-out', summary: 'End the browser session (with x-csrf-token) and clear its cookie', response: signedOut, errors: ['csrf_failed'] },
  ...ssfOperations(),
];

/** The Shared Signals transmitter (docs/ssf.md): SSF 1.0 discovery and stream management, RFC 8936 polling. */
function ssfOperations(): Operation[] {
  const receiver = { security: 'gatewayKey' as const };
  const denied: ErrorCode[] = ['unauthorized', 'insufficient_scope'];
  const named: ErrorCode[] = [...denied, 'malformed', 'not_found'];
  const withBody: ErrorCode[] = [...named, ...BODY_ERRORS];
  const P = '/ssf/streams';
  return [
    { method: 'get', path: '/.well-known/ssf-configuration', summary: 'SSF 1.0 transmitter configuration metadata', response: ssf.ssfConfiguration },
    { method: 'get', path: '/ssf/jwks.json', summary: 'The RS256 keys Security Event Tokens are signed with', response: ssf.ssfJwks },
    { method: 'post', path: P, summary: 'Create a stream (SSF 1.0 §8.1.1.1)', ...receiver, body: ssf.streamCreate, status: 201, response: ssf.streamConfig, errors: [...denied, ...BODY_ERRORS] },
    { method: 'get', path: P, summary: "One of this receiver's streams (stream_id), or all of them", ...receiver, query: ssf.streamQuery, response: z.union([ssf.streamConfig, z.array(ssf.streamConfig)]), errors: named },
    { method: 'patch', path: P, summary: "Change a stream's configuration (SSF 1.0 §8.1.1.3)", ...receiver, body: ssf.streamUpdate, response: ssf.streamConfig, errors: withBody },
    { method: 'put', path: P, summary: "Replace a stream's configuration (SSF 1.0 §8.1.1.4)", ...receiver, body: ssf.streamUpdate, response: ssf.streamConfig, errors: withBody },
    { method: 'delete', path: P, summary: 'Delete a stream and what waits in it', ...receiver, query: ssf.streamIdQuery, status: 204, errors: named },
    { method: 'get', path: '/ssf/status', summary: "A stream's status and delivery health (SSF 1.0 §8.1.2.1)", ...receiver, query: ssf.streamIdQuery, response: ssf.streamStatus, errors: named },
    { method: 'post', path: '/ssf/status', summary: "Enable, pause or disable a stream (SSF 1.0 §8.1.2.2)", ...receiver, body: ssf.statusUpdate, response: ssf.streamStatus, errors: withBody },
    { method: 'post', path: '/ssf/subjects/add', summary: 'Add a subject: from then on the stream is about added subjects only (SSF 1.0 §8.1.3.2)', ...receiver, body: ssf.subjectChange, response: ssf.subjectAdded, errors: withBody },
    { method: 'post', path: '/ssf/subjects/remove', summary: 'Remove a subject: never delivered about again (SSF 1.0 §8.1.3.3)', ...receiver, body: ssf.subjectChange, status: 204, errors: withBody },
    { method: 'post', path: '/ssf/verify', summary: 'Ask for a verification event (SSF 1.0 §8.1.4.2)', ...receiver, body: ssf.verificationRequest, status: 204, errors: [...withBody, 'conflict', 'rate_limited'] },
    { method: 'post', path: '/ssf/poll/{id}', summary: "Poll a stream's SETs, acknowledging earlier ones (RFC 8936)", ...receiver, params: z.object({ id: z.string().meta({ description: 'the stream id' }) }), body: ssf.pollRequest, response: ssf.pollResponse, errors: [...withBody, 'conflict'] },
  ];
}

/**
 * The HTTP API in OpenAPI 3.1, generated from the zod schemas the routes validate with and answer in.
 * A test walks the router and fails for a route this list lacks, and checks real answers against it.
 */
export function openApiDocument(serverUrl?: string): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'adminToken', { type: 'http', scheme: 'bearer', description: 'An admin token `pat_<id>_<secret>`, acting as one admin account: the first is in `<data dir>/admin-token`, more come from `postern-server admin token create`' });
  registry.registerComponent('securitySchemes', 'adminSession', {
    type: 'apiKey',
    in: 'cookie',
    name: SESSION_COOKIE,
    description: 'A browser session (GET /auth/link, GET /auth/oidc/callback); every change must also carry `x-csrf-token` from GET /v1/admin/session',
  });
  registry.registerComponent('securitySchemes', 'gatewayKey', { type: 'http', scheme: 'bearer', description: 'A gateway API key `pgk_<id>_<secret>` (`postern-server gateway-key create`); the compliance API needs scope `authz`, `/ssf/*` scope `ssf`' });
  registry.registerComponent('securitySchemes', 'dpop', {
    type: 'http',
    scheme: 'DPoP',
    description: 'The device attestation result as `Authorization: DPoP <token>`, with a `DPoP` proof header signed by the device key (RFC 9449)',
  });
  for (const op of operations) registry.registerPath(route(op));
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'Postern', version: '1', description: 'Device-posture attestation. The agent stream (WebSocket `GET /v1/agent`, subprotocol `postern.v1`) is described in docs/protocol.md.' },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
  });
}

// Named once (a zod `id` is global): the generator puts them in components and refers to them.
const problem = problemDetails.meta({ id: 'Problem', description: 'RFC 9457 problem details; clients decide by `code`' });
const denied = authzDenied.meta({ id: 'NotCompliant' });

function route(op: Operation): RouteConfig {
  const codes = new Set<ErrorCode>([...(op.errors ?? []), ...(op.security === 'adminToken' ? (['unauthorized', 'insufficient_role', 'csrf_failed'] as const) : []), 'database_unavailable', 'internal']);
  const responses: Record<string, ResponseConfig> = {
    [op.status ?? 200]: op.response ? { description: op.summary, content: { [op.responseType ?? 'application/json']: { schema: op.response } } } : { description: op.summary },
    ...errorResponses([...codes]),
    ...Object.fromEntries((op.pages ?? []).map((status) => [String(status), { description: 'a page saying what went wrong and what to do', content: { 'text/html': { schema: z.string() } } }])),
  };
  if (op.security === 'dpop') responses[403] = { description: 'not_compliant: the device may not pass; the failing checks and their remediation', content: { [PROBLEM_CONTENT_TYPE]: { schema: denied } } };
  return {
    method: op.method,
    path: op.path,
    summary: op.summary,
    // An admin call is made with an admin token, or from a signed-in browser.
    ...(op.security ? { security: op.security === 'adminToken' ? [{ adminToken: [] }, { adminSession: [] }] : [{ [op.security]: [] }] } : {}),
    request: {
      ...(op.params ? { params: op.params } : {}),
      ...(op.query ? { query: op.query } : {}),
      ...(op.body ? { body: { required: !op.bodyOptional, content: { [op.bodyType ?? 'application/json']: { schema: op.body } } } } : {}),
    },
    responses,
  };
}

const ERROR_HEADERS: Record<number, ResponseConfig['headers']> = {
  401: { 'WWW-Authenticate': { schema: { type: 'string' }, description: 'the challenge to answer' } },
  429: { 'Retry-After': { schema: { type: 'string' }, required: true, description: 'seconds to wait before trying again' } },
};

/** One response per status, naming its codes; 401 carries its challenge and 429 when to retry. */
function errorResponses(codes: ErrorCode[]): Record<string, ResponseConfig> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  return Object.fromEntries(
    [...byStatus].map(([status, names]): [string, ResponseConfig] => {
      const headers = ERROR_HEADERS[status];
      return [String(status), { description: names.join(', '), ...(headers ? { headers } : {}), content: { [PROBLEM_CONTENT_TYPE]: { schema: problem } } }];
    }),
  );
}
