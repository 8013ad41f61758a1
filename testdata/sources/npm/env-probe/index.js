module.exports = "env-probe";
