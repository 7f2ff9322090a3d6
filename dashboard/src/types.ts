// The answers of the fleet API (backend/src/fleet/schemas.ts) as the dashboard reads them.

export interface FleetDevice {
  device_id: string;
  hostname: string;
  owner: string | null;
  platform: string;
  os_version: string | null;
  group: string;
  status: 'active' | 'pending_approval' | 'revoked';
  verdict: string;
  score: number;
  failing: string[];
  last_seen_at: number | null;
  verdict_since: number;
  enrolled_at: number;
  expires_at: number | null;
}

export interface DevicePage {
  devices: FleetDevice[];
  total: number | null;
  next: string | null;
}

export interface Overview {
  at: number;
  seq: number;
  devices: number;
  by_verdict: Record<string, number>;
  by_status: Record<string, number>;
  series: { bucket_s: number; points: Array<{ at: number; by_verdict: Record<string, number> }> };
  failing_checks: Array<{ check: string; devices: number }>;
  os_versions: Array<{ platform: string; version: string | null; devices: number }>;
  not_reporting: { after_s: number; devices: number };
  pending_approvals: number;
  ending_soon: {
    within_s: number;
    devices: Array<{ device_id: string; hostname: string; expires_at: number }>;
    exceptions: Array<{ exception_id: string; device_id: string; hostname: string; check: string; until: number }>;
  };
}

export interface CheckResult {
  id: string;
  status: 'pass' | 'fail' | 'unknown';
  severity: string;
  weight: number;
  message: string;
  remediation: string | null;
  failing_since: number | null;
  exception?: { id: string; until: number; reason: string; granted_by: string } | null;
}

export interface DeviceDetail {
  device: FleetDevice & { kid: string; serial: string | null; agent_version: string; machine_id: string; ueid: string; approved_at: number | null; revoked_at: number | null };
  checks: CheckResult[];
  policy: string;
  evaluated_at: number;
  next_change_at: number | null;
  exceptions: Array<{ exception_id: string; check: string; until: number; reason: string; granted_by: string }>;
  latest_attestation: { seq: number; attested_at: number; received_at: number; posture: unknown } | null;
  timeline: Array<
    | { kind: 'report'; at: number; seq: number; verdict: string; score: number }
    | { kind: 'event'; at: number; event: { seq: number; at: number; type: string; actor: string; device_id: string | null; data: Record<string, unknown> } }
  >;
}

export interface Session {
  name: string;
  email: string | null;
  role: 'viewer' | 'operator' | 'admin';
  csrf: string | null;
}
