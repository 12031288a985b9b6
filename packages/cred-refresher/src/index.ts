export { refresherMain } from './main.js';
