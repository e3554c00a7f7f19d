#!/usr/bin/env node
// Committed executable entry: npm links bins at install time, before the build creates dist/.
import '../dist/cli.js';
