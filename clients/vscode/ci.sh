#!/usr/bin/env bash
# Build, lint, unit-test and package the VS Code extension (called from .ci/run).
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
npm run compile
npm run lint
npm test
npx vsce package --allow-missing-repository
