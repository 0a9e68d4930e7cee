export { patternBackward, patternRules, patternUnsupported } from './backward.js';
