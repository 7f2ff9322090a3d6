export { startServer, type RunningServer } from './server.js';
export { resolveServerConfig, type ServerConfig } from './config.js';
export { openStore, type Store } from './store/open.js';
export { defaultPolicy } from './policy/default-policy.js';
export { evaluatePosture, verdictAt, scoreOf } from './policy/evaluate.js';
export { parsePolicySource, compilePolicy, formatProblem, type PolicyDocument, type PolicyProblem } from './policy/document.js';
export { catalog } from './policy/catalog.js';
export { verifyAuditChain } from './audit/verify.js';
export type * from './dashboard/api-types.js';
