// Copies the non-TypeScript files the built package reads at run time (the vendored ONNX
// schema) next to the compiled JavaScript, so dist/ works on its own.
import { cpSync } from 'node:fs';

cpSync('src/onnx/proto', 'dist/src/onnx/proto', { recursive: true });
