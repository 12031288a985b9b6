export { refresherMain } from './main.js';
export { Keeper, refreshDue } from './keeper.js';
export { Refresher } from './refresher.js';
export { Metrics } from './metrics.js';
