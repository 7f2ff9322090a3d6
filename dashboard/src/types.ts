// The answers of the admin API, typed by the backend's own schemas (backend/src/dashboard/api-types.ts).
export type {
  AuditView,
  ChainReport,
  CheckResult,
  DevicePage,
  DiffReport,
  EnrollmentTokenCreated,
  FleetDevice,
  FleetDeviceDetail as DeviceDetail,
  FleetOverview as Overview,
  GatewayKeyCreated,
  PolicyVersionSource,
  SessionView as Session,
  StreamEvent,
  VersionSummary,
} from '@postern/backend';
