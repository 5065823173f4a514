#!/usr/bin/env node
// The command of the pods the Kubernetes executor starts (see src/pod-runner/main.ts).
import '../dist/pod-runner/main.js';
