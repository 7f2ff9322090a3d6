/** The SET event types this transmitter sends (SSF 1.0 §8, CAEP 1.0 §3). */
export const EVENT = {
  deviceComplianceChange: 'https://schemas.openid.net/secevent/caep/event-type/device-compliance-change',
  sessionRevoked: 'https://schemas.openid.net/secevent/caep/event-type/session-revoked',
  verification: 'https://schemas.openid.net/secevent/ssf/event-type/verification',
} as const;

/** What a receiver may request; verification events are sent on request whatever it asked for. */
export const EVENTS_SUPPORTED: readonly string[] = [EVENT.deviceComplianceChange, EVENT.sessionRevoked, EVENT.verification];

export const DELIVERY = {
  push: 'urn:ietf:rfc:8935',
  poll: 'urn:ietf:rfc:8936',
} as const;
export type DeliveryMethod = (typeof DELIVERY)[keyof typeof DELIVERY];
