export { parseDuration, parseTimeOrDuration } from '../time/duration.js';
