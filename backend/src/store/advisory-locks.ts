/**
 * Keys of the advisory locks replicas take on one PostgreSQL (any constants unique to their
 * purpose), in one place so no two purposes share a key by accident.
 */

/** Replicas starting together agree on one first signing key. */
export const FIRST_KEY_LOCK = 7_301_001;

/** Serializes appends to the audit chain and to the event stream: one lock for both, so a transaction writing both takes it once and their orders agree. */
export const JOURNAL_LOCK = 7_301_002;

/** Numbers a group's policy versions (the second key is the group's hash). */
export const POLICY_VERSION_LOCK = 7_301_003;

/** Replicas starting together agree on one first Shared Signals (SET) signing key. */
export const FIRST_SSF_KEY_LOCK = 7_301_004;
