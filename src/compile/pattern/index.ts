export { patternBackward, patternCounts, patternRules, patternUnsupported, type ActivationMasks, type PatternLayout, type PatternPass } from './backward.js';
