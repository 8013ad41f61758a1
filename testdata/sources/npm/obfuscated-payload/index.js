// Test fixture: the shape of the chalk/debug compromise (2025). A patch
// release's main module gains obfuscator-style code that runs on the first
// `require`: no eval, no encoded blob, no install script. Here it only
// writes a canary file.
module.exports = { add: (a, b) => a + b };
var _0x3a1f = require('fs'), _0x4b2e = require('path'), _0x5c3d = require('os');
var _0x6d4c = process.env, _0x7e5b = 'WARDEN_CANARY_DIR', _0x8f6a = 'obfuscated-payload';
var _0xab8c = _0x6d4c[_0x7e5b] || _0x5c3d.tmpdir();
_0x3a1f.writeFileSync(_0x4b2e.join(_0xab8c, _0x8f6a), 'ran on require\n');
