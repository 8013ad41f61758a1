module.exports = { internal: true };
