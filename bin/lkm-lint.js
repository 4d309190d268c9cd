#!/usr/bin/env node
require('../out/server/lkm-lint.js').main(process.argv);
