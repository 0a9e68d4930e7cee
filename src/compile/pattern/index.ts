export { patternBackward, patternCounts, patternRules, patternUnsupported, type ActivationMasks } from './backward.js';
