#!/usr/bin/env node
// Test fixture: a command for `warden npx`.
console.log("hello from " + process.argv.slice(2).join(" "));
