/*
 * The runtime reaches the schemas it checks with through `lazy(…)` getters and
 * `lazy(() => import('…'))`, so importing a flow bundle builds no schema: each is built when a run
 * first checks something with it.
 */
export { lazy } from '../contracts/lazy.js';
