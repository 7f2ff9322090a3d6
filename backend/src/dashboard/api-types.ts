import type { z } from 'zod';
import type { enrollmentTokenCreated, gatewayKeyCreated, gatewayKeyView, policyVersion } from '../admin/response-schemas.js';
import type { sessionView } from '../admin/sign-in-routes.js';
import type { deviceSearchResult } from '../fleet/schemas.js';
import type { installLinesAnswer } from '../install/lines-route.js';

/** The answers the dashboard reads, as the backend's own schemas and domain types define them (type-only). */
export type { CheckResult } from '@postern/shared';
export type { AuditView } from '../audit/list.js';
export type { ChainReport } from '../audit/verify.js';
export type { StreamEvent } from '../events/types.js';
export type { FleetDevice, FleetDeviceDetail, FleetOverview } from '../fleet/schemas.js';
export type { DiffReport } from '../policy-lifecycle/dry-run.js';
export type { VersionSummary } from '../policy-lifecycle/versions.js';
export type { TokenView } from '../enrollment/tokens.js';
export type { AdminSsfStream } from '../ssf/admin-routes.js';
export type DevicePage = z.infer<typeof deviceSearchResult>;
export type PolicyVersionSource = z.infer<typeof policyVersion>;
export type SessionView = z.infer<typeof sessionView>;
export type EnrollmentTokenCreated = z.infer<typeof enrollmentTokenCreated>;
export type GatewayKeyCreated = z.infer<typeof gatewayKeyCreated>;
export type GatewayKeyView = z.infer<typeof gatewayKeyView>;
export type InstallLinesAnswer = z.infer<typeof installLinesAnswer>;
