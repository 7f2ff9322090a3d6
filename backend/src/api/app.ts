import { Router } from '@koa/router';
import Koa from 'koa';
import { accountRoutes } from '../admin/account-routes.js';
import { auditRoutes } from '../admin/audit-routes.js';
import { eventRoutes } from '../admin/event-routes.js';
import { exceptionRoutes } from '../admin/exception-routes.js';
import { lifecycleRoutes } from '../admin/lifecycle-routes.js';
import { policyRoutes } from '../admin/policy-routes.js';
import { adminRoutes } from '../admin/routes.js';
import { signInRoutes } from '../admin/sign-in-routes.js';
import { attestationRoutes } from '../attestation/routes.js';
import { oidcRoutes } from '../auth/oidc-routes.js';
import type { OidcSettings } from '../config.js';
import type { Backend } from '../context.js';
import { authzRoutes } from '../decisions/authz-route.js';
import { complianceRoutes } from '../decisions/compliance-route.js';
import { dashboardFiles, type DashboardFiles } from '../dashboard/static-files.js';
import { enrollmentRoutes } from '../enrollment/routes.js';
import { fleetRoutes } from '../fleet/routes.js';
import { jwksRoutes } from '../keys/jwks-route.js';
import { requestDuration } from '../metrics/request-duration.js';
import { myDeviceRoutes } from '../my-device/routes.js';
import { deviceRequestRoutes } from '../rotation/routes.js';
import { errorHandler } from '../http/error-handler.js';
import { accessLog } from '../http/access-log.js';
import { healthRoutes } from '../http/health-routes.js';
import { installRoutes } from '../install/routes.js';
import { installLinesRoute } from '../install/lines-route.js';
import { DEFAULT_PACKAGES_DIR } from '../install/paths.js';
import { ssfSettingsFromEnv } from '../ssf/settings.js';
import { ssfRoutes } from '../ssf/routes.js';
import { ssfAdminRoutes } from '../ssf/admin-routes.js';
import { SsfTransmitter } from '../ssf/transmitter.js';
import { openApiRoutes } from './openapi-route.js';

/** The whole HTTP surface, in order. Read this first. */
export function createApp(backend: Backend, options: { trustProxy: boolean; hsts?: boolean; oidc?: OidcSettings | undefined; ssf?: SsfTransmitter; packagesDir?: string | undefined; dashboard?: DashboardFiles | null }): Koa {
  const app = new Koa({ proxy: options.trustProxy });
  const router = new Router();
  // The gateways' routes, asked on every request a gateway lets through: matched first, against two
  // layers, instead of after the dashboard's files and against every other route's pattern.
  const gatewayRouter = new Router();

  healthRoutes(router, backend); //      /healthz, /metrics
  openApiRoutes(router); //              /openapi.json (every route below, described)
  jwksRoutes(router, backend); //        /.well-known/jwks.json
  enrollmentRoutes(router, backend); //  POST /v1/enroll
  attestationRoutes(router, backend); // GET /v1/nonce, POST /v1/attestations (WebSocket: stream/agent-stream.ts)
  deviceRequestRoutes(router, backend); // POST /v1/device/key-rotation(/confirm), /v1/device/unenroll
  complianceRoutes(gatewayRouter, backend); // GET /v1/devices/:id/compliance
  authzRoutes(gatewayRouter, backend); //       GET /v1/authz (forward-auth)
  myDeviceRoutes(router, backend); //    POST /v1/my-device/links (device-signed), GET /my-device (the page)
  adminRoutes(router, backend); //       /v1/admin/enrollment-tokens, gateway-keys, devices
  lifecycleRoutes(router, backend); //   token list/revoke, device extend/owner/change-ref/relink, /v1/admin/groups
  policyRoutes(router, backend); //      /v1/admin/policies
  exceptionRoutes(router, backend); //   /v1/admin/devices/:id/exceptions, /v1/admin/exceptions
  auditRoutes(router, backend); //       /v1/admin/audit
  eventRoutes(router, backend); //       /v1/admin/events
  accountRoutes(router, backend); //     /v1/admin/admins (accounts, their tokens)
  oidcRoutes(router, backend, options.oidc); // /auth/oidc/start, /auth/oidc/callback
  signInRoutes(router, backend); //      /auth/link, /auth/sign-out, /v1/admin/session, /v1/admin/sign-in-links
  ssfRoutes(router, options.ssf ?? new SsfTransmitter(backend, ssfSettingsFromEnv({}))); // /.well-known/ssf-configuration, /ssf/* (Shared Signals)
  installRoutes(router, backend, options.packagesDir ?? DEFAULT_PACKAGES_DIR); // /install/*.sh|ps1, /install/artefacts/:file
  fleetRoutes(router, backend); //       /v1/admin/fleet/... (the dashboard's reads and live feed)
  ssfAdminRoutes(router, backend); //    GET /v1/admin/ssf/streams (every receiver's streams, delivery health)
  installLinesRoute(router, backend); // GET /v1/admin/install-lines (what `token create --install` prints)

  app.use(requestDuration(backend.metrics)); // outermost: sees the status actually sent
  // The level is set at start and never changes: below debug, no request pays for the access log.
  if (backend.log.isLevelEnabled('debug')) app.use(accessLog(backend.log)); // method, route, status, ms
  app.use(errorHandler(backend.log));
  app.use((ctx, next) => {
    ctx.set('x-content-type-options', 'nosniff');
    // Served over TLS: browsers keep to HTTPS for this host for a year.
    if (options.hsts) ctx.set('strict-transport-security', 'max-age=31536000');
    return next();
  });
  app.use(gatewayRouter.routes()); //         a path it does not hold goes on; its layers stay in ctx.matched
  app.use(dashboardFiles(options.dashboard ?? null, backend.log)); // GET / and the client routes: the built dashboard
  app.use(router.routes());
  app.use(router.allowedMethods()); //        405/501 from the layers of both routers the path matched
  return app;
}
