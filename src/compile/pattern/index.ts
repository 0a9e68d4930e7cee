export { patternBackward, patternCounts, patternRules, patternUnsupported, type ActivationMasks, type PatternPass } from './backward.js';
