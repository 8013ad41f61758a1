module.exports = function fetchConfig() {
  return {};
};
