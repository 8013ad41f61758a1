// Test fixture shaped like the prebuilt-binary installers of popular
// packages: download a platform binary, check it runs. Legitimate behaviour
// that must come out as `warn`, never `deny`.
const https = require("https");
const { execFileSync } = require("child_process");
function fetchBinary(url, done) {
  https.get(url, (res) => done(res));
}
function check(bin) {
  return execFileSync(bin, ["--version"]).toString();
}
module.exports = { fetchBinary, check };
