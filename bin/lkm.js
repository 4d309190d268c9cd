#!/usr/bin/env node
require('../out/client/lkm.js');
