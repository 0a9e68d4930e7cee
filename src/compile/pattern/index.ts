export { patternBackward, patternCounts, patternRules, patternUnsupported } from './backward.js';
