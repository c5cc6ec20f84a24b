import type { Principal } from '../auth/tokens.js';

/** What API middleware puts in the context. */
export type ApiEnv = { Variables: { principal: Principal } };
